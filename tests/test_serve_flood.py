"""A device that floods the hub, against a real hub over its WebSocket, beside a device in use:

- one paired device sends microphone audio as fast as the socket takes it (over fifteen minutes of
  it in a few seconds): its bounded queue keeps at most 30 s, the rest is dropped and counted, and
  the drops are logged as they happen (`audio_dropped`, structured), not only when it closes;
- then it floods control messages: a typed error (`device_flooding`), its session closed;
- meanwhile a second device asks a question by push-to-talk (a human recording, paced like a
  microphone) and gets its transcript, reply and spoken answer; the health endpoint answers during
  the flood; nothing on the second device logs an error, and it is still listening afterwards;
- a Wyoming device floods events that are not audio: the same bound, its session closed, the link
  connected again; announcements past the queue refused while its connection goes on.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

import numpy as np
from conftest import fixture_path, normalize
from hub_process import log_waits, push_to_talk

from bench.satellites import free_port


def test_a_flooding_device_is_bounded_logged_and_closed_while_another_is_served(hub_cfg, components):
    import websockets

    from pipeline.serve.device import MAX_CONTROL_PER_S, MAX_QUEUED_S
    from pipeline.serve.http import MAX_MESSAGE, serve_http
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog
    from voice.audio import SAMPLE_RATE, load_audio

    x = load_audio(fixture_path("speech_to_phrase_en/wav/what's the date.wav")).samples
    question = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
    # the flood: faint noise (no speech for the VAD), the largest message the hub takes, many times
    noise = np.random.default_rng(0).normal(0, 0.002, MAX_MESSAGE // 2 - 64)
    chunk = (noise * 32767).astype("<i2").tobytes()
    chunks = 120  # each ~8 s of audio: ~16 minutes in all
    flood_s = chunks * len(chunk) / 2 / SAMPLE_RATE

    log = HubLog(None, stream=None)
    hub = Hub(hub_cfg, components, log=log, poll_s=0.2)
    port = free_port()
    url = f"ws://127.0.0.1:{port}/ws"
    logged, wait_for = log_waits(log)
    out: dict[str, Any] = {"health": []}

    def health() -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30) as r:
            return r.status

    async def hello(ws: Any, token: str) -> dict:
        await ws.send(json.dumps({"type": "hello", "token": token, "rate": SAMPLE_RATE}))
        return json.loads(await ws.recv())

    async def flood(token: str) -> None:
        async with websockets.connect(url, max_size=None) as ws:
            assert (await hello(ws, token))["type"] == "ready"
            loop = asyncio.get_running_loop()
            for i in range(chunks):
                await ws.send(chunk)
                if i == chunks // 2:  # the hub's health in the middle of the flood
                    out["health"].append(await loop.run_in_executor(None, health))
            await wait_for(lambda: logged("audio_dropped", device="flood"), 30, "the drops to be logged")
            out["health"].append(await loop.run_in_executor(None, health))
            try:
                for _ in range(4 * MAX_CONTROL_PER_S):
                    await ws.send(json.dumps({"type": "played", "samples": 0, "rate": 22050}))
                while True:  # until the hub closes the link
                    await asyncio.wait_for(ws.recv(), 30)
            except websockets.ConnectionClosed as closed:
                out["flood_close"] = closed.rcvd.code if closed.rcvd else None

    async def ask(token: str) -> None:
        got: dict[str, Any] = {"json": [], "audio": 0}
        out["calm"] = got
        async with websockets.connect(url, max_size=None) as ws:
            assert (await hello(ws, token))["type"] == "ready"
            await push_to_talk(ws, question, got)
            await wait_for(
                lambda: logged("session_closed", device="flood"), 60, "the flooding device to be closed"
            )
            out["calm_state"] = hub.sessions["calm"].state
            out["calm_errors"] = [r for r in log.lines if r["level"] == "error" and r.get("device") == "calm"]

    async def scenario() -> None:
        stop, ready = asyncio.Event(), asyncio.Event()
        runner = asyncio.create_task(hub.run(stop, [lambda: serve_http(hub, "127.0.0.1", port, ready)]))
        await ready.wait()
        _, flood_token = hub.registry.pair("flood", hub.registry.start_pairing("flood", "speaker"))
        _, calm_token = hub.registry.pair("calm", hub.registry.start_pairing("calm", "companion"))
        try:
            await asyncio.wait_for(asyncio.gather(flood(flood_token), ask(calm_token)), 240)
        finally:
            stop.set()
            await runner

    asyncio.run(scenario())

    # the flooding device: bounded, counted, logged as it happened, then closed with a typed error
    drops = logged("audio_dropped", device="flood")
    assert drops and drops[0]["level"] == "warning" and drops[0]["frames_dropped"] > 0, drops
    closed = logged("session_closed", device="flood")
    assert len(closed) == 1 and closed[0]["code"] == "device_flooding", closed
    assert closed[0]["frames_dropped"] >= drops[-1]["frames_dropped"], (closed, drops)
    kept_s = flood_s - closed[0]["frames_dropped"] * 512 / SAMPLE_RATE
    assert kept_s <= MAX_QUEUED_S + 9, (kept_s, flood_s)  # the queue's bound (and a message's worth)
    assert out["flood_close"] == 1011, out
    # the other device was served all along
    assert out["health"] == [200, 200], out
    got = out["calm"]
    kinds = [m["type"] for m in got["json"]]
    assert kinds[0] == "transcript" and "reply" in kinds and "audio-start" in kinds, kinds
    assert normalize(got["json"][0]["text"]) == normalize("what's the date"), got["json"][0]
    (turn,) = logged("turn", device="calm")
    assert turn["status"] == "completed" and turn["reply"], turn
    assert got["audio"] > 0.5 * SAMPLE_RATE, got["audio"]
    assert out["calm_state"] == "listening", out
    assert out["calm_errors"] == [], out["calm_errors"]
    assert not logged("session_failed") and not logged("turn_failed"), log.lines[-20:]


async def _flooding_satellite(port: int, got: dict[str, Any], pings: int):
    """A Wyoming device (the wyoming package's events) that, once run, asks for more announcements
    than the hub queues, then sends `pings` pings as fast as the socket takes them. Its next
    connection behaves."""
    from wyoming.event import async_read_event, async_write_event
    from wyoming.info import Attribution, Info, Satellite
    from wyoming.ping import Ping
    from wyoming.pipeline import PipelineStage, RunPipeline

    from pipeline.serve.wyoming_io.satellites import MAX_ANNOUNCING

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = not got.get("connections")
        got["connections"] = got.get("connections", 0) + 1
        try:
            while (event := await async_read_event(reader)) is not None:
                if event.type == "describe":
                    info = Info(satellite=Satellite("noisy", Attribution("test", ""), True, "noisy", None))
                    await async_write_event(info.event(), writer)
                elif event.type == "run-satellite" and first:
                    for i in range(MAX_ANNOUNCING + 2):
                        run = RunPipeline(PipelineStage.TTS, PipelineStage.TTS, announce_text=f"Note {i}.")
                        await async_write_event(run.event(), writer)
                    await asyncio.sleep(1.5)  # within the rate: only the queue's bound refuses
                    for _ in range(pings):
                        await async_write_event(Ping(text="x").event(), writer)
                elif event.type == "pong":
                    got["pongs"] = got.get("pongs", 0) + 1
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            got["closed"] = got.get("closed", 0) + 1
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", port)


def test_a_satellite_flooding_events_is_closed_and_reconnected(hub_cfg, components):
    """A Wyoming device that sends events other than audio far faster than any satellite does: the
    same bound as a browser's control messages (`device_flooding`, its session closed), and the hub
    connects it again after its back-off. Announcements it asks for beyond the queue are refused
    with a typed error while the connection goes on."""
    from pipeline.serve.device import MAX_CONTROL_PER_S
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog

    port = free_port()
    hub = Hub(hub_cfg, components, log=HubLog(None, stream=None), poll_s=0.2)
    hub.registry.add("noisy", f"tcp://127.0.0.1:{port}", "speaker")
    logged, wait_for = log_waits(hub.log)
    got: dict[str, Any] = {}

    async def scenario() -> None:
        server = await _flooding_satellite(port, got, 4 * MAX_CONTROL_PER_S)
        stop = asyncio.Event()
        runner = asyncio.create_task(hub.run(stop))
        try:
            await wait_for(lambda: logged("session_closed", device="noisy"), 60, "the flood to close it")
            await wait_for(lambda: len(logged("satellite_connected", device="noisy")) == 2, 60, "reconnect")
        finally:
            stop.set()
            await runner
            server.close()

    asyncio.run(scenario())

    refused = logged("satellite_announce_refused", device="noisy")
    assert len(refused) == 2 and all(r["code"] == "device_malformed_event" for r in refused), refused
    closed = logged("session_closed", device="noisy")[0]
    assert closed["code"] == "device_flooding" and closed["level"] == "error", closed
    assert "control messages in a second" in closed["message"], closed
    assert got["pongs"] <= MAX_CONTROL_PER_S, got  # answered until the bound, then cut off
    assert got["connections"] == 2, got
