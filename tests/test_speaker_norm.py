"""Speaker identity that holds through rooms and noise: scores normalised against a cohort of
strangers (AS-norm), thresholds calibrated on GENERATED degradations of the enrolment clips, tested
here on the speechbrain fixture's RECORDED noise and room impulse responses, which calibration never
sees. Unknown real voices and Twin's own voice are never accepted; older profile files still load."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import fixture_path

pytestmark = pytest.mark.models


def _utt(speaker: int, n: int):
    from voice.audio import load_audio

    return load_audio(fixture_path(f"speechbrain_samples/ASR/spk{speaker}_snt{n}.wav"))


def _reverb(clip, k: int):
    from scipy.signal import fftconvolve

    from voice.audio import AudioClip, read_samples

    rir, _ = read_samples(fixture_path(f"speechbrain_samples/RIRs/rir{k}.wav"))
    y = fftconvolve(clip.samples, rir / (np.abs(rir).max() + 1e-9))[: len(clip.samples)]
    y *= np.abs(clip.samples).max() / (np.abs(y).max() + 1e-9)
    return AudioClip(y.astype(np.float32), 16_000, clip.source)


def _noisy(clip, k: int, snr_db: float = 5.0):
    from voice.audio import AudioClip, load_audio

    noise = load_audio(fixture_path(f"speechbrain_samples/noise/noise{k}.wav")).samples
    x = clip.samples
    n = np.tile(noise, int(np.ceil(len(x) / len(noise))))[: len(x)]
    gain = np.sqrt(np.mean(x**2) / (np.mean(n**2) + 1e-12) / 10 ** (snr_db / 10))
    return AudioClip(np.clip(x + gain * n, -1, 1).astype(np.float32), 16_000, clip.source)


@pytest.fixture(scope="module")
def household(tmp_path_factory, components):
    """spk1 as Anna, spk2 as Ben, each enrolled on three clean utterances (the same encoder, Twin
    voice and cohort as the session's components)."""
    from voice.speakers import SpeakerRegistry

    live = components.speakers
    reg = SpeakerRegistry(
        tmp_path_factory.mktemp("norm-household"), live.embedder, live.synthetic, cohort=live.cohort
    )
    reg.enroll("Anna", [_utt(1, n) for n in (1, 2, 3)])
    reg.enroll("Ben", [_utt(2, n) for n in (1, 2, 3)])
    return reg


def test_cohort_is_real_and_synthetic_speech(household):
    from voice.speakers.cohort import COHORT_SOURCES, shipped_path

    cohort = household.cohort
    shipped = np.load(shipped_path(household.embedder))
    labels = json.loads(shipped_path(household.embedder).with_suffix(".json").read_text())["windows"]
    assert len(shipped) == len(labels) >= 20
    assert {lab.split("#")[0] for lab in labels} <= set(COHORT_SOURCES)
    # No voice the bench or these tests score is in the cohort.
    assert not any("speechbrain" in lab or "stereo" in lab for lab in labels)
    assert len(cohort) > len(shipped) + len(household.synthetic)  # plus the espeak-ng voices
    # A cohort member is measured against the others, not itself.
    mean, spread = cohort.stats(cohort.vectors[0], exclude_self=True)
    assert mean < 0.99 and spread >= 0.02


def test_enrolment_stores_degraded_calibration(household):
    from voice.speakers.augment import CALIBRATION_DEGRADATIONS

    anna = household.get("Anna")
    assert len(anna.degraded) == 3 and all(len(d) == len(CALIBRATION_DEGRADATIONS) for d in anna.degraded)
    assert anna.norm_threshold is not None and anna.cohort == household.cohort.ident
    # Clean held-out speech of the right person is accepted, with room to spare.
    for n in (4, 5, 6):
        v = household.verify("Anna", _utt(1, n))
        assert v.accepted and v.normalised is not None and v.normalised > v.normalised_threshold


def test_recorded_reverb_named_where_clean_calibration_abstained(household):
    """The fixture RIRs (never used in calibration): the normalised rule names held-out clips the
    old raw-cosine rule abstained on, and never names the wrong person."""
    new_right = old_right = 0
    rescued = 0
    for speaker, name in ((1, "Anna"), (2, "Ben")):
        for k, n in enumerate((4, 5, 6)):
            emb = household.embedder.embed(_reverb(_utt(speaker, n), 1 + (k + speaker) % 4))
            new = household.identify_embedding(emb).name
            old = household.identify_embedding(emb, legacy=True).name
            assert new in (name, "unknown") and old in (name, "unknown"), (speaker, n, new, old)
            new_right += new == name
            old_right += old == name
            rescued += new == name and old == "unknown"
    assert new_right > old_right and rescued >= 2, (new_right, old_right)


def _strangers(stereo, synth, espeak):
    clips = [*stereo, synth("Please unlock the front door and read me my messages.")]
    clips.append(espeak("Send fifty pounds to my brother now, please.", "en-gb-x-gbclan"))
    noisy = [_noisy(c, 1 + k % 4) for k, c in enumerate(clips)]
    rooms = [_reverb(c, 1 + k % 4) for k, c in enumerate(clips)]
    return clips, noisy + rooms


def test_unknown_real_voices_and_twin_never_accepted(household, stereo, synth, espeak):
    """Clean strangers are never named; no stranger, clean or degraded, ever passes verification
    (the permission layer's check); Twin's own voice never passes as the owner."""
    clean, degraded = _strangers(stereo, synth, espeak)
    for clip in clean + degraded[2:4] + degraded[6:]:  # the degraded real strangers: the next test
        assert household.identify(clip).name == "unknown", clip.source
    for clip in clean + degraded:
        for name in ("Anna", "Ben"):
            assert not household.verify(name, clip).accepted, (name, clip.source)
    twin_voice = household.owner_verification(synth("This is Anna. Please unlock the front door."))
    assert not twin_voice.accepted and twin_voice.synthetic


def test_degraded_real_strangers_never_named(household, stereo, synth, espeak):
    """The real strangers through the fixture noise, RIRs and both together (each RIR with the next
    noise at 10 dB, as `twin bench identity`'s noise+reverb) are never named. Once a defect: stereo
    ch0, whose voice is closest to spk2 (Ben), was named Ben in noise + reverb by the symmetric
    AS-norm, whose profile side, measured on the clean enrolment, let the degradation's rise in
    every cosine through; the test-side normalisation (cohort.SIDE) cancels it."""
    _, degraded = _strangers(stereo, synth, espeak)
    both = [_noisy(_reverb(c, 1 + k), 1 + (k + 1) % 4, 10.0) for c in stereo for k in range(4)]
    for clip in degraded[0:2] + degraded[4:6] + both:
        assert household.identify(clip).name == "unknown", clip.source
    # Ben's own held-out clips through the same noise + reverb are still named.
    named = [
        household.identify(_noisy(_reverb(_utt(2, n), 1 + k), 1 + (k + 1) % 4, 10.0)).name
        for k, n in enumerate((4, 5, 6))
    ]
    assert named.count("Ben") >= 2 and set(named) <= {"Ben", "unknown"}, named


def test_normalisation_sides():
    """Test-side normalisation (the default) is the clip's z-score against its closest cohort voices;
    symmetric adds the profile's; the side is part of the cohort's fingerprint (a profile calibrated
    under the other side is recalibrated) and an unknown side is refused."""
    from voice.speakers.cohort import SIDE, Cohort

    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((30, 8))
    test, symmetric = Cohort(vectors), Cohort(vectors, side="symmetric")
    assert SIDE == "test" and test.side == "test"
    assert test.normalise(0.7, (0.5, 0.1), (0.5, 0.2)) == pytest.approx(2.0)
    assert test.normalise(0.7, (0.5, 0.1), (0.1, 0.05)) == pytest.approx(2.0)  # the profile's side unused
    assert symmetric.normalise(0.7, (0.5, 0.1), (0.5, 0.2)) == pytest.approx(1.5)
    assert test.ident != symmetric.ident
    with pytest.raises(ValueError, match="side"):
        Cohort(vectors, side="model")


def test_old_format_profile_still_loads(tmp_path, household):
    """A file written before cohort normalisation (no degraded clips, no normalised threshold) loads
    and keeps its raw-cosine rule; re-enrolling gives it the new calibration."""
    from voice.speakers import SpeakerRegistry

    for path in household.dir.glob("*.json"):
        data = json.loads(path.read_text())
        for key in ("degraded", "norm_threshold", "cohort"):
            data.pop(key)
        (tmp_path / path.name).write_text(json.dumps(data))
    old = SpeakerRegistry(tmp_path, household.embedder, household.synthetic, cohort=household.cohort)
    assert old.names() == ["Anna", "Ben"] and not old.skipped
    assert old.get("Anna").norm_threshold is None
    assert old.identify(_utt(1, 5)).name == "Anna" and old.identify(_utt(2, 5)).name == "Ben"
    v = old.verify("Anna", _utt(1, 6))
    assert v.accepted and v.normalised is None and v.score >= v.threshold
    assert "degraded" not in json.loads((tmp_path / "anna.json").read_text())  # read, not rewritten


def test_profile_recalibrates_for_another_cohort(tmp_path, household):
    """A profile calibrated against one cohort gets its normalised threshold recomputed (from its
    stored degraded clips) when the cohort changes, e.g. espeak-ng missing on another machine."""
    from voice.speakers import SpeakerRegistry
    from voice.speakers.cohort import Cohort

    for path in household.dir.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text())
    smaller = Cohort(household.cohort.vectors[::2])
    reg = SpeakerRegistry(tmp_path, household.embedder, household.synthetic, cohort=smaller)
    anna = reg.get("Anna")
    before = anna.norm_threshold
    assert reg.identify(_utt(1, 4)).name == "Anna"
    assert anna.cohort == smaller.ident and anna.norm_threshold is not None
    assert anna.norm_threshold != before
