"""The browser client the hub serves: one page and its AudioWorklet.

The page pairs once with the code `twin devices pair NAME` shows (the token it gets back is kept in
the browser's localStorage; the hub keeps only its hash), then streams the microphone as 16 kHz
16-bit PCM over a WebSocket (an AudioWorklet in a 16 kHz AudioContext), shows the transcript and the
reply, plays the reply audio as it arrives, stops playback when the user is heard again (barge-in),
and tells the hub how much it played. Two ways to talk: hands-free (the microphone always open, the
hub's endpointer decides when a turn ends) or push-to-talk (hold the button or the space bar: audio
goes only while held, and the release sends `end`, so the turn ends then). `?name=NAME&code=CODE`
in the address pairs without typing; `autostart=1` starts hands-free at once, `ptt=1` with it starts
in push-to-talk.

"Your data" shows what this device's person may see (`/api/...`, the token as a bearer header):
memories, the audit log, enrolled voices and settings; "Download" saves them as one JSON file;
"Erase" first shows what the hub would delete and deletes only after "Yes, erase" is pressed.
"""

from __future__ import annotations

WORKLET_JS = """
class Pcm16 extends AudioWorkletProcessor {
  constructor() {
    super(); this.buf = new Int16Array(1600); this.n = 0;
    this.port.onmessage = (e) => {  // push-to-talk released: what is buffered, then a marker
      if (e.data !== 'flush') return;
      if (this.n) this.port.postMessage(this.buf.buffer.slice(0, 2 * this.n));
      this.n = 0; this.port.postMessage('flushed');
    };
  }
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
 #log p { margin: .3em 0; } #log .timings { color: #888; font-size: .8em; }
 .you { color: #035; } .twin { color: #350; } #status, .note { color: #666; }
 #ptt { font-size: 1.2em; padding: .8em 1.5em; touch-action: none; user-select: none; }
 #ptt.held { background: #c33; color: #fff; }
 #data li { margin: .3em 0; } #data pre { white-space: pre-wrap; font-size: .85em; }
 #confirm { border: 2px solid #c33; padding: .5em 1em; margin: .5em 0; }
</style></head>
<body>
<h1>Twin</h1>
<form id="pairing" hidden>
  <p>Pair this browser: run <code>twin devices pair NAME</code> on the hub and enter the code.</p>
  <input id="name" placeholder="device name" autocomplete="off">
  <input id="code" placeholder="6-digit code" inputmode="numeric" autocomplete="off">
  <button>Pair</button>
</form>
<div id="talking" hidden>
  <button id="talk">Start hands-free</button>
  <button id="ptt">Hold to talk</button>
</div>
<p id="status">…</p>
<div id="log"></div>
<section id="data" hidden>
  <h2>Your data</h2>
  <button id="show">Show</button> <button id="download">Download (JSON)</button>
  <button id="erase-all">Erase all my memories</button>
  <p id="data-status" class="note"></p>
  <div id="confirm" hidden>
    <p id="confirm-text"></p>
    <button id="confirm-yes">Yes, erase</button> <button id="confirm-no">Cancel</button>
  </div>
  <h3>What Twin remembers</h3><ul id="memories"></ul>
  <h3>Enrolled voices</h3><ul id="voices"></ul>
  <h3>Settings</h3><pre id="settings"></pre>
  <h3>Audit log</h3><pre id="audit"></pre>
</section>
<script>
const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const state = { ready: false, transcripts: [], replies: [], played: 0, errors: [],
                memories: null, exported: null, confirming: null, erased: [], ended: 0, mic: false,
                timings: [], received: 0, cut: [] };
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

// -- talking: hands-free, or push-to-talk ----------------------------------------------------------
async function start(token, ptt) {
  const ctx = new AudioContext({ sampleRate: 16000 });
  await ctx.audioWorklet.addModule('/worklet.js');
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', token, rate: 16000 }));
  const link = { ctx, ws, node: null, held: false, flushing: false, ptt, opening: null };
  const pending = [];  // heard before the hub said ready: sent then, not lost (at most ~10 s)
  const send = (data) => {
    if (state.ready && ws.readyState === 1) ws.send(data);
    else if (pending.length < 100) pending.push(data);
  };
  link.openMic = () => link.opening || (link.opening = (async () => {
    const stream = await navigator.mediaDevices.getUserMedia(
      { audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false,
                 autoGainControl: false } });
    const node = new AudioWorkletNode(ctx, 'pcm16');
    ctx.createMediaStreamSource(stream).connect(node);
    node.port.onmessage = (e) => {
      if (e.data === 'flushed') {
        link.flushing = false; send(JSON.stringify({ type: 'end' })); state.ended++; return;
      }
      if (!link.ptt || link.held || link.flushing) send(e.data);
    };
    link.node = node;
    await ctx.resume();
    state.mic = true;
  })());
  let rate = 22050, at = 0, played = 0, sources = [];
  link.stop = () => {  // barge-in: what is still to play is dropped (how much: state.cut)
    const ahead = Math.max(0, at - ctx.currentTime);
    if (ahead > 0) state.cut.push({ sources: sources.length, seconds: ahead });
    for (const s of sources) { try { s.stop(); } catch (e) {} }
    sources = []; at = 0;
  };
  ws.onmessage = (e) => {
    if (typeof e.data !== 'string') {
      const pcm = new Int16Array(e.data);
      const buf = ctx.createBuffer(1, pcm.length, rate);
      const ch = buf.getChannelData(0);
      for (let i = 0; i < pcm.length; i++) ch[i] = pcm[i] / 32768;
      const src = ctx.createBufferSource();
      src.buffer = buf; src.connect(ctx.destination);
      at = Math.max(at, ctx.currentTime); src.start(at); at += buf.duration;
      sources.push(src); played += pcm.length; state.received += pcm.length;
      return;
    }
    const m = JSON.parse(e.data);
    if (m.type === 'ready') {
      state.ready = true;
      status((ptt ? 'hold to talk, ' : 'listening, ') + 'as ' + m.device + ' (' + m.profile + ')');
      while (pending.length) ws.send(pending.shift());
    }
    else if (m.type === 'transcript') { link.stop(); state.transcripts.push(m.text); line('you', m.text); }
    else if (m.type === 'reply') { state.replies.push(m.text); line('twin', m.text); }
    else if (m.type === 'audio-start') { rate = m.rate; played = 0; }
    else if (m.type === 'audio-stop') {
      state.played += played; ws.send(JSON.stringify({ type: 'played', samples: played, rate }));
    }
    else if (m.type === 'timings') {
      state.timings.push(m.ms);
      line('timings', Object.entries(m.ms).map(([k, v]) => k.replace(/_/g, ' ') + ' ' + v + ' ms')
        .join(' · '));
    }
    else if (m.type === 'error') { state.errors.push(m.code); status(m.message); }
  };
  ws.onclose = (e) => { state.ready = false; status('disconnected (' + e.code + ' ' + e.reason + ')');
                        if (e.code === 4401 || e.code === 4403) localStorage.removeItem('twin-token'); };
  if (!ptt) await link.openMic();
  return link;
}

function pushToTalk(link) {
  const b = $('ptt');
  const press = async (e) => {
    if (e) e.preventDefault();
    if (link.held) return;
    link.stop();  // barge-in: Twin stops talking as soon as the button is down, here and at the hub
    if (link.ws.readyState === 1 && state.ready) link.ws.send(JSON.stringify({ type: 'start' }));
    link.held = true; b.classList.add('held'); b.textContent = 'Talking… release to send';
    try { await link.openMic(); await link.ctx.resume(); }
    catch (err) { state.errors.push(String(err)); status(String(err)); }
  };
  const release = (e) => {
    if (e) e.preventDefault();
    if (!link.held) return;
    link.held = false; b.classList.remove('held'); b.textContent = 'Hold to talk';
    if (link.node) { link.flushing = true; link.node.port.postMessage('flush'); }
    else if (link.ws.readyState === 1) { link.ws.send(JSON.stringify({ type: 'end' })); state.ended++; }
  };
  b.onpointerdown = press; b.onpointerup = release; b.onpointerleave = release; b.onpointercancel = release;
  addEventListener('keydown', (e) => { if (e.code === 'Space' && !e.repeat) press(e); });
  addEventListener('keyup', (e) => { if (e.code === 'Space') release(e); });
}

// -- the user's own data ---------------------------------------------------------------------------
function dataStatus(t) { $('data-status').textContent = t; }
async function api(path, body) {
  const opts = { headers: { authorization: 'Bearer ' + (localStorage.getItem('twin-token') || '') } };
  if (body !== undefined) {
    opts.method = 'POST'; opts.headers['content-type'] = 'application/json'; opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  const j = await r.json();
  if (!r.ok) {
    state.errors.push(j.code);
    dataStatus(j.message + (j.hint ? ' (' + j.hint + ')' : ''));
    if (r.status === 401) localStorage.removeItem('twin-token');
    const err = new Error(j.message); err.code = j.code; throw err;
  }
  return j;
}
function item(parent, text, button) {
  const li = document.createElement('li'); li.textContent = text + ' ';
  if (button) li.appendChild(button);
  parent.appendChild(li);
}
async function showData() {
  const [memories, voices, settings, audit] = await Promise.all(
    ['/api/memories', '/api/voices', '/api/settings', '/api/audit'].map((p) => api(p)));
  state.memories = memories;
  $('memories').textContent = '';
  for (const m of memories) {
    const b = document.createElement('button'); b.textContent = 'Erase'; b.className = 'erase';
    b.dataset.id = m.id; b.onclick = () => planErase({ ids: [m.id] }).catch(() => {});
    item($('memories'), (m.speaker === 'household' ? '[household] ' : '') + m.text, b);
  }
  if (!memories.length) item($('memories'), 'nothing remembered yet');
  $('voices').textContent = '';
  for (const v of voices) {
    const b = document.createElement('button'); b.textContent = 'Erase'; b.className = 'erase-voice';
    b.dataset.name = v.name; b.onclick = () => planErase({ name: v.name }, 'voices').catch(() => {});
    item($('voices'), v.name + ' (' + v.role + ', ' + v.recordings + ' recordings)', b);
  }
  if (!voices.length) item($('voices'), 'none');
  $('settings').textContent = JSON.stringify(settings, null, 1);
  $('audit').textContent = audit.map((e) => [e.seq, (e.at || '').slice(0, 19), e.tool, e.decision,
    e.status, e.who].join('  ')).join('\\n') || 'nothing recorded yet';
  dataStatus(memories.length + ' memories, ' + audit.length + ' audit entries');
}
async function download() {
  const auth = 'Bearer ' + localStorage.getItem('twin-token');
  const r = await fetch('/api/export', { headers: { authorization: auth } });
  if (!r.ok) { const j = await r.json(); state.errors.push(j.code); dataStatus(j.message); return; }
  const blob = await r.blob();
  state.exported = JSON.parse(await blob.text());
  const name = (r.headers.get('content-disposition') || '').match(/filename="([^"]+)"/);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob); a.download = name ? name[1] : 'twin-export.json';
  document.body.appendChild(a); a.click(); a.remove();
  dataStatus('saved ' + a.download);
}
async function planErase(what, kind) {
  const plan = await api('/api/' + (kind || 'memories') + '/forget', what);
  plan.path = '/api/' + (kind || 'memories') + '/forget/';
  if (!plan.count) { dataStatus(plan.preview); return; }
  state.confirming = plan;
  $('confirm-text').textContent = 'Erase ' + plan.preview + '? This cannot be undone.';
  $('confirm').hidden = false;
}
async function answer(yes) {
  const plan = state.confirming; if (!plan) return;
  state.confirming = null; $('confirm').hidden = true;
  const r = await api(plan.path + (yes ? 'confirm' : 'cancel'),
                      { confirmation: plan.confirmation });
  if (yes) state.erased.push(r);
  dataStatus(r.said + (r.receipt ? ' Receipt: ' + r.receipt : ''));
  await showData();
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
    $('data').hidden = false;
    $('show').onclick = () => showData().catch(() => {});
    $('download').onclick = () => download().catch((e) => dataStatus(String(e)));
    $('erase-all').onclick = () => planErase({ everything: true }).catch(() => {});
    $('confirm-yes').onclick = () => answer(true).catch(() => {});
    $('confirm-no').onclick = () => answer(false).catch(() => {});
    const ptt = params.get('ptt') === '1';
    if (params.has('autostart')) {
      const link = await start(token, ptt);
      if (ptt) { $('talking').hidden = false; $('talk').hidden = true; pushToTalk(link); }
      return;
    }
    $('talking').hidden = false;
    $('talk').onclick = () => {
      $('talking').hidden = true;
      start(token, false).catch((e) => status(String(e)));
    };
    let link = null;
    $('ptt').addEventListener('pointerdown', async () => {  // the first press also starts the link
      if (link) return;
      let down = true;
      const up = () => { down = false; };
      $('ptt').addEventListener('pointerup', up, { once: true });
      $('talk').hidden = true;
      link = await start(token, true);
      pushToTalk(link);
      $('ptt').removeEventListener('pointerup', up);
      if (down) $('ptt').onpointerdown(new PointerEvent('pointerdown'));  // still held: talking
    }, { once: true });
    status('paired');
  } catch (err) { state.errors.push(String(err)); status(String(err)); }
})();
</script>
</body></html>
"""
