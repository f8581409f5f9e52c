"""The hub against real, unmodified wyoming-satellite processes (PyPI wyoming-satellite 1.0.0, in its
own venv .venv-satellite because it pins wyoming 1.4.1) on 127.0.0.1: microphones are commands that
play human recordings, speakers are commands that write to files.

One run, three devices at once:
- kitchen (speaker profile) asks "what's the date": its transcript is in the hub's log, and Twin's
  spoken answer arrives in the satellite's output file as real audio (our ASR hears the reply's words);
- car is killed (-9) as soon as its question is transcribed, mid-turn: a typed disconnect error,
  its session closed, kitchen unaffected;
- rogue is a Wyoming endpoint that says it is a satellite, then sends a line that is not an event,
  then (reconnected) an oversized event, then audio at 44.1 kHz: typed errors, its session closed
  each time, the others unaffected.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import numpy as np
from conftest import fixture_path, normalize, require
from hub_process import log_waits

from bench.satellites import Satellite, free_port, satellite_available

WAVS = "speech_to_phrase_en/wav"


def _words(text: str) -> set[str]:
    """The words to compare what Twin said with what our ASR heard of it: numbers left out, as the
    voice says them in words ("twelve fifty p.m.", "the thirtieth") and the ASR writes digits."""
    from num2words import num2words

    said = [num2words(i) for i in range(100)] + [num2words(i, to="ordinal") for i in range(1, 32)]
    numbers = {w for n in said for w in normalize(n)}
    return {w for w in normalize(text) if len(w) > 1 and not any(c.isdigit() for c in w) and w not in numbers}


async def _rogue_server(port: int, connections: list[int]):
    """A misbehaving device. Uses the wyoming package (as a test client would) for the valid part."""
    from wyoming.audio import AudioChunk
    from wyoming.event import async_read_event, async_write_event
    from wyoming.info import Attribution, Info, Satellite

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        n = len(connections)
        connections.append(n)
        try:
            await async_read_event(reader)  # describe
            info = Info(satellite=Satellite("rogue", Attribution("test", ""), True, "rogue", None))
            await async_write_event(info.event(), writer)
            await async_read_event(reader)  # run-satellite
            if n == 0:
                writer.write(b"this is not a wyoming event\n")
            elif n == 1:
                writer.write(
                    json.dumps({"type": "audio-chunk", "payload_length": 50_000_000}).encode() + b"\n"
                )
            else:
                chunk = AudioChunk(rate=44100, width=2, channels=1, audio=b"\0" * 4096)
                await async_write_event(chunk.event(), writer)
            await writer.drain()
            while await reader.read(4096):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", port)


def test_satellites_through_the_hub(hub_cfg, components, tmp_path):
    require(satellite_available(), "wyoming-satellite venv .venv-satellite missing: run scripts/setup.sh")
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog
    from pipeline.serve.registry import DeviceRegistry

    kitchen_wav = fixture_path(f"{WAVS}/what's the date.wav")
    car_wav = fixture_path(f"{WAVS}/what's the weather.wav")
    kitchen = Satellite("kitchen", [kitchen_wav], tmp_path / "sat", gap=30).start()
    car = Satellite("car", [car_wav], tmp_path / "sat", gap=30).start()
    rogue_port = free_port()
    registry = DeviceRegistry(hub_cfg.data_path)
    registry.add("kitchen", kitchen.uri, "speaker")
    registry.add("car", car.uri, "car")
    registry.add("rogue", f"tcp://127.0.0.1:{rogue_port}", "speaker")
    log = HubLog(hub_cfg.data_path / "logs" / "hub.jsonl", stream=None)
    hub = Hub(hub_cfg, components, log=log, poll_s=0.2)
    connections: list[int] = []

    logged, wait_for = log_waits(log)

    async def scenario() -> None:
        rogue = await _rogue_server(rogue_port, connections)
        stop = asyncio.Event()
        runner = asyncio.create_task(hub.run(stop))
        try:
            await wait_for(lambda: len(logged("satellite_connected", device="kitchen")) == 1, 60, "kitchen")
            await wait_for(lambda: len(logged("satellite_connected", device="car")) == 1, 60, "car")
            # Hold the voice (the hub's one TTS worker) until the car is gone: its turn is then surely
            # under way, not finished, when its satellite dies. Kitchen's answer only waits.
            gate = threading.Event()
            components.pools.tts.submit(gate.wait, 120)
            kitchen.begin()
            car.begin()
            try:
                # the car's question heard: kill its satellite while Twin answers
                await wait_for(lambda: logged("transcript", device="car"), 60, "the car's transcript")
                car.kill()
                await wait_for(
                    lambda: logged("session_closed", device="car"), 30, "the car's session to close"
                )
            finally:
                gate.set()
            await wait_for(lambda: logged("turn", device="kitchen"), 120, "kitchen's turn")
            await wait_for(
                lambda: len(connections) >= 3 and len(logged("session_closed", device="rogue")) >= 3,
                30,
                "the rogue's three faults",
            )
            # the satellite writes what it received to its speaker command's file
            await wait_for(lambda: kitchen.output.exists() and kitchen.output.stat().st_size > 0, 30, "audio")
            size = -1
            while size != kitchen.output.stat().st_size:  # until the reply is all there
                size = kitchen.output.stat().st_size
                await asyncio.sleep(1.0)
        finally:
            stop.set()
            await runner
            rogue.close()
            kitchen.stop()
            car.stop()

    asyncio.run(scenario())

    # kitchen: the recording's words in the hub's log, a completed turn, Twin's voice at the satellite
    heard = logged("transcript", device="kitchen")[0]["text"]
    assert normalize(heard) == normalize("what's the date"), heard
    turn = logged("turn", device="kitchen")[0]
    assert turn["status"] == "completed" and turn["reply"], turn
    pcm = np.frombuffer(kitchen.output.read_bytes(), "<i2").astype(np.float32) / 32768.0
    assert len(pcm) / 22050 > 0.8, f"only {len(pcm) / 22050:.2f} s of audio reached the satellite's speaker"
    assert float(np.sqrt(np.mean(pcm**2))) > 0.01  # sound, not silence
    from voice.audio import SAMPLE_RATE, AudioClip, resample

    clip = AudioClip(resample(pcm, 22050, SAMPLE_RATE), SAMPLE_RATE, "satellite output")
    played = components.asr.transcribe(clip, "en", True).text
    said = _words(turn["reply"])
    overlap = len(_words(played) & said) / max(1, len(said))
    assert overlap >= 0.5, f"the satellite played {played!r}; Twin said {turn['reply']!r}"

    # car: killed mid-turn -> a typed disconnect error and its session closed
    car_errors = [r for r in log.lines if r.get("device") == "car" and r["level"] == "error"]
    assert any(r.get("code") == "device_disconnected" for r in car_errors), car_errors
    assert logged("device_turn_aborted", device="car") and logged("turns_aborted", device="car")
    assert not logged("turn", device="car", status="completed")  # cancelled, not finished unheard

    # rogue: each fault typed, its session closed each time
    codes = [r.get("code") for r in logged("session_closed", device="rogue")]
    assert codes[:3] == ["device_malformed_event", "device_oversized_event", "device_audio_format"], codes

    # nothing failed on the healthy device, the hub stopped cleanly, and the log is JSON lines on disk
    assert not [r for r in log.lines if r.get("device") == "kitchen" and r["level"] == "error"]
    assert log.lines[-1]["event"] == "hub_stopped"
    on_disk = [json.loads(line) for line in Path(log.path).read_text().splitlines()]
    assert on_disk[-1]["event"] == "hub_stopped"
