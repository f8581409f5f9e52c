"""What a real audio device does wrong, without the device: a microphone at another rate (its blocks
resampled to 16 kHz frames by soxr), one that clips (noticed from its own sound, in the live front
end). The device itself going away is tests/test_live_device.py's (a real PulseAudio microphone)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from conftest import fixture_path

from devices.sinks import BufferSink
from devices.sources import ClipSource, Reframer
from pipeline.runtime.input_checks import ClippingWatch
from voice.audio import SAMPLE_RATE, AudioClip, load_audio
from voice.vad import FRAME


@pytest.mark.parametrize("rate", [44100, 48000, 16000])
def test_a_microphone_at_its_own_rate_gives_16_khz_frames(rate):
    """A device that cannot run at 16 kHz is opened at its own rate: its blocks (as PortAudio hands
    them, ~32 ms) become FRAME-sample frames at 16 kHz, the sound itself unchanged."""
    t = np.arange(rate * 2) / rate
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    reframe = Reframer(rate)
    block = round(FRAME * rate / SAMPLE_RATE)
    frames = [f for i in range(0, len(tone), block) for f in reframe.frames(tone[i : i + block])]
    assert all(len(f) == FRAME for f in frames)
    assert abs(len(frames) * FRAME - 2 * SAMPLE_RATE) <= 2 * FRAME  # 2 s in, ~2 s out (the filter's delay)
    out = np.concatenate(frames)[FRAME:]
    peak = np.argmax(np.abs(np.fft.rfft(out))) * SAMPLE_RATE / len(out)
    assert abs(peak - 440) < 5 and 0.45 < np.abs(out).max() < 0.55


def test_clipping_is_said_once_in_a_while():
    watch = ClippingWatch(window=31, frames=5, quiet_s=30.0)
    clean = np.full(FRAME, 0.3, np.float32)
    clipped = np.clip(np.sin(np.linspace(0, 60, FRAME)) * 3, -1, 1).astype(np.float32)
    assert not any(watch.hear(clean, i * 0.032) for i in range(100))
    said = [watch.hear(clipped, 3.2 + i * 0.032) for i in range(100)]
    assert said.count(True) == 1 and said.index(True) == 4  # the fifth clipped frame, then quiet
    assert watch.hear(clipped, 40.0)  # 30 s later, said again


@pytest.mark.models
def test_the_live_front_end_notices_a_clipping_microphone(components, cfg, tmp_path):
    """A real recording played 20 times too loud (clipped) into the live front end: a `device`
    event says so; the same recording at its own level says nothing."""
    from pipeline.runtime.session import Twin

    speech = load_audio(fixture_path("speech_to_phrase_en/wav/what's the date.wav")).samples
    twin = Twin(cfg.model_copy(update={"data_dir": tmp_path}), components)

    def device_events(samples: np.ndarray) -> list[dict]:
        asyncio.run(
            twin.live(ClipSource(AudioClip(samples, SAMPLE_RATE), trailing_silence=0.5), BufferSink())
        )
        return [e for e in twin.front_end.log.events if e["event"] == "device"]

    loud = np.clip(speech * 20, -1, 1).astype(np.float32)
    events = device_events(loud)
    assert [e["code"] for e in events] == ["microphone_clipping"], events
    assert "lower its input gain" in events[0]["message"]
    assert device_events(speech) == []
