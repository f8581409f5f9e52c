"""The hold (bench/barge_in_hold.py: BargeInHold, Holder): Twin's reply is held at once on a fast cue from the
echo-cancelled signal (one voiced frame that keeps its energy through the canceller, at the user's
level) and let go when the endpointer's onset does not follow: a burst too short to be speech, a
residue of Twin's own voice. Measured by `twin bench duplex` and not adopted by the front end; the
scenes below are the bench's closed loop (a real canceller, the real VAD, a real recording in a real RIR).
Everything is counted in stream time (frames), never on the wall clock."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fixture_path

from bench.barge_in_hold import HOLD, BargeInHold, Holder
from pipeline.runtime.hands_free import FALSE_START_S, QUIETER_THAN_USER_DB
from voice.vad import FRAME

FRAME_S = FRAME / 16000
USER_DB = -26.0


def _steps(holder: Holder, frames: list[tuple[bool, float]], start: int = 0) -> list[str | None]:
    """Feed (cue, level dB) frames from frame `start`; what the holder said at each."""
    return [
        holder.step((start + i) * FRAME_S, cue, level, USER_DB, QUIETER_THAN_USER_DB)
        for i, (cue, level) in enumerate(frames)
    ]


def test_a_cue_holds_at_once_and_a_short_burst_is_let_go():
    holder = Holder(BargeInHold(frames=1, wait_frames=4))
    said = _steps(holder, [(False, -70.0), (True, -24.0)])
    assert said == [None, "hold"] and holder.held_at == pytest.approx(FRAME_S)
    # the burst goes on for two frames at the user's level, then the room is quiet again
    said = _steps(holder, [(False, -25.0), (False, -27.0)] + [(False, -70.0)] * 5, start=2)
    assert said[:2] == [None, None]  # sound at the user's level: still held
    assert said[2:6] == [None, None, None, "resume"]  # let go on the 4th quiet frame
    assert not holder.held


def test_a_sound_that_goes_on_is_let_go_and_does_not_hold_again_until_it_stops():
    rule = BargeInHold(frames=1, wait_frames=4, max_s=0.3)
    holder = Holder(rule)
    n = int(rule.max_s / FRAME_S) + 3
    said = _steps(holder, [(True, -24.0)] * n)
    assert said[0] == "hold"
    assert said.index("resume") == int(np.ceil(rule.max_s / FRAME_S - 1e-9))  # at max_s, not later
    assert said.count("hold") == 1  # the same sound, still on: no new hold
    said = _steps(holder, [(False, -70.0), (True, -24.0)], start=n)
    assert said == [None, "hold"]  # it stopped; a new cue holds again


def test_two_frame_cue_and_the_hand_over_to_the_barge_in():
    holder = Holder(BargeInHold(frames=2))
    assert _steps(holder, [(True, -24.0), (False, -60.0), (True, -24.0), (True, -24.0)]) == [
        None,
        None,
        None,
        "hold",
    ]
    holder.confirm()  # the endpointer started: the pause is the barge-in's from now on
    assert not holder.held
    assert _steps(holder, [(False, -70.0)] * 6, start=4) == [None] * 6  # nothing to let go


def test_the_cue_needs_playback_speech_and_energy_through_the_canceller():
    rule = BargeInHold(prob=0.5, kept_db=10.0)
    assert rule.cue(0.9, -3.0)
    assert not rule.cue(0.9, None)  # Twin is silent: nothing to hold
    assert not rule.cue(0.4, -3.0)  # not voiced enough
    assert not rule.cue(0.9, -15.0)  # the canceller took most of it: Twin's own voice
    assert BargeInHold(kept_db=None).cue(0.9, -40.0)


def test_before_the_users_first_turn_the_cue_alone_keeps_a_hold():
    holder = Holder(BargeInHold(frames=1, wait_frames=2))
    assert holder.step(0.0, True, -24.0, None, QUIETER_THAN_USER_DB) == "hold"
    assert holder.step(FRAME_S, True, -90.0, None, QUIETER_THAN_USER_DB) is None  # cue: held
    assert holder.step(2 * FRAME_S, False, -24.0, None, QUIETER_THAN_USER_DB) is None
    assert holder.step(3 * FRAME_S, False, -24.0, None, QUIETER_THAN_USER_DB) == "resume"


# -- the echo stage: the reference held back by the device's delay; the canceller's own voice after a cut


def test_the_reference_is_held_back_by_the_devices_delay_and_a_cut_drops_what_never_sounded():
    from devices.sources import InputFrame
    from pipeline.runtime.echo import EchoStage
    from tests.test_echo import _Recorder

    rec = _Recorder()
    stage = EchoStage(rec, hold_back_s=2 * FRAME_S)  # the device sounds a piece two frames late
    stage.played(np.full(4 * FRAME, 0.2, np.float32), 16000)
    silent = np.zeros(FRAME, np.float32)
    for _ in range(3):
        stage.clean(InputFrame(silent, 0.0, None))
    far = np.concatenate(rec.far)
    assert np.allclose(far[: 2 * FRAME], 0.0)  # nothing sounded yet: the canceller hears nothing
    assert np.allclose(far[2 * FRAME : 3 * FRAME], 0.2)  # then the piece, as it sounds
    stage.cut()  # the sink stops: the rest (queued in the device) never sounds
    rec.far.clear()
    for _ in range(4):
        stage.clean(InputFrame(silent, 0.0, None))
    # and the canceller never hears it (only the stage's 10 ms remainder of the frame that sounded)
    assert np.count_nonzero(np.concatenate(rec.far)) < 160
    stage.played(np.full(FRAME, 0.2, np.float32), 16000)  # after a silence: held back anew
    rec.far.clear()
    stage.clean(InputFrame(silent, 0.0, None))
    assert np.allclose(np.concatenate(rec.far), 0.0)


class _Phantom:
    """A canceller that, after the reference stops, still subtracts an echo that never came (its
    output louder than the microphone), as AEC3 does for a cut device queue."""

    def __init__(self) -> None:
        from voice.capabilities import EchoDescriptor

        self.descriptor = EchoDescriptor("phantom", 16000, 160, False)

    def reset(self) -> None:
        pass

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        return near + 0.05  # about -26 dBFS of "echo estimate" whatever the microphone heard

    def reference_resampler(self, sample_rate: int):
        from voice.echo import SoxrStream

        return SoxrStream(sample_rate, 16000)


def test_after_a_cut_the_cancellers_own_voice_is_not_taken_for_the_users():
    from devices.sources import InputFrame
    from pipeline.runtime.echo import ECHO_TAIL_S, EchoStage

    quiet = np.full(FRAME, 0.001, np.float32)  # the room: far under what the canceller gives out

    def run(after_cut: bool) -> tuple[list[bool], list[bool], float | None, bool]:
        stage = EchoStage(_Phantom(), after_cut=after_cut)
        stage.played(np.full(2 * FRAME, 0.2, np.float32), 16000)
        before = [stage.clean(InputFrame(quiet, 0.0, None)).echo_only for _ in range(2)]
        stage.cut()  # a hold: the sink stops the sound
        after = [stage.clean(InputFrame(quiet, 0.0, None)).echo_only for _ in range(4)]
        stage.played(np.full(4 * FRAME, 0.2, np.float32), 16000)  # let go within the echo tail
        stage.clean(InputFrame(quiet, 0.0, None))
        playing = stage.playing_s
        for _ in range(int(ECHO_TAIL_S / FRAME_S) + 4):
            last = stage.clean(InputFrame(quiet, 0.0, None)).echo_only
        return before, after, playing, last

    before, after, playing, last = run(after_cut=True)
    assert not any(before)  # no cut yet: louder than the microphone is not marked
    assert all(after)  # in the echo tail after the cut it is: the canceller's, not a voice
    assert playing == 0.0  # the playback after a cut settles anew
    assert not last  # past the tail: nothing is Twin's
    before, after, playing, _ = run(after_cut=False)  # the default (the live front end today)
    assert not any(after) and playing is not None and playing > 0.0


# -- the bench's closed loop: a real canceller, the real VAD, a real recording -------------------


@pytest.fixture(scope="module")
def scene_parts(components):
    from bench.duplex import REPLIES, load_rooms, synthesize

    rirs, noise, _ = load_rooms()
    return synthesize(components.tts, REPLIES[:1])[0], rirs, noise


def _run(components, scene_parts, user, hold, echo_dbfs=-30.0):
    from bench.duplex import FRONT_END_ONSET, Room, run_scene
    from pipeline.runtime.echo import EchoStage

    reply, rirs, noise = scene_parts
    room = Room(rirs[0], 0.04, echo_dbfs, noise, user_rir=rirs[1], user_dbfs=USER_DB)
    # with the hold, the reference is held back by the room's device delay (bench: less a margin)
    held = hold is not None
    stage = EchoStage(components.echo_canceller(), hold_back_s=0.02 if held else 0.0, after_cut=held)
    rate = components.tts.sample_rate
    run_scene(reply, rate, room, components.vad, 400, stage)  # a session's canceller has heard Twin
    return run_scene(
        reply, rate, room, components.vad, 400, stage, user, 2.0, 1.0, FRONT_END_ONSET, hold=hold
    )


@pytest.mark.models
def test_a_talk_over_is_held_sooner_than_the_onset_pauses_it(components, scene_parts):
    """A human recording talked over Twin's reply: with the hold, Twin's voice stops within three
    frames of audio after the user's onset (measured: 2.5); the onset alone takes longer (4.5)."""
    from voice.audio import load_audio

    user = load_audio(fixture_path("speech_to_phrase_en/wav/cancel all timers.wav")).samples
    held = _run(components, scene_parts, user, HOLD)
    paused = _run(components, scene_parts, user, None)
    print(f"\nplayed after the onset: {held.played_after_onset_s} s, unheld {paused.played_after_onset_s} s")
    assert held.barged and paused.barged and held.self_interruptions == paused.self_interruptions == 0
    assert held.played_after_onset_s is not None and paused.played_after_onset_s is not None
    assert held.played_after_onset_s <= 3 * FRAME_S + 1e-6
    assert held.played_after_onset_s < paused.played_after_onset_s
    assert held.self_holds == 0


@pytest.mark.models
def test_a_voiced_burst_too_short_for_speech_is_held_and_let_go(components, scene_parts):
    """A cough-like burst: 64 ms cut from a real recording's loudest voiced part holds the reply
    (one voiced frame) but never makes the endpointer's onset; the reply is let go once the burst
    and its reverberation have passed, and goes on."""
    from voice.audio import load_audio

    voice = load_audio(fixture_path("speech_to_phrase_en/wav/lock the Front Door.wav")).samples
    frames = voice[: len(voice) // FRAME * FRAME].reshape(-1, FRAME)
    loud = int(np.argmax(np.sum(frames**2, axis=1)))
    burst = np.concatenate([np.zeros(FRAME, np.float32), frames[loud], frames[loud + 1]])
    burst *= np.hanning(len(burst)).astype(np.float32) ** 0.25
    res = _run(components, scene_parts, burst, HOLD)
    print(f"\nholds let go {res.holds_resumed} at {res.holds_resumed_at}, barged {res.barged}")
    assert res.self_interruptions == 0
    at_burst = [
        held for at, held in zip(res.holds_resumed_at, res.holds_resumed, strict=True) if 2.0 <= at <= 2.2
    ]
    assert len(at_burst) == 1  # the burst held the reply once
    # the gap: the burst and its reverberation at the user's level, then `wait_frames` (measured: 9
    # frames); under the half second the front end calls a false start
    assert HOLD.wait_frames * FRAME_S < at_burst[0] < FALSE_START_S
    # The burst paused nothing: the reply went on for more than a second after it. On one CPU it
    # played to its end; on another (AMD EPYC) WebRTC's canceller let Twin's own voice through
    # ~1.5 s after the let-go, which started the endpointer (the bench counts that start as the
    # user's): the hold's weakness `twin bench duplex` measures ("holds begun on Twin's own echo")
    # and why the front end does not hold.
    assert not res.barged or (res.played_after_onset_s or 0.0) > 1.0
    assert res.reply_played_s > 3.0
