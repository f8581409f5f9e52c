"""Push-to-talk's release is a front-end event, not silence.

- The endpointer: `end_now` ends the open utterance at the next frame, whatever the silence so far
  (the same frames without it keep the utterance open); with nothing open it changes nothing and
  does not linger to cut a later utterance short.
- The browser's WebSocket protocol end to end against a real hub: a paired device streams a human
  recording's words and ~0.3 s of quiet after them (far less than the companion profile's 700 ms
  window; the semantic end of turn off), then `{"type": "end"}` and nothing more. The hub hears
  exactly the frames sent plus the one marker frame (no silence fed), the utterance ends on the
  `end`, and Twin's answer comes back as transcript, reply, audio and the turn's timings. Asked
  again and pressed again (`start`) as soon as the hub says what it heard, the reply under way is
  interrupted at the hub, as a spoken barge-in would be.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np
from conftest import fixture_path, normalize
from hub_process import log_waits, push_to_talk

from bench.satellites import free_port


def _frame(prob: float, i: int):
    from pipeline.events import AudioFrame
    from pipeline.runtime.endpointing import FRAME_S
    from voice.vad import FRAME

    return AudioFrame(samples=np.zeros(FRAME, np.float32), position=i * FRAME_S, speech_prob=prob)


def test_end_now_ends_the_open_utterance_at_the_next_frame():
    from pipeline.events import SpeechStarted, Utterance
    from pipeline.runtime.endpointing import Endpointer

    def speak(ep: Endpointer) -> list[Any]:
        """20 speech frames (0.64 s), then 3 silent ones (96 ms): well inside a 1 s window."""
        return [ep.push(_frame(0.9 if i < 20 else 0.0, i)) for i in range(23)]

    held = Endpointer(silence_ms=1000)
    out = speak(held)
    assert any(isinstance(o, SpeechStarted) for o in out)
    assert not any(isinstance(o, Utterance) for o in out + [held.push(_frame(0.0, 23))])
    assert held.in_speech  # without the event, the utterance stays open

    ep = Endpointer(silence_ms=1000)
    speak(ep)
    ep.end_now()
    utt = ep.push(_frame(0.0, 23))
    assert isinstance(utt, Utterance) and utt.voiced == 20, utt
    assert not ep.in_speech

    # nothing open: the event changes nothing and is gone by the next utterance
    ep.end_now()
    assert ep.push(_frame(0.0, 24)) is None
    later = [ep.push(_frame(0.9 if i < 45 else 0.0, i)) for i in range(25, 50)]
    assert not any(isinstance(o, Utterance) for o in later) and ep.in_speech


def test_websocket_push_to_talk_ends_on_the_end_event(hub_cfg, components, tmp_path):
    import websockets

    from devices.profiles import PROFILES
    from pipeline.serve.http import serve_http
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog
    from voice.audio import SAMPLE_RATE, load_audio
    from voice.vad import FRAME

    # The words end at ~1.1 s; sent to 1.3 s and 0.1 s of zeros after: ~0.3 s of quiet, far less than
    # the companion's window, and the semantic end of turn (which may end a clearly finished
    # question after 250 ms) is off here, so only `end` can close the utterance.
    assert PROFILES["companion"].endpoint_silence_ms >= 600
    hub_cfg = hub_cfg.model_copy(
        update={"endpointing": hub_cfg.endpointing.model_copy(update={"semantic": False})}
    )
    x = load_audio(fixture_path("speech_to_phrase_en/wav/what's the date.wav")).samples
    words = x[: int(1.3 * SAMPLE_RATE)]
    pcm = np.clip(np.concatenate([words, np.zeros(int(0.1 * SAMPLE_RATE), np.float32)]), -1, 1) * 32767
    pcm_bytes = pcm.astype("<i2").tobytes()

    log = HubLog(None, stream=None)
    hub = Hub(hub_cfg, components, log=log, poll_s=0.2)
    port = free_port()
    logged, wait_for = log_waits(log)
    phases: list[dict[str, Any]] = []

    async def ask(ws: Any, barge: bool) -> None:
        """The question, then `end`; with `barge`, push-to-talk pressed again (`start`) as soon as
        the hub says what it heard, while the reply is still being made."""
        got: dict[str, Any] = {"json": [], "audio": 0}
        phases.append(got)
        await push_to_talk(ws, pcm_bytes, got, barge)

    async def scenario() -> None:
        stop, ready = asyncio.Event(), asyncio.Event()
        runner = asyncio.create_task(hub.run(stop, [lambda: serve_http(hub, "127.0.0.1", port, ready)]))
        await ready.wait()
        code = hub.registry.start_pairing("phone", "companion")
        _, token = hub.registry.pair("phone", code)
        try:
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws", max_size=None) as ws:
                await ws.send(json.dumps({"type": "hello", "token": token, "rate": SAMPLE_RATE}))
                assert json.loads(await ws.recv())["type"] == "ready"
                await ask(ws, barge=False)
                await ask(ws, barge=True)
            await wait_for(lambda: logged("session_closed", device="phone"), 30, "the session to close")
        finally:
            stop.set()
            await runner

    asyncio.run(scenario())

    end = logged("push_to_talk_end", device="phone")
    assert len(end) == 2, end
    # every frame the hub heard came from the device, plus one marker each time: no silence was fed
    assert end[0]["frames_in"] == len(pcm_bytes) // 2 // FRAME + 1, end
    assert end[1]["frames_in"] == 2 * end[0]["frames_in"], end
    got = phases[0]
    kinds = [m["type"] for m in got["json"]]
    assert kinds[0] == "transcript" and "reply" in kinds and "audio-start" in kinds, kinds
    assert normalize(got["json"][0]["text"]) == normalize("what's the date"), got["json"][0]
    turn, barged = logged("turn", device="phone")
    assert turn["status"] == "completed" and turn["reply"], turn
    start = next(m for m in got["json"] if m["type"] == "audio-start")
    assert got["audio"] / start["rate"] > 0.5, got["audio"]  # Twin's spoken answer came back as PCM
    assert got["json"][-1]["ms"]["voice_to_voice"] == round(turn["timings_ms"]["voice_to_voice"])
    # pressed again while the reply was being made: the hub stops it, as a spoken barge-in would
    starts = logged("push_to_talk_start", device="phone")
    assert [r["interrupted"] for r in starts] == [1], starts
    assert barged["status"] == "interrupted", barged
    assert phases[1]["json"][-1]["status"] == "interrupted", phases[1]["json"][-1]
