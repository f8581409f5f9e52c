"""Speaker identity on real recordings: enrol on some utterances, identify the rest, abstain on
unknown voices, refuse bad enrolment clips, and never take Twin's own voice for a person."""

from __future__ import annotations

import json
import stat

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import fixture_path

pytestmark = pytest.mark.models


def _utt(speaker: int, n: int):
    from voice.audio import load_audio

    return load_audio(fixture_path(f"speechbrain_samples/ASR/spk{speaker}_snt{n}.wav"))


@pytest.fixture(scope="session")
def embedder():
    from voice.speakers import ResemblyzerEmbedder

    return ResemblyzerEmbedder()


@pytest.fixture(scope="session")
def twin_refs(components, embedder):
    from voice.speakers import twin_voice_references

    return twin_voice_references(components.tts, embedder)


@pytest.fixture(scope="module")
def registry(tmp_path_factory, embedder, twin_refs):
    from voice.speakers import SpeakerRegistry

    reg = SpeakerRegistry(tmp_path_factory.mktemp("speakers"), embedder, twin_refs)
    reg.enroll("Anna", [_utt(1, n) for n in (1, 2, 3)])
    reg.enroll("Ben", [_utt(2, n) for n in (1, 2, 3)])
    return reg


@pytest.fixture(scope="module")
def stereo():
    from voice.audio import AudioClip

    data, rate = sf.read(fixture_path("faster_whisper_tests/stereo_diarization.wav"), dtype="float32")
    assert rate == 16_000
    return [AudioClip(np.ascontiguousarray(data[:, ch]), rate, f"stereo ch{ch}") for ch in (0, 1)]


def test_identifies_held_out_utterances(registry):
    for speaker, name in ((1, "Anna"), (2, "Ben")):
        for n in (4, 5, 6):
            match = registry.identify(_utt(speaker, n))
            assert match.name == name, (speaker, n, match)
            assert match.score >= registry.get(name).threshold


def test_thresholds_come_from_enrolment_data(registry):
    anna, ben = registry.get("Anna"), registry.get("Ben")
    assert anna.threshold != ben.threshold
    cross = float(anna.centroid @ ben.centroid)
    assert cross < min(anna.threshold, ben.threshold)


def test_unknown_voices_abstain(registry, stereo):
    for clip in stereo:
        match = registry.identify(clip)
        assert match.name == "unknown", match


def test_verify_accepts_owner_and_rejects_others(registry, stereo, synth):
    assert registry.verify("Anna", _utt(1, 5)).accepted
    assert not registry.verify("Anna", _utt(2, 5)).accepted
    assert not registry.verify("Ben", stereo[0]).accepted
    fake = registry.verify("Anna", synth("Please unlock the front door and read me my messages."))
    assert not fake.accepted and fake.synthetic


def test_twin_voice_is_never_identified(registry, synth):
    clip = synth("Hello, this is Anna speaking. Please transfer the money now.")
    assert registry.identify(clip).name == "unknown"


def test_enrolment_refusals(tmp_path, embedder, twin_refs, stereo, synth):
    from voice.audio import AudioClip
    from voice.speakers import (
        EnrolNoSpeechError,
        EnrolSyntheticVoiceError,
        EnrolTooShortError,
        EnrolTwoVoicesError,
        SpeakerRegistry,
    )

    reg = SpeakerRegistry(tmp_path, embedder, twin_refs)
    noise = np.random.default_rng(0).normal(0, 1e-5, 48_000).astype(np.float32)
    with pytest.raises(EnrolNoSpeechError) as err:
        reg.enroll("Cara", [AudioClip(np.zeros(48_000, np.float32)), _utt(1, 1)])
    assert err.value.code == "enrol_no_speech" and err.value.hint
    with pytest.raises(EnrolNoSpeechError):
        reg.enroll("Cara", [AudioClip(noise)])
    with pytest.raises(EnrolTooShortError) as err:
        reg.enroll("Cara", [_utt(2, 1).slice(0, 0.9), _utt(2, 2)])
    assert "1 s" in err.value.message
    two = AudioClip(np.concatenate([_utt(1, 1).samples, _utt(2, 2).samples]), 16_000, "two.wav")
    with pytest.raises(EnrolTwoVoicesError):
        reg.enroll("Cara", [two])
    mixed = AudioClip(stereo[0].samples + stereo[1].samples, 16_000, "stereo mixed down")
    with pytest.raises(EnrolTwoVoicesError):
        reg.enroll("Cara", [mixed])
    with pytest.raises(EnrolSyntheticVoiceError) as err:
        reg.enroll("Twin", [synth("This is my voice, my name is Twin."), synth("I would like to enrol now.")])
    assert err.value.code == "enrol_synthetic_voice"
    assert reg.names() == []  # nothing half-enrolled


def test_storage_reenrol_remove_and_corrupt_file(tmp_path, embedder, twin_refs):
    from voice.speakers import SpeakerRegistry, UnknownSpeakerError

    reg = SpeakerRegistry(tmp_path / "speakers", embedder, twin_refs)
    reg.enroll("Anna", [_utt(1, 1), _utt(1, 2)])
    reg.enroll("Ben", [_utt(2, 1), _utt(2, 2)])
    path = tmp_path / "speakers" / "anna.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "speakers").stat().st_mode) == 0o700
    first = json.loads(path.read_text())
    reg.enroll("anna", [_utt(1, 3), _utt(1, 4), _utt(1, 5)])  # re-enrol, same person, new clips
    again = json.loads(path.read_text())
    assert len(again["embeddings"]) == 3 and again["created"] == first["created"]
    (tmp_path / "speakers" / "zoe.json").write_text("{not json")
    fresh = SpeakerRegistry(tmp_path / "speakers", embedder, twin_refs)
    assert fresh.names() == ["Ben", "anna"]
    assert fresh.skipped and fresh.skipped[0].endswith("zoe.json")
    assert fresh.identify(_utt(2, 5)).name == "Ben"
    fresh.remove("BEN")
    assert fresh.names() == ["anna"] and not (tmp_path / "speakers" / "ben.json").exists()
    with pytest.raises(UnknownSpeakerError):
        fresh.remove("Ben")


def test_calibration_unit():
    """Tight enrolment gives a high threshold; a near impostor pushes it up."""
    from voice.speakers import calibrate_threshold, two_voice_score

    rng = np.random.default_rng(1)
    base = rng.normal(size=64)
    tight = [base + rng.normal(scale=0.2, size=64) for _ in range(4)]
    loose = [base + rng.normal(scale=0.8, size=64) for _ in range(4)]
    assert calibrate_threshold(tight, []) > calibrate_threshold(loose, [])
    near = base + rng.normal(scale=0.9, size=64)
    assert calibrate_threshold(loose, [near]) >= calibrate_threshold(loose, [])
    a, b = rng.normal(size=64), rng.normal(size=64)
    one = np.stack([v / np.linalg.norm(v) for v in (a + rng.normal(scale=0.1, size=64) for _ in range(6))])
    two = np.concatenate([one[:3], np.stack([b / np.linalg.norm(b)] * 3)])
    assert two_voice_score(one) < 0.1 < two_voice_score(two)
