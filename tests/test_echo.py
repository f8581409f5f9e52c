"""Echo cancellation: Twin's own Piper voice played into a room (a real RIR from the fixtures, a
playback delay, a level) and removed from the microphone by the WebRTC canceller, before the VAD and
the endpointer (the front end's chain) decide whether anyone is speaking; a human recording talked
over the reply is still heard. The room and the closed loop are bench/duplex.py's."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from conftest import fixture_path

from devices.sinks import BufferSink
from devices.sources import InputFrame
from pipeline.runtime.echo import EchoStage
from voice.errors import AudioFormatError
from voice.vad import FRAME

REPLY = (
    "The weather today is mild with a light breeze from the west. Later this afternoon there may be a "
    "short shower, so take an umbrella if you go out."
)


@pytest.fixture(scope="module")
def reply(components) -> np.ndarray:
    from bench.duplex import synthesize

    return synthesize(components.tts, (REPLY,))[0]


@pytest.fixture(scope="module")
def room_parts():
    from bench.duplex import level, unit_energy
    from voice.audio import load_audio, read_samples

    paths = [fixture_path(f"speechbrain_samples/RIRs/rir{i}.wav") for i in (1, 2)]
    rirs = [unit_energy(read_samples(p)[0]) for p in paths]
    noise = level(
        load_audio(fixture_path("speechbrain_samples/noise/noise1.wav"), max_seconds=120).samples,
        -55.0,
        voiced_only=False,
    )
    return rirs, noise


def _scene(components, reply, room_parts, aec: bool, echo_dbfs: float, user=None, delay_s: float = 0.06):
    from bench.duplex import Room, run_scene

    rirs, noise = room_parts
    room = Room(rirs[0], delay_s, echo_dbfs, noise, user_rir=rirs[1], user_dbfs=-26.0)
    silence = 400  # the speaker profile's endpoint window
    stage = None
    if aec:  # a session's canceller has heard Twin before: one reply first, as in `twin live`
        stage = EchoStage(components.echo_canceller())
        run_scene(reply, components.tts.sample_rate, room, components.vad, silence, stage)
    return run_scene(reply, components.tts.sample_rate, room, components.vad, silence, stage, user, 2.0)


@pytest.mark.models
def test_the_canceller_removes_twins_own_voice_from_the_microphone(components, reply, room_parts):
    """Echo return loss enhancement on a real echo: measured ~22-30 dB here; the floor is 12 dB."""
    res = _scene(components, reply, room_parts, aec=True, echo_dbfs=-20.0)
    erle = 10 * np.log10(res.mic_energy / res.out_energy)
    print(f"\nERLE {erle:.1f} dB over {res.echo_frames} echo frames")
    assert res.echo_frames > 100
    assert erle > 12.0


@pytest.mark.models
def test_the_echo_alone_sets_off_barge_in_only_without_the_canceller(components, reply, room_parts):
    raw = _scene(components, reply, room_parts, aec=False, echo_dbfs=-20.0)
    clean = _scene(components, reply, room_parts, aec=True, echo_dbfs=-20.0)
    print(f"\nself-interruptions: without AEC {raw.self_interruptions}, with AEC {clean.self_interruptions}")
    assert raw.self_interruptions > 0  # the echo is loud enough to fool the VAD: the control
    assert clean.self_interruptions == 0


@pytest.mark.models
def test_a_human_talking_over_the_reply_is_still_heard(components, reply, room_parts):
    from voice.audio import load_audio

    user = load_audio(fixture_path("speech_to_phrase_en/wav/activate Mood Lighting.wav")).samples
    res = _scene(components, reply, room_parts, aec=True, echo_dbfs=-30.0, user=user)
    print(f"\nbarge-in after {res.latency_ms} ms played; self-interruptions {res.self_interruptions}")
    assert res.self_interruptions == 0
    assert res.barged and res.latency_ms is not None and res.latency_ms < 1000


# -- the reference path and bad input (no models) ----------------------------------------------------


class _Recorder:
    """A canceller that keeps what it was given (checks the stage's framing and alignment)."""

    def __init__(self) -> None:
        from voice.capabilities import EchoDescriptor

        self.descriptor = EchoDescriptor("recorder", 16000, 160, False)
        self.near: list[np.ndarray] = []
        self.far: list[np.ndarray] = []

    def reset(self) -> None:
        self.near, self.far = [], []

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        self.near.append(near.copy())
        self.far.append(far.copy())
        return near

    def reference_resampler(self, sample_rate: int):
        from voice.echo import SoxrStream

        return SoxrStream(sample_rate, 16000)


def test_the_sink_feeds_the_reference_and_a_cut_drops_it():
    rec = _Recorder()
    sink = BufferSink()
    stage = EchoStage.listen_to(sink, rec)
    sink.begin(22050)
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)).astype(np.float32)
    asyncio.run(sink.write(tone))  # one second played at the TTS rate
    assert stage.playing
    out = stage.clean(InputFrame(np.zeros(FRAME, np.float32), 0.0, None))
    assert out.samples.shape == (FRAME,)
    far = np.concatenate(rec.far)
    assert np.max(np.abs(far)) > 0.2  # the playback, resampled to 16 kHz, reached the canceller
    sink.interrupt()
    assert not stage.playing  # the sound stopped: nothing queued is fed as reference
    stage.stop_listening(sink)
    assert sink.taps == []


def test_the_stage_delays_the_stream_by_exactly_10_ms():
    rec = _Recorder()
    stage = EchoStage(rec)
    rng = np.random.default_rng(0)
    mic = rng.standard_normal(FRAME * 20).astype(np.float32) * 0.1
    out = np.concatenate(
        [stage.clean(InputFrame(mic[i * FRAME : (i + 1) * FRAME], 0.0, None)).samples for i in range(20)]
    )
    assert np.allclose(out[:160], 0.0)
    assert np.allclose(out[160:], mic[:-160])


class _Subtractor(_Recorder):
    """A canceller that takes away `kept` of the microphone's level (a perfect one: 0.0)."""

    def __init__(self, kept: float) -> None:
        super().__init__()
        self.kept = kept

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        return near * self.kept


def test_frames_of_twins_voice_alone_are_marked_and_the_users_are_not():
    """Double talk: while the reference plays (and the room's tail after), a frame the canceller
    took almost all of is Twin's voice alone; one it left (the user's voice passes) is not."""
    from pipeline.runtime.echo import DOUBLE_TALK_DB, ECHO_TAIL_S

    rng = np.random.default_rng(1)

    def run(kept: float, double_talk: float | None = DOUBLE_TALK_DB) -> list[bool]:
        stage = EchoStage(_Subtractor(kept), double_talk_db=double_talk)
        stage.played(np.full(FRAME * 10, 0.2, np.float32), 16000)  # 10 frames of playback
        mic = rng.standard_normal(FRAME).astype(np.float32) * 0.1
        return [stage.clean(InputFrame(mic, 0.0, None)).echo_only for _ in range(40)]

    residue = run(10 ** (-25 / 20))  # a residue 25 dB down: the canceller's measured figure
    tail = 10 + int(ECHO_TAIL_S * 16000 / FRAME)
    assert all(residue[:tail]) and not any(residue[tail + 1 :])
    assert not any(run(10 ** (-6 / 20)))  # the user over the echo leaves most of the energy
    assert not any(run(10 ** (-25 / 20), double_talk=None))  # the control: no check, nothing marked


def test_bad_frames_are_typed_errors():
    from voice.echo import SoxrStream, WebRtcEchoCanceller

    aec = WebRtcEchoCanceller()
    with pytest.raises(AudioFormatError, match="160"):
        aec.process(np.zeros(441, np.float32), np.zeros(160, np.float32))  # 10 ms at 44.1 kHz
    with pytest.raises(AudioFormatError, match="float"):
        aec.process(np.zeros(160, np.int16), np.zeros(160, np.int16))
    with pytest.raises(AudioFormatError, match="512"):
        EchoStage(aec).clean(InputFrame(np.zeros(480, np.float32), 0.0, None))  # 30 ms at 16 kHz
    with pytest.raises(AudioFormatError, match="Hz"):
        SoxrStream(0, 16000)
    ok = aec.process(np.zeros(160, np.float32), np.zeros(160, np.float32))
    assert ok.shape == (160,) and ok.dtype == np.float32


def test_full_duplex_is_the_speaker_profiles_default():
    from devices.profiles import PROFILES

    assert PROFILES["speaker"].full_duplex
    assert not PROFILES["car"].full_duplex


def test_the_stage_measures_what_the_canceller_left_of_each_frame():
    """`kept_db`: the share of a frame's energy the canceller left while Twin sounds (None when it is
    silent), what the barge-in onset reads: Twin's residue far down, the user's voice near 0 dB."""
    from pipeline.runtime.echo import ECHO_TAIL_S

    rng = np.random.default_rng(2)

    def kept(left: float) -> list[float | None]:
        stage = EchoStage(_Subtractor(left))
        stage.played(np.full(FRAME * 10, 0.2, np.float32), 16000)  # 10 frames of playback
        mic = rng.standard_normal(FRAME).astype(np.float32) * 0.1
        out = []
        for _ in range(40):
            stage.clean(InputFrame(mic, 0.0, None))
            out.append(stage.kept_db)
        return out

    residue = kept(10 ** (-25 / 20))
    assert all(abs(db + 25) < 1 for db in residue[1:10])  # (the first frame holds the 10 ms delay)
    tail = 10 + int(ECHO_TAIL_S * 16000 / FRAME)
    assert all(db is None for db in residue[tail + 1 :])  # Twin silent: nothing to measure
    assert all(abs(db + 6) < 1 for db in kept(10 ** (-6 / 20))[1:10])  # the user's voice passes


def test_a_barge_in_begins_only_on_frames_near_the_users_level():
    """hands_free.BargeInOnset: over Twin's reply a frame counts towards the onset with its VAD
    probability only when it is not far quieter than the user's last turn (a residue of Twin's voice
    then never opens an utterance that the user's own words would only extend) and, with `kept_db`
    (the faster onset, not the default), when the canceller left most of it."""
    from pipeline.runtime.hands_free import FAST_ONSET, QUIETER_THAN_USER_DB, BargeInOnset

    rule = BargeInOnset()
    voice = (0.05 * np.sin(np.arange(FRAME) * 0.3)).astype(np.float32)  # about -29 dBFS
    assert rule.prob(0.9, -3.0, voice, user_db=-26.0) == 0.9
    residue = voice * 10 ** (-(QUIETER_THAN_USER_DB + 10) / 20)
    assert rule.prob(0.9, -30.0, residue, user_db=-26.0) == 0.0  # far under the user: Twin's residue
    assert rule.prob(0.9, -30.0, residue, user_db=None) == 0.9  # no turn yet: no level to compare
    assert rule.prob(0.9, None) == 0.9  # nothing to measure: the VAD alone
    assert FAST_ONSET.prob(0.9, -FAST_ONSET.kept_db - 5, voice, -26.0) == 0.0  # the canceller took it
    assert FAST_ONSET.prob(0.9, -FAST_ONSET.kept_db + 5, voice, -26.0) == 0.9


def test_the_duplex_bench_splits_its_cases_and_aligns_its_rooms():
    """bench/duplex.py: a seeded DEV/TEST split, the same every run and disjoint; a measured RIR
    starts at its direct path (rir1's 137 ms of leading silence would add to every barge-in)."""
    from bench.duplex import direct_path_first, split
    from voice.audio import read_samples

    names = [f"r{i}" for i in range(18)]
    dev, test = split(names)
    assert dev == split(list(reversed(names)))[0] and not dev & test and len(dev) == len(test) == 9
    rir = read_samples(fixture_path("speechbrain_samples/RIRs/rir1.wav"))[0]
    trimmed = direct_path_first(rir)
    assert len(rir) - len(trimmed) > 0.1 * 16000  # over 100 ms of leading silence dropped
    assert np.argmax(np.abs(trimmed)) < 0.005 * 16000  # the direct path within 5 ms of the start


@pytest.mark.models
def test_the_duplex_bench_finds_a_short_words_onset_and_none_in_a_sound(components):
    """The user's onset in the bench: "pause" has two voiced frames, not the three of a run (it was
    put at the file's start, 0.6 s early); oov_2 has no speech at all (a sound, counted apart)."""
    from bench.duplex import _onset_s
    from voice.audio import load_audio

    pause = load_audio(fixture_path("speech_to_phrase_en/wav/pause.wav")).samples
    onset = _onset_s(components.vad, pause)
    assert onset is not None and 0.3 < onset < 1.0
    sound = load_audio(fixture_path("speech_to_phrase_en/wav/oov_2.wav")).samples
    assert _onset_s(components.vad, sound) is None
