"""Barge-in that knows a backchannel, on real audio through the live front end in real time: the
user's voice (espeak-ng, not Twin's own) over Twin's reply pauses it at once; "yeah" or a short
false start lets it play on; "stop" ends it; a real question takes the turn (tests/test_turns.py)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from conftest import espeak_samples as espeak
from conftest import fixture_path

from voice.audio import SAMPLE_RATE, AudioClip, load_audio

pytestmark = pytest.mark.models

QUESTION = "Tell me about the history of Rome."


def gap(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), np.float32)


def live(cfg, components, samples: np.ndarray):
    from devices.sinks import PacedSink
    from devices.sources import ClipSource
    from pipeline.runtime.session import Twin

    twin = Twin(cfg.model_copy(update={"barge_in": True}), components)
    source = ClipSource(AudioClip(samples), realtime=True, trailing_silence=1.0)
    sink = PacedSink(clock=lambda: source.position)
    results = asyncio.run(twin.live(source, sink))
    return twin, results, twin.front_end.log.events


def test_backchannel_and_false_start_let_the_reply_play_on(cfg, components, tmp_path):
    cough = load_audio(fixture_path("speech_to_phrase_en/wav/cancel all timers.wav")).samples
    loud = np.flatnonzero(np.abs(cough) > 0.05)
    false_start = cough[loud[0] : loud[0] + int(0.45 * SAMPLE_RATE)]  # 0.45 s of a real voice, cut off
    audio = np.concatenate(
        [
            gap(0.3),
            espeak(QUESTION, tmp_path),
            gap(3.0),  # Twin is answering
            false_start,
            gap(2.0),
            espeak("yeah", tmp_path, voice="en-gb"),
            gap(14.0),  # the rest of the reply
        ]
    )
    twin, results, events = live(cfg, components, audio)
    kinds = [e["event"] for e in events]
    print("\n", [(r.status, r.transcript, r.reply, r.timings_ms) for r in results], events)
    assert [r.status for r in results] == ["completed"] and "rome" in results[0].transcript.lower()
    assert kinds.count("barge_in") >= 1 and "interrupted" not in kinds and "stopped" not in kinds
    assert kinds.count("resumed") == kinds.count("barge_in")  # every pause ended in playing on
    assert not twin.dialogue[-1]["content"].endswith("[interrupted by the user]")


def test_stop_ends_the_reply_and_starts_no_turn(cfg, components, tmp_path):
    audio = np.concatenate(
        [gap(0.3), espeak(QUESTION, tmp_path), gap(3.5), espeak("stop", tmp_path, voice="en-gb"), gap(3.0)]
    )
    twin, results, events = live(cfg, components, audio)
    print("\n", [(r.status, r.transcript, r.heard) for r in results], events)
    assert [r.status for r in results] == ["interrupted"]
    assert [e["event"] for e in events if e["event"] != "turn_end"] == ["barge_in", "stopped"]
    assert twin.dialogue[-1]["content"].endswith("[interrupted by the user]")
    assert len(twin.dialogue) == 2  # "stop" itself is no turn
