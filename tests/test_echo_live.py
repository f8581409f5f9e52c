"""`twin live` in a room, in real time: a human recording asks, Twin answers through a paced sink, and
the reply comes back into the microphone through a real RIR. With the speaker profile's full duplex
(echo cancellation on), Twin must not take its own voice for the user."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest
from conftest import fixture_path

from devices.sinks import PacedSink
from devices.sources import InputFrame
from voice.audio import SAMPLE_RATE, load_audio, read_samples, resample
from voice.vad import FRAME

pytestmark = pytest.mark.models

# Twin's voice at the microphone about 4 dB under the user's (~-30 dBFS against -26): a moderate
# volume. At 1.0 (~-22 dBFS, louder than the user) the canceller alone is not enough in the live loop
# (README, "Echo cancellation and full duplex").
ECHO_GAIN = 0.4


class RoomMicrophone:
    """A microphone in a room, paced like a live one: the user's track plus whatever the sink plays,
    heard through the room's response after the playback delay (a tap on the sink, like the echo
    stage's own)."""

    hears_playback = True  # like devices/sources.py's MicrophoneSource: the front end cancels the echo

    def __init__(
        self, user: np.ndarray, sink: PacedSink, rir: np.ndarray, noise: np.ndarray, gain: float
    ) -> None:
        from bench.duplex import Loudspeaker, Room

        self.user = user
        self.noise = np.resize(noise, len(user))
        self.speaker = Loudspeaker(Room(rir, 0.06, -20.0, noise), gain=gain)
        self.echo_energy = 0.0
        sink.taps.append(self)

    def played(self, samples: np.ndarray, sample_rate: int) -> None:
        self.speaker.play(resample(samples, sample_rate, SAMPLE_RATE))

    def cut(self) -> None:
        self.speaker.cut()

    async def frames_iter(self) -> AsyncIterator[InputFrame]:
        start = time.monotonic()
        for i in range(len(self.user) // FRAME):
            position = i * FRAME / SAMPLE_RATE
            delay = start + position + FRAME / SAMPLE_RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            echo = self.speaker.next(FRAME)
            self.echo_energy += float(np.sum(echo**2))
            part = slice(i * FRAME, (i + 1) * FRAME)
            yield InputFrame(self.user[part] + self.noise[part] + echo, position, time.monotonic())


def test_twin_live_never_stops_or_answers_for_its_own_reply(cfg, components):
    """Without the canceller this echo sets the VAD off again and again (the
    control below). With it, the reply is played in full: any pause the echo causes is let go."""
    results, kinds, mic = _run_room(cfg, components, hears_playback=True)
    assert mic.echo_energy > 0  # the reply did come back into the microphone
    first = results[0]
    assert first.status == "completed" and "weather" in first.transcript.lower()
    assert first.heard == first.reply  # the whole reply was played: the echo never cut it off
    assert "interrupted" not in kinds and "stopped" not in kinds
    assert kinds.count("barge_in") == kinds.count("resumed")  # every pause was let go
    # Not asserted: that no residue of a long reply is ever taken for speech afterwards. With the
    # two-sentence honest weather answer a residue was once heard as "It's a good." and answered
    # (README, "Known limits"; `twin bench duplex` counts self-interruptions).


def _run_room(cfg, components, hears_playback: bool):
    from bench.duplex import level, unit_energy
    from pipeline.runtime.session import Twin

    twin = Twin(cfg, components)
    assert twin.barge_in  # the speaker profile: full duplex by default
    ask = load_audio(fixture_path("speech_to_phrase_en/wav/what's the weather.wav")).samples
    pad = np.zeros(int(0.3 * SAMPLE_RATE), np.float32)
    after = np.zeros(int(7.0 * SAMPLE_RATE), np.float32)  # Twin answers while the room is quiet
    user = np.concatenate([pad, level(ask, -26.0), after])
    rir = unit_energy(read_samples(fixture_path("speechbrain_samples/RIRs/rir1.wav"))[0])
    noise = level(
        load_audio(fixture_path("speechbrain_samples/noise/noise1.wav"), max_seconds=120).samples,
        -55.0,
        voiced_only=False,
    )
    sink = PacedSink()
    mic = RoomMicrophone(user, sink, rir, noise, ECHO_GAIN)
    mic.hears_playback = hears_playback
    results = asyncio.run(twin.live(mic, sink))
    echo_db = 10 * np.log10(mic.echo_energy / max(1, sink.played_samples) + 1e-20)
    print("\nturns:", [(r.status, r.transcript, r.reply) for r in results], "log:", twin.front_end.log.events)
    print(f"echo energy per played sample: {echo_db:.1f} dB")
    return results, twin.front_end.log.kinds(), mic


def test_without_the_canceller_the_same_room_makes_twin_stop_for_itself(cfg, components):
    """The control: the same room and request with a microphone that does not say it hears the
    loudspeaker (so the front end runs no echo stage)."""
    results, kinds, _ = _run_room(cfg, components, hears_playback=False)
    print("\ncontrol log:", kinds)
    assert kinds.count("barge_in") >= 2
