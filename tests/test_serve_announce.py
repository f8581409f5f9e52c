"""Home Assistant's side of announcements on satellites, as far as the protocol here (wyoming 1.10.2)
carries it, against a real hub on 127.0.0.1:

- an announce pipeline: a satellite's `run-pipeline` from tts to tts with `announce_text` is said on
  that satellite in Twin's voice (the audio it receives is heard back by our ASR as the text); an
  over-long text is refused with a typed error and the connection goes on;
- `played`: the satellite's report that it played the audio is taken (`device_played`), and a ring
  counts as heard only once it is played, or its length has passed, with the device still there: a
  satellite that drops the connection right after the audio hears it as not heard (`heard: false`,
  so a timer or announcement stays due);
- `pause-satellite` on the way out: when the hub stops it tells each satellite, as Home Assistant
  does, and a real wyoming-satellite 1.0.0 forwards that to its event service.

wyoming-satellite 1.0.0 (the PyPI release that runs here) sends neither `announce_text` nor
`played`, so those two are sent by a Wyoming endpoint built from the wyoming package's own event
classes; `pause-satellite` is checked on the real satellite.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from conftest import fixture_path, normalize, require
from hub_process import log_waits

from bench.satellites import Satellite, free_port, satellite_available

ANNOUNCED = "Dinner is ready. Please come to the kitchen table."


async def _announcing_satellite(port: int, got: dict[str, Any], then: str):
    """A satellite that, once run, asks for an over-long announcement and then for `ANNOUNCED`; it
    records the audio it is sent and, at its end, says `played` (then="played") or drops the
    connection (then="drop"). Only its first connection announces."""
    from wyoming.audio import AudioChunk, AudioStop
    from wyoming.event import async_read_event, async_write_event
    from wyoming.info import Attribution, Info, Satellite
    from wyoming.pipeline import PipelineStage, RunPipeline
    from wyoming.snd import Played

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = not got.get("connections")
        got["connections"] = got.get("connections", 0) + 1
        try:
            while (event := await async_read_event(reader)) is not None:
                got.setdefault("types", []).append(event.type)
                if event.type == "describe":
                    info = Info(satellite=Satellite(then, Attribution("test", ""), True, then, None))
                    await async_write_event(info.event(), writer)
                elif event.type == "run-satellite" and first:
                    for text in ("x" * 1500, ANNOUNCED):
                        run = RunPipeline(PipelineStage.TTS, PipelineStage.TTS, announce_text=text)
                        await async_write_event(run.event(), writer)
                elif AudioChunk.is_type(event.type):
                    chunk = AudioChunk.from_event(event)
                    got["rate"] = chunk.rate
                    got["audio"] = got.get("audio", b"") + chunk.audio
                elif AudioStop.is_type(event.type) and "audio" in got and not got.get("done"):
                    got["done"] = True
                    if then == "drop":
                        return
                    await async_write_event(Played().event(), writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", port)


async def _event_service(port: int, received: list[str]):
    from wyoming.event import async_read_event

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (event := await async_read_event(reader)) is not None:
                received.append(event.type)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass

    return await asyncio.start_server(handle, "127.0.0.1", port)


def test_announce_pipeline_played_and_pause(hub_cfg, components, tmp_path):
    require(satellite_available(), "wyoming-satellite venv .venv-satellite missing: run scripts/setup.sh")
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog
    from pipeline.serve.registry import DeviceRegistry
    from voice.audio import SAMPLE_RATE, AudioClip, resample

    porch_port, shed_port, events_port = free_port(), free_port(), free_port()
    porch: dict[str, Any] = {}
    shed: dict[str, Any] = {}
    forwarded: list[str] = []
    hall = Satellite(
        "hall",
        [fixture_path("speech_to_phrase_en/wav/what's the date.wav")],
        tmp_path / "sat",
        gap=30,
        event_uri=f"tcp://127.0.0.1:{events_port}",
    )
    registry = DeviceRegistry(hub_cfg.data_path)
    registry.add("porch", f"tcp://127.0.0.1:{porch_port}", "speaker")
    registry.add("shed", f"tcp://127.0.0.1:{shed_port}", "speaker")
    registry.add("hall", hall.uri, "speaker")
    log = HubLog(None, stream=None)
    hub = Hub(hub_cfg, components, log=log, poll_s=0.2)
    logged, wait_for = log_waits(log)

    async def scenario() -> None:
        servers = [
            await _announcing_satellite(porch_port, porch, "played"),
            await _announcing_satellite(shed_port, shed, "drop"),
            await _event_service(events_port, forwarded),
        ]
        hall.start()
        stop = asyncio.Event()
        runner = asyncio.create_task(hub.run(stop))
        try:
            await wait_for(lambda: logged("satellite_connected", device="hall"), 60, "the real satellite")
            for name in ("porch", "shed"):
                await wait_for(
                    lambda n=name: logged("satellite_announced", device=n), 120, f"{name}'s announcement"
                )
            await wait_for(lambda: "run-satellite" in forwarded, 30, "the hall satellite to forward events")
        finally:
            stop.set()
            await runner
            await asyncio.sleep(0.5)  # the satellite forwards what it got on its way
            hall.stop()
            for server in servers:
                server.close()

    asyncio.run(scenario())

    # the announce pipeline: said on the porch, in Twin's voice, heard back as the text
    pcm = np.frombuffer(porch["audio"], "<i2").astype(np.float32) / 32768.0
    clip = AudioClip(resample(pcm, porch["rate"], SAMPLE_RATE), SAMPLE_RATE, "porch")
    heard = components.asr.transcribe(clip, "en", True).text
    # most of its words, not every one: Piper samples each rendering, and Whisper now and then
    # mishears a word of it ("The laundry is done." was heard as "Belondry is done.")
    words = {"dinner", "ready", "please", "come", "kitchen", "table"}
    assert len(words & set(normalize(heard))) >= 5, heard
    assert logged("satellite_announced", device="porch")[0]["heard"] is True
    assert logged("device_played", device="porch"), "the porch's played was not taken"
    # the shed went away right after the audio, before its length had passed: not heard
    assert shed.get("done") and logged("satellite_announced", device="shed")[0]["heard"] is False
    # the over-long text: a typed error, and the connection went on to the next announcement
    refused = logged("satellite_announce_refused", device="porch")
    assert refused and refused[0]["code"] == "device_malformed_event", refused
    assert porch["connections"] == 1, porch
    # on the way out each satellite is told to pause, as Home Assistant does
    assert "pause-satellite" in porch["types"], porch["types"]
    assert "pause-satellite" in forwarded, forwarded
