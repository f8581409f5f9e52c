"""The browser client the hub serves: one page and its AudioWorklet.

The page pairs once with the code `twin devices pair NAME` shows (the token it gets back is kept in
the browser's localStorage; the hub keeps only its hash), then streams the microphone as 16 kHz
16-bit PCM over a WebSocket (an AudioWorklet in a 16 kHz AudioContext), shows the transcript and the
reply, plays the reply audio as it arrives, stops playback when the user is heard again (barge-in),
and tells the hub how much it played. `?name=NAME&code=CODE` in the address pairs without typing.
"""

from __future__ import annotations

WORKLET_JS = """
class Pcm16 extends AudioWorkletProcessor {
  constructor() { super(); this.buf = new Int16Array(1600); this.n = 0; }
  process(inputs) {
    const x = inputs[0] && inputs[0][0];
    if (x) {
      for (let i = 0; i < x.length; i++) {
        const v = Math.max(-1, Math.min(1, x[i]));
        this.buf[this.n++] = v < 0 ? v * 32768 : v * 32767;
        if (this.n === this.buf.length) { this.port.postMessage(this.buf.buffer.slice(0)); this.n = 0; }
      }
    }
    return true;
  }
}
registerProcessor('pcm16', Pcm16);
"""

PAGE_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Twin</title>
<style>
 body { font: 16px system-ui, sans-serif; max-width: 40em; margin: 1em auto; padding: 0 1em; }
 #log p { margin: .3em 0; } .you { color: #035; } .twin { color: #350; } #status { color: #666; }
</style></head>
<body>
<h1>Twin</h1>
<form id="pairing" hidden>
  <p>Pair this browser: run <code>twin devices pair NAME</code> on the hub and enter the code.</p>
  <input id="name" placeholder="device name" autocomplete="off">
  <input id="code" placeholder="6-digit code" inputmode="numeric" autocomplete="off">
  <button>Pair</button>
</form>
<button id="talk" hidden>Start listening</button>
<p id="status">…</p>
<div id="log"></div>
<script>
const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const state = { ready: false, transcripts: [], replies: [], played: 0, errors: [] };
window.twinState = state;
function status(t) { $('status').textContent = t; }
function line(cls, t) {
  const p = document.createElement('p'); p.className = cls; p.textContent = t; $('log').appendChild(p);
}

async function pair(name, code) {
  const r = await fetch('/pair', { method: 'POST', headers: { 'content-type': 'application/json' },
                                   body: JSON.stringify({ name, code }) });
  const j = await r.json();
  if (!r.ok) throw new Error(j.message || 'pairing refused');
  localStorage.setItem('twin-token', j.token);
  return j.token;
}

async function start(token) {
  const ctx = new AudioContext({ sampleRate: 16000 });
  await ctx.audioWorklet.addModule('/worklet.js');
  const stream = await navigator.mediaDevices.getUserMedia(
    { audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false, autoGainControl: false } });
  const node = new AudioWorkletNode(ctx, 'pcm16');
  ctx.createMediaStreamSource(stream).connect(node);
  await ctx.resume();
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', token, rate: 16000 }));
  const pending = [];  // heard before the hub said ready: sent then, not lost (at most ~10 s)
  node.port.onmessage = (e) => {
    if (state.ready && ws.readyState === 1) ws.send(e.data);
    else if (pending.length < 100) pending.push(e.data);
  };
  let rate = 22050, at = 0, played = 0, sources = [];
  const stop = () => { for (const s of sources) { try { s.stop(); } catch (e) {} } sources = []; at = 0; };
  ws.onmessage = (e) => {
    if (typeof e.data !== 'string') {
      const pcm = new Int16Array(e.data);
      const buf = ctx.createBuffer(1, pcm.length, rate);
      const ch = buf.getChannelData(0);
      for (let i = 0; i < pcm.length; i++) ch[i] = pcm[i] / 32768;
      const src = ctx.createBufferSource();
      src.buffer = buf; src.connect(ctx.destination);
      at = Math.max(at, ctx.currentTime); src.start(at); at += buf.duration;
      sources.push(src); played += pcm.length;
      return;
    }
    const m = JSON.parse(e.data);
    if (m.type === 'ready') {
      state.ready = true; status('listening as ' + m.device + ' (' + m.profile + ')');
      while (pending.length) ws.send(pending.shift());
    }
    else if (m.type === 'transcript') { stop(); state.transcripts.push(m.text); line('you', m.text); }
    else if (m.type === 'reply') { state.replies.push(m.text); line('twin', m.text); }
    else if (m.type === 'audio-start') { rate = m.rate; played = 0; }
    else if (m.type === 'audio-stop') {
      state.played += played; ws.send(JSON.stringify({ type: 'played', samples: played, rate }));
    }
    else if (m.type === 'error') { state.errors.push(m.code); status(m.message); }
  };
  ws.onclose = (e) => { state.ready = false; status('disconnected (' + e.code + ' ' + e.reason + ')');
                        if (e.code === 4401 || e.code === 4403) localStorage.removeItem('twin-token'); };
}

(async () => {
  try {
    let token = localStorage.getItem('twin-token');
    if (params.get('code')) token = await pair(params.get('name'), params.get('code'));
    if (!token) {
      $('pairing').hidden = false;
      $('pairing').onsubmit = async (e) => {
        e.preventDefault();
        try { await pair($('name').value, $('code').value); location.reload(); }
        catch (err) { status(err.message); }
      };
      status('not paired');
      return;
    }
    if (params.has('autostart')) { await start(token); return; }
    $('talk').hidden = false;
    $('talk').onclick = () => { $('talk').hidden = true; start(token).catch((e) => status(String(e))); };
    status('paired');
  } catch (err) { state.errors.push(String(err)); status(String(err)); }
})();
</script>
</body></html>
"""
