"""Twin as Wyoming services, driven by the wyoming package's own client (as Home Assistant's
integration does): describe -> info naming the real models; synthesize -> audio; transcribe + audio
-> transcript (a human recording, and Twin's own voice at 22.05 kHz resampled by the service; that
rendering is made with Piper's sampling noise off, so the words heard never depend on a draw);
transcript -> handled (the conversation); a wrong audio format -> a typed error event."""

from __future__ import annotations

import asyncio
import wave

import numpy as np
from conftest import fixture_path, normalize

from bench.satellites import free_port


def test_wyoming_services(hub_cfg, components):
    from wyoming.asr import Transcribe, Transcript
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncTcpClient
    from wyoming.error import Error
    from wyoming.handle import Handled
    from wyoming.info import Describe, Info
    from wyoming.tts import Synthesize

    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog
    from pipeline.serve.wyoming_io import serve_services
    from voice.tts import Prosody

    wav = fixture_path("speech_to_phrase_en/wav/set a timer for 5 minutes.wav")
    with wave.open(str(wav), "rb") as w:
        recording = w.readframes(w.getnframes())
    steady = components.tts.synthesize_all(
        "The kitchen lights are off.", Prosody(noise_scale=0.0, noise_w_scale=0.0)
    )
    steady_pcm = (np.clip(steady, -1, 1) * 32767).astype("<i2").tobytes()
    hub = Hub(hub_cfg, components, log=HubLog(None, stream=None))
    port = free_port()
    out: dict = {}

    async def transcribe(pcm: bytes, rate: int) -> str:
        async with AsyncTcpClient("127.0.0.1", port) as client:
            await client.write_event(Transcribe(language="en").event())
            await client.write_event(AudioStart(rate=rate, width=2, channels=1).event())
            for i in range(0, len(pcm), 2048):
                await client.write_event(
                    AudioChunk(rate=rate, width=2, channels=1, audio=pcm[i : i + 2048]).event()
                )
            await client.write_event(AudioStop().event())
            event = await client.read_event()
            assert event is not None and Transcript.is_type(event.type), event
            return Transcript.from_event(event).text

    async def scenario() -> None:
        ready = asyncio.Event()
        server = asyncio.create_task(serve_services(hub, f"tcp://127.0.0.1:{port}", ready))
        await ready.wait()
        try:
            async with AsyncTcpClient("127.0.0.1", port) as client:
                await client.write_event(Describe().event())
                event = await client.read_event()
                out["info"] = Info.from_event(event)

            async with AsyncTcpClient("127.0.0.1", port) as client:
                await client.write_event(Synthesize(text="The kitchen lights are off.").event())
                start = AudioStart.from_event(await client.read_event())
                pcm = b""
                while True:
                    event = await client.read_event()
                    if AudioStop.is_type(event.type):
                        break
                    pcm += AudioChunk.from_event(event).audio
                out["tts"] = (start.rate, pcm)

            out["heard_recording"] = await transcribe(recording, 16000)
            out["heard_tts"] = await transcribe(steady_pcm, start.rate)

            async with AsyncTcpClient("127.0.0.1", port) as client:
                await client.write_event(Transcript(text="Hello, who are you?").event())
                event = await client.read_event()
                assert Handled.is_type(event.type), event
                out["handled"] = Handled.from_event(event).text

            async with AsyncTcpClient("127.0.0.1", port) as client:  # 32-bit stereo: refused, typed
                await client.write_event(Transcribe().event())
                await client.write_event(AudioStart(rate=16000, width=4, channels=2).event())
                out["error"] = Error.from_event(await client.read_event())
        finally:
            server.cancel()
            await asyncio.gather(server, return_exceptions=True)
            await hub.shutdown()

    asyncio.run(scenario())

    info = out["info"]
    assert info.asr and info.asr[0].models[0].name == components.asr.descriptor.name
    assert info.tts and info.tts[0].voices[0].name == components.tts.descriptor.name
    assert info.handle and info.handle[0].models[0].languages
    rate, pcm = out["tts"]
    audio = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768
    assert rate == components.tts.sample_rate and len(audio) / rate > 0.8
    assert float(np.sqrt(np.mean(audio**2))) > 0.01
    assert {"set", "timer", "5", "minutes"} <= set(normalize(out["heard_recording"])), out["heard_recording"]
    assert {"kitchen", "lights", "off"} <= set(normalize(out["heard_tts"])), out["heard_tts"]
    assert out["handled"].strip()
    assert out["error"].code == "device_audio_format"
