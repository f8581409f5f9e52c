"""Arousal for a voice Twin has never met: the spectral centroid (a gain-free cue of vocal effort)
and `twin bench emotion`'s reading of real acted-speech folders."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import fixture_path

from tests.test_cli import _wav, twin


def _tone(hz: float, seconds: float = 1.0, rate: int = 16_000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_centroid_follows_the_spectrum_and_ignores_gain():
    from voice.emotion.prosody import spectral_centroid

    assert abs(spectral_centroid(_tone(500), 16_000) - 500) < 20
    assert abs(spectral_centroid(_tone(2000), 16_000) - 2000) < 20
    two = _tone(500) + _tone(1500)
    assert abs(spectral_centroid(two, 16_000) - 1000) < 30  # equal power: halfway
    assert spectral_centroid(two, 16_000) == pytest.approx(spectral_centroid(0.05 * two, 16_000), rel=1e-3)
    assert abs(spectral_centroid(_tone(6000), 16_000) - 4000) < 1000 or math.isnan(
        spectral_centroid(_tone(6000), 16_000)
    )  # above the 4 kHz band: nothing of it is counted as brightness below
    assert math.isnan(spectral_centroid(np.zeros(100, np.float32), 16_000))  # shorter than a frame


def test_a_brighter_real_voice_reads_as_more_aroused_whatever_its_level():
    """jfk.flac, and the same speech with its upper harmonics lifted (first-difference emphasis, as
    effort does): for a voice with no baseline the brighter one is more aroused, and turning either
    down by 20 dB changes nothing (loudness is not judged without a baseline)."""
    from voice.audio import AudioClip, load_audio
    from voice.emotion import ProsodyEmotionEstimator, prosody_features

    clip = load_audio(fixture_path("faster_whisper_tests/jfk.flac"))
    x = clip.samples
    bright = np.clip(np.append(x[:1], x[1:] - 0.9 * x[:-1]) * 3.0, -1, 1).astype(np.float32)
    text = "And so my fellow Americans ask not what your country can do for you"
    est = ProsodyEmotionEstimator()
    plain_f = prosody_features(clip, text)
    bright_f = prosody_features(AudioClip(bright), text)
    assert bright_f.centroid_hz > plain_f.centroid_hz + 150
    plain = est.estimate_from(plain_f, text, None).arousal
    brighter = est.estimate_from(bright_f, text, None).arousal
    assert brighter > plain + 0.2
    quiet_f = prosody_features(AudioClip((0.1 * x).astype(np.float32)), text)
    assert quiet_f.energy_db < plain_f.energy_db - 15
    assert est.estimate_from(quiet_f, text, None).arousal == pytest.approx(plain, abs=0.02)


def test_enrolled_baseline_keeps_the_centroid():
    from voice.audio import load_audio
    from voice.emotion import baseline_from, prosody_features

    clips = [load_audio(fixture_path(f"speechbrain_samples/ASR/spk1_snt{n}.wav")) for n in (1, 2, 3)]
    baseline = baseline_from([prosody_features(c) for c in clips])
    assert 150 < baseline["centroid_hz"] < 2000 and "energy_db" in baseline


def _put(path, voice: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _wav(path, voice)


def _ravdess_and_tess(root, voice: np.ndarray):
    """A folder named as RAVDESS and TESS name their files (the audio is a fixture voice: these
    tests check the reading of the layout, not the figures)."""
    for actor in (1, 13):
        for emotion, take in (("01", "01"), ("01", "02"), ("02", "01"), ("05", "01"), ("07", "01")):
            for statement in ("01", "02"):
                name = f"03-01-{emotion}-01-{statement}-{take}-{actor:02d}.wav"
                _put(root / "rav" / f"Actor_{actor:02d}" / name, voice)
    for emotion in ("neutral", "angry", "Sad", "ps"):
        for word in ("back", "bath", "bean"):
            _put(root / "tess" / f"YAF_{emotion}" / f"YAF_{word}_{emotion}.wav", voice)


def test_bench_reads_ravdess_and_tess_layouts(tmp_path):
    from bench.emotion import find_clips
    from models.errors import BadInputError

    voice = np.zeros(16_000, np.float32)
    _ravdess_and_tess(tmp_path, voice)
    rav = find_clips(tmp_path / "rav")
    assert len(rav) == 20
    first = [c for c in rav if c.speaker == "ravdess-01"]
    assert {c.split for c in first} == {"DEV"} and {c.split for c in rav if c.speaker == "ravdess-13"} == {
        "TEST"
    }
    enrol = [c for c in first if c.enrol]
    assert len(enrol) == 2 and {c.emotion for c in enrol} == {"neutral"}  # first take, both statements
    assert {c.emotion for c in first} == {"neutral", "calm", "angry", "disgust"}
    assert {c.script for c in first} == {"Kids are talking by the door", "Dogs are sitting by the door"}
    tess = find_clips(tmp_path / "tess")
    assert {c.emotion for c in tess} == {"neutral", "angry", "sad", "surprised"}
    assert {c.split for c in tess} == {"TEST"} and sum(c.enrol for c in tess) == 2
    assert all(c.emotion == "neutral" for c in tess if c.enrol)
    _put(tmp_path / "other" / "hello.wav", voice)
    with pytest.raises(BadInputError, match="no RAVDESS or TESS"):
        find_clips(tmp_path / "other")
    with pytest.raises(BadInputError, match="not a folder"):
        find_clips(tmp_path / "missing")


@pytest.mark.models
def test_bench_emotion_runs_on_a_folder_and_refuses_none(tmp_path, monkeypatch):
    from voice.audio import load_audio

    voice = load_audio(fixture_path("speechbrain_samples/ASR/spk1_snt1.wav")).samples
    _ravdess_and_tess(tmp_path, voice)
    out = tmp_path / "emotion.json"
    data = tmp_path / "data"
    r = twin(
        "bench", "emotion", "--data", str(tmp_path / "rav"), "--no-noise", "--json", str(out), data_dir=data
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(out.read_text())
    rows = {(x["split"], x["voice"], x["rule"]): x for x in summary["results"]}
    splits, voices, rules = ("DEV RAVDESS", "TEST RAVDESS"), ("unknown", "enrolled"), ("before", "now")
    assert set(rows) == {(s, v, r) for s in splits for v in voices for r in rules}
    # one voice for every label: the scores cannot tell high from low, and disgust is left out
    dev = rows[("DEV RAVDESS", "unknown", "now")]
    # 10 clips: 2 disgust left out, 2 enrolment clips scored in neither way (the same clips for both)
    assert dev["auc"] == 0.5 and dev["clips"] == 6
    assert rows[("DEV RAVDESS", "enrolled", "now")]["clips"] == 6
    assert "| DEV RAVDESS (1 speakers) | clean | unknown | now | 0.500 |" in r.stdout

    monkeypatch.delenv("TWIN_EMOTION_DATA", raising=False)
    r = twin("bench", "emotion", data_dir=data)
    assert r.returncode == 2 and "error [bad_input]" in r.stderr and "--data" in r.stderr
