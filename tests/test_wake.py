"""The acoustic wake word on real audio: said by voices other than Twin's own (Debian's espeak-ng, in
several accents and speeds) it is heard; real recordings of ordinary speech never wake it."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, espeak_samples, fixture_path

from voice.audio import SAMPLE_RATE, load_audio
from voice.vad import FRAME

# espeak-ng voices: accents and a female and two male variants, none of them Twin's Piper voice
VOICES = ("en-us", "en-gb", "en+m3", "en-029", "en+m7", "en-gb-x-rp", "en-gb-scotland")
SPEEDS = (140, 160)


def espeak(text: str, voice: str, speed: int, folder: Path) -> np.ndarray:
    return espeak_samples(text, folder, voice, speed)


def frames(samples: np.ndarray, lead_s: float = 0.5, tail_s: float = 1.0):
    pad = [np.zeros(int(s * SAMPLE_RATE), np.float32) for s in (lead_s, tail_s)]
    stream = np.concatenate([pad[0], samples.astype(np.float32), pad[1]])
    n = len(stream) // FRAME
    return stream[: n * FRAME].reshape(n, FRAME)


def detections(detector, samples: np.ndarray) -> list[float]:
    """Positions (s) where the detector fired over a whole stream."""
    detector.reset()
    return [i * FRAME / SAMPLE_RATE for i, f in enumerate(frames(samples)) if detector.detect(f)]


@pytest.fixture(scope="module")
def okay_nabu():
    from voice.wake import MicroWakeWordDetector

    return MicroWakeWordDetector("okay_nabu")


@pytest.fixture(scope="module")
def hey_jarvis():
    from voice.wake import MicroWakeWordDetector

    return MicroWakeWordDetector("hey_jarvis")


def test_wake_word_is_heard_in_other_voices(okay_nabu, tmp_path):
    heard = {}
    for voice in VOICES:
        for speed in SPEEDS:
            audio = espeak("okay nabu", voice, speed, tmp_path)
            heard[(voice, speed)] = detections(okay_nabu, audio)
    hits = sum(1 for found in heard.values() if found)
    print(f"\nokay_nabu heard in {hits}/{len(heard)} espeak-ng voices: {heard}")
    assert hits >= 0.9 * len(heard)
    assert all(len(found) <= 1 for found in heard.values())  # once per utterance of the word


def test_wake_word_before_a_request_fires_at_its_end(okay_nabu, tmp_path):
    """The detector fires right after the wake word, before the request that follows it."""
    wake = espeak("okay nabu", "en-us", 150, tmp_path)
    request = espeak("what time is it", "en-us", 150, tmp_path)
    gap = np.zeros(int(0.3 * SAMPLE_RATE), np.float32)
    found = detections(okay_nabu, np.concatenate([wake, gap, request]))
    assert len(found) == 1
    wake_end = 0.5 + len(wake) / SAMPLE_RATE
    assert wake_end - 0.6 <= found[0] <= wake_end + 0.3 + 0.2


def test_another_wake_word_is_not_this_one(okay_nabu, hey_jarvis, tmp_path):
    for voice in VOICES[:3]:
        assert detections(okay_nabu, espeak("hey jarvis", voice, 150, tmp_path)) == []
        assert detections(hey_jarvis, espeak("okay nabu", voice, 150, tmp_path)) == []


def _recordings() -> list[Path]:
    files = sorted((FIXTURES / "speech_to_phrase_en" / "wav").glob("*.wav"))
    files += sorted((FIXTURES / "speechbrain_samples" / "ASR").glob("*.wav"))
    files += [FIXTURES / "faster_whisper_tests" / "jfk.flac", FIXTURES / "silero_vad_tests" / "test.wav"]
    return files


def test_ordinary_speech_never_wakes_it(okay_nabu, hey_jarvis):
    fixture_path("speech_to_phrase_en/wav")
    total = 0.0
    spent = 0.0
    n_frames = 0
    for f in _recordings():
        audio = load_audio(f).samples
        total += len(audio) / SAMPLE_RATE
        for detector in (okay_nabu, hey_jarvis):
            t0 = time.perf_counter()
            found = detections(detector, audio)
            spent += time.perf_counter() - t0
            n_frames += len(frames(audio))
            assert found == [], f"{detector.descriptor.name} woke on {f.name} at {found}"
    print(f"\n{total:.0f} s of real speech, no false wake; {spent / n_frames * 1000:.3f} ms per 32 ms frame")
    assert total > 120  # the negatives are minutes of speech, not a token clip


def test_models_and_their_licences():
    from voice.wake import BUILTIN, DEFAULT_WAKE_WORD, MicroWakeWordDetector, WakeWordError

    assert DEFAULT_WAKE_WORD == "okay_nabu" and DEFAULT_WAKE_WORD != "alexa"
    for name in BUILTIN:
        d = MicroWakeWordDetector(name).descriptor
        assert d.licence.startswith("Apache-2.0") and d.local and "en" in d.languages
    with pytest.raises(WakeWordError) as err:
        MicroWakeWordDetector("hey_computer")
    assert "okay_nabu" in err.value.hint


def test_the_bench_reads_what_any_cutoff_would_do_from_one_trace(okay_nabu, tmp_path):
    """`twin bench wake` traces each stream once and reads any cutoff's fires from the trace
    (bench/wake.py, `fires_at`): at the detector's own cutoff they are exactly the detector's, the
    refractory time included; a lower cutoff fires at least as often; near-miss fires are put on the
    phrase they fell in."""
    from bench.wake import _which, fires_at, frames_of, trace

    wake = espeak("okay nabu", "en-us", 150, tmp_path)
    gap = [np.zeros(int(s * SAMPLE_RATE), np.float32) for s in (0.5, 3.0, 0.0)]
    stream = np.concatenate([gap[0], wake, gap[1], wake, gap[2], wake, gap[1]])
    okay_nabu.reset()
    fired = [i * FRAME / SAMPLE_RATE for i, f in enumerate(frames_of(stream)) if okay_nabu.detect(f)]
    peaks = trace(okay_nabu, stream)
    assert len(fired) >= 2, fired
    assert fires_at(peaks, okay_nabu.cutoff) == fired  # the detector's own decisions, refractory included
    assert len(fires_at(peaks, okay_nabu.cutoff - 0.3)) >= len(fired)
    assert fires_at(peaks, 1.0) == []
    # the refractory time (1.5 s = 46.9 frames): a second peak 30 frames on is not a fire, 60 on is
    spikes = np.zeros(200, np.float32)
    spikes[[10, 40, 100]] = 0.99
    assert fires_at(spikes, 0.5) == [10 * FRAME / SAMPLE_RATE, 100 * FRAME / SAMPLE_RATE]
    assert _which([0.2, 2.5, 2.6, 9.0], [(0.0, "okay, now"), (2.0, "oh, a cabana")]) == {
        "okay, now": 1,
        "oh, a cabana": 3,
    }


def test_a_rise_under_the_cutoff_is_looked_at_once_after_its_peak_and_never_after_a_fire():
    """The second look's timing (voice/wake.py: `SecondLook`): a rise over `look_from` is looked at
    `after_frames` frames after its highest frame, with the last `keep_s` seconds of audio; a rise
    while the detector fired or rests is not; after a confirmed look, the same utterance is not
    looked at again."""
    from voice.wake import SecondLook

    look = SecondLook(look_from=0.1, confirm_at=0.5, keep_s=1.0, after_frames=3, check=lambda x, p: 0.9)
    frame = np.ones(FRAME, np.float32)
    scores = [0.0, 0.05, 0.2, 0.6, 0.4, 0.1, 0.0, 0.0, 0.0]  # peak at frame 3, looked at frame 6
    looked = [i for i, s in enumerate(scores) if look.push(frame * i, s, sure=False) is not None]
    assert looked == [6]
    look.reset()
    windows = [look.push(frame * i, s, sure=False) for i, s in enumerate([0.0] * 40 + scores)]
    window = next(w for w in windows if w is not None)
    assert len(window) == SAMPLE_RATE and window[-1] == 46.0  # the last second, up to the look's frame
    look.reset()
    assert all(look.push(frame, s, sure=True) is None for s in scores)  # the model fired: no look
    look.reset()
    for s in scores[:7]:
        w = look.push(frame, s, sure=False)
    assert w is not None and look.confirms(w, "okay nabu") == (True, 0.9)
    assert all(look.push(frame, s, sure=False) is None for s in scores)  # the same utterance
    low = SecondLook(look_from=0.1, confirm_at=0.95, after_frames=3, check=lambda x, p: 0.9)
    for s in scores[:7]:
        w = low.push(frame, s, sure=False)
    assert w is not None and low.confirms(w, "okay nabu") == (False, 0.9)
    assert [i for i, s in enumerate(scores) if low.push(frame, s, sure=False) is not None] == [6]


def test_the_bench_takes_the_same_second_looks_as_the_live_gate(okay_nabu, tmp_path):
    """`twin bench wake` replays the second look over a trace (bench/wake.py: `second_looks`); it
    wakes where the live gate (`WakeGate.hear` then `look_again`) does. The check here confirms
    every look, so only where looks are taken is compared (the ASR's answer is the live tests')."""
    import asyncio

    from bench.wake import fires_at, frames_of, second_looks, trace
    from pipeline.runtime.hands_free import WakeGate
    from voice.wake import SecondLook

    gap = np.zeros(int(1.0 * SAMPLE_RATE), np.float32)
    stream = np.concatenate(
        [
            gap,
            espeak("okay, now", "en-us+f3", 150, tmp_path),  # a rise under the cutoff
            gap,
            espeak("okay nabu", "en-us", 150, tmp_path),  # a fire
            gap,
            espeak("okay nabu", "en-gb-x-gbclan+f2", 150, tmp_path),  # a rise under the cutoff
            gap,
        ]
    )
    peaks = trace(okay_nabu, stream)
    cutoff = okay_nabu.cutoff
    costs: list[float] = []
    benched = second_looks(stream, peaks, cutoff, SecondLook(check=lambda x, p: 1.0), "Okay Nabu", costs)
    assert len(benched) == len(costs) == 2 and len(fires_at(peaks, cutoff)) == 1

    async def live() -> list[tuple[float, bool]]:
        gate = WakeGate(okay_nabu, second_look=SecondLook(check=lambda x, p: 1.0))
        gate.reset()

        async def run(fn, *args):
            return fn(*args)

        for i, frame in enumerate(frames_of(stream)):
            if not gate.hear(frame, i * FRAME / SAMPLE_RATE) and gate.unsure is not None:
                await gate.look_again(run)
        return [(e["position_s"], "second_look" in e) for e in gate.log.events if e["event"] == "wake"]

    woke = asyncio.run(live())
    assert [t for t, looked in woke if looked] == benched
    assert [t for t, looked in woke if not looked] == fires_at(peaks, cutoff)


def test_a_second_look_that_fails_leaves_the_model_to_decide_and_says_so(okay_nabu):
    """The ASR failing under the second look (a model error, memory): no wake, a logged
    `second_look_failed` naming the error, and the gate keeps listening."""
    import asyncio

    from pipeline.runtime.hands_free import WakeGate
    from voice.wake import SecondLook

    def broken(samples, phrase):
        raise RuntimeError("the ASR worker is gone")

    gate = WakeGate(okay_nabu, second_look=SecondLook(check=broken))
    gate.reset()
    gate.unsure = np.zeros(SAMPLE_RATE, np.float32)

    async def run(fn, *args):
        return fn(*args)

    assert asyncio.run(gate.look_again(run)) is False
    assert gate.log.events[-1]["event"] == "second_look_failed"
    assert "the ASR worker is gone" in gate.log.events[-1]["error"]
    assert gate.unsure is None and not gate.is_open()


def test_the_bench_hears_what_the_echo_stage_gives_the_detector():
    """`twin bench wake --suppress-noise` puts each clip through the echo stage's noise suppression
    with nothing playing: the same length, and steady noise is brought down once it has settled."""
    from bench.wake import suppressed

    rng = np.random.default_rng(0)
    hiss = (rng.standard_normal(3 * SAMPLE_RATE) * 0.01).astype(np.float32)
    out = suppressed(hiss)
    assert len(out) == len(hiss) and out.dtype == np.float32
    late = slice(2 * SAMPLE_RATE, None)
    assert np.sqrt(np.mean(out[late] ** 2)) < 0.5 * np.sqrt(np.mean(hiss[late] ** 2))
