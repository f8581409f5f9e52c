"""The barge-in onset's settling gate (hands_free.BargeInOnset, `settle_s`): in the first second after
Twin's playback begins to sound following a silence, the canceller is finding the echo path anew and
may pass much of Twin's voice, so an onset frame then must keep most of its energy through the
canceller. The echo stage measures how long the playback has sounded (`EchoStage.playing_s`); the
front end and `twin bench duplex` pass it to the same rule."""

from __future__ import annotations

import numpy as np
import pytest

from devices.sources import InputFrame
from models.errors import BadInputError
from pipeline.runtime.echo import ECHO_TAIL_S, EchoStage
from pipeline.runtime.hands_free import (
    PREVIOUS_ONSET,
    SETTLE_KEPT_DB,
    SETTLE_S,
    BargeInOnset,
)
from tests.test_echo import _Subtractor
from voice.vad import FRAME

RATE = 16000
FRAME_S = FRAME / RATE
VOICE = (0.05 * np.sin(np.arange(FRAME) * 0.3)).astype(np.float32)  # about -29 dBFS


def _playing(stage: EchoStage, frames: int, sound: bool) -> list[float | None]:
    """Feed `frames` microphone frames, with playback sounding during them or not."""
    rng = np.random.default_rng(3)
    out = []
    for _ in range(frames):
        if sound:
            stage.played(np.full(FRAME, 0.2, np.float32), RATE)
        stage.clean(InputFrame(rng.standard_normal(FRAME).astype(np.float32) * 0.1, 0.0, None))
        out.append(stage.playing_s)
    return out


def test_the_stage_measures_how_long_the_playback_has_sounded():
    stage = EchoStage(_Subtractor(0.1))
    assert _playing(stage, 3, sound=False) == [None] * 3  # Twin silent: nothing plays
    first = _playing(stage, 40, sound=True)
    assert first[0] == 0.0
    assert first[-1] == pytest.approx(39 * FRAME_S)  # counts on through the reply
    short = int(0.5 * ECHO_TAIL_S / FRAME_S)  # a pause between sentences, shorter than the echo tail
    gap = _playing(stage, short, sound=False)
    assert gap[0] is not None and gap[-1] is not None  # the room's tail: still Twin's echo
    on = _playing(stage, 2, sound=True)
    assert on[-1] == pytest.approx((40 + short + 1) * FRAME_S)  # the same playback, not a new one
    long = int(ECHO_TAIL_S / FRAME_S) + 3
    after = _playing(stage, long, sound=False)
    assert after[-1] is None  # past the tail: Twin is silent
    again = _playing(stage, 5, sound=True)
    assert again[0] == 0.0  # the next reply after a silence: the canceller settles anew
    stage.reset()
    assert stage.playing_s is None


def test_while_playback_settles_an_onset_frame_must_keep_most_of_its_energy():
    rule = BargeInOnset()
    early, late = 0.3, SETTLE_S + 0.5
    lost = -SETTLE_KEPT_DB - 2.0  # the canceller took more than the gate allows
    kept = -SETTLE_KEPT_DB + 2.0  # a user's voice, passing the canceller
    assert rule.prob(0.9, lost, VOICE, -26.0, playing_s=early) == 0.0  # Twin's echo, not yet cancelled
    assert rule.prob(0.9, kept, VOICE, -26.0, playing_s=early) == 0.9
    assert rule.prob(0.9, lost, VOICE, -26.0, playing_s=late) == 0.9  # settled: the level gate alone
    assert rule.prob(0.9, lost, VOICE, None, playing_s=early) == 0.0  # before any turn too
    assert rule.prob(0.9, None, VOICE, -26.0, playing_s=None) == 0.9  # Twin silent: the VAD alone
    assert PREVIOUS_ONSET.prob(0.9, lost, VOICE, -26.0, playing_s=early) == 0.9  # the rule before it
    # the level gate still applies inside the window
    far_under = VOICE * 10 ** (-30 / 20)
    assert rule.prob(0.9, kept, far_under, -26.0, playing_s=early) == 0.0


def test_the_bench_refuses_an_unknown_mode_or_a_talk_over_outside_the_reply(cfg):
    from bench.duplex import run_duplex_bench

    with pytest.raises(BadInputError, match="no duplex bench mode"):
        run_duplex_bench(cfg, None, quick=True, only=("aec_nope",))
    with pytest.raises(BadInputError, match="--at"):
        run_duplex_bench(cfg, None, quick=True, talk_over_at_s=9.0)
