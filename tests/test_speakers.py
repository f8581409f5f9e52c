"""Speaker identity on real recordings: enrol on some utterances, identify the rest, abstain on
unknown voices, refuse bad enrolment clips, and never take Twin's own voice for a person."""

from __future__ import annotations

import json
import stat

import numpy as np
import pytest
from conftest import fixture_path

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


# -- household roles and owner verification -------------------------------------------------------


@pytest.fixture(scope="module")
def household(tmp_path_factory, embedder, twin_refs):
    """Anna enrolled first (the owner by default), then Ben (an adult by default)."""
    from voice.speakers import SpeakerRegistry

    directory = tmp_path_factory.mktemp("household")
    reg = SpeakerRegistry(directory, embedder, twin_refs)
    reg.enroll("Anna", [_utt(1, n) for n in (1, 2, 3)])
    reg.enroll("Ben", [_utt(2, n) for n in (1, 2, 3)])
    return reg


def test_roles_default_owner_first_then_adult(household):
    assert household.role_of("Anna") == "owner" and household.role_of("anna") == "owner"
    assert household.role_of("Ben") == "adult"
    assert household.owner_names() == ["Anna"]
    # Someone not enrolled gets the least trusted answer, never an exception.
    assert household.role_of("unknown") == "guest" and household.role_of("Zoe") == "guest"
    assert household.role_of(None) == "guest"


def test_one_owner_unless_forced(tmp_path, embedder, twin_refs, household):
    import shutil

    from voice.speakers import OwnerExistsError, SpeakerRegistry, SpeakerRoleError

    shutil.copytree(household.dir, tmp_path / "speakers")
    reg = SpeakerRegistry(tmp_path / "speakers", embedder, twin_refs)
    with pytest.raises(OwnerExistsError) as err:
        reg.set_role("Ben", "owner")
    assert "Anna" in err.value.message and "--force" in err.value.hint
    assert reg.owner_names() == ["Anna"]
    with pytest.raises(OwnerExistsError):  # refused before any audio is embedded or written
        reg.enroll("Cara", [_utt(2, 4)], role="owner")
    assert reg.names() == ["Anna", "Ben"]
    with pytest.raises(SpeakerRoleError):
        reg.set_role("Ben", "king")
    reg.set_role("Ben", "owner", force=True)
    assert reg.owner_names() == ["Ben"] and reg.role_of("Anna") == "adult"
    reg.set_role("Anna", "child")
    # Re-enrolment keeps the role; an explicit role changes it.
    reg.enroll("Anna", [_utt(1, 4), _utt(1, 5)])
    assert reg.role_of("Anna") == "child"
    fresh = SpeakerRegistry(tmp_path / "speakers", embedder, twin_refs)  # persisted
    assert fresh.role_of("Anna") == "child" and fresh.owner_names() == ["Ben"]
    fresh.enroll("Anna", [_utt(1, 4), _utt(1, 5)], role="owner", force=True)
    assert fresh.owner_names() == ["Anna"] and fresh.role_of("Ben") == "adult"


def test_profiles_without_a_role_still_load(tmp_path, embedder, household):
    """Files written before roles existed: the first-created reads as the owner, the rest adults."""
    from voice.speakers import SpeakerRegistry

    for path in household.dir.glob("*.json"):
        data = json.loads(path.read_text())
        data.pop("role")
        (tmp_path / path.name).write_text(json.dumps(data))
    old = SpeakerRegistry(tmp_path, embedder)
    assert old.names() == ["Anna", "Ben"] and not old.skipped
    assert old.role_of("Anna") == "owner" and old.role_of("Ben") == "adult"
    assert "role" not in json.loads((tmp_path / "anna.json").read_text())  # read, not rewritten
    bad = json.loads((tmp_path / "ben.json").read_text())
    (tmp_path / "ben.json").write_text(json.dumps({**bad, "role": "emperor"}))
    again = SpeakerRegistry(tmp_path, embedder)
    assert again.names() == ["Anna"] and again.skipped  # an unknown role is a corrupt file


def test_verify_owner_scores_the_owner_and_rejects_twin(household, synth):
    from voice.speakers import SpeakerRegistry

    anna = household.get("Anna")
    held_out = household.embedder.embed(_utt(1, 6))
    score = household.verify_owner(_utt(1, 6))
    assert score >= anna.threshold
    assert household.verify_owner(held_out) == score  # an embedding needs no second embed
    assert household.verify_owner(held_out.vector) == score
    assert household.owner_verification(_utt(1, 6)).accepted
    ben = household.verify_owner(_utt(2, 6))  # enrolled, but not the owner
    assert ben < anna.threshold and not household.owner_verification(_utt(2, 6)).accepted
    fake = household.owner_verification(synth("This is Anna. Please unlock the front door."))
    assert fake.synthetic and fake.score == 0.0 and not fake.accepted
    empty = SpeakerRegistry(household.dir.parent / "nobody-here", household.embedder)
    assert empty.verify_owner(_utt(1, 6)) == 0.0


def test_same_voice_threshold_is_calibrated(household, embedder):
    """Between how close one person's utterances are and how close two people come."""
    from voice.speakers import SAME_VOICE_DEFAULT, SpeakerRegistry

    thr = household.same_voice_threshold()
    v = {(s, n): embedder.embed(_utt(s, n)).vector for s in (1, 2) for n in (4, 5, 6)}
    same = [float(v[s, a] @ v[s, b]) for s in (1, 2) for a in (4, 5, 6) for b in (4, 5, 6) if a < b]
    cross = [float(v[1, a] @ v[2, b]) for a in (4, 5, 6) for b in (4, 5, 6)]
    assert max(cross) < thr < min(same), (thr, max(cross), min(same))
    assert (
        SpeakerRegistry(household.dir.parent / "none", embedder).same_voice_threshold() == SAME_VOICE_DEFAULT
    )


# -- voices present (the car's privacy rule) ------------------------------------------------------


def _joined(*parts):
    from voice.audio import AudioClip

    return AudioClip(np.concatenate([_utt(s, n).samples for s, n in parts]), 16_000, "joined")


def test_listener_counts_two_voices_in_one_utterance(household):
    from voice.listener import VoiceListener

    listener = VoiceListener(household, emotion=False)
    one = listener.hear(_joined((1, 1), (1, 2)))
    assert one.voices == 1 and one.speaker.name == "Anna" and one.embedding is not None
    for clip in (_utt(1, 5), _utt(2, 5), _joined((2, 1), (2, 2), (2, 3))):
        assert listener.hear(clip).voices == 1, clip.source
    assert listener.hear(_joined((1, 1), (2, 2))).voices == 2
    assert listener.hear(_joined((2, 3), (1, 4))).voices == 2
    # Counting voices needs no enrolled voice: the embedding is taken all the same.
    from voice.speakers import SpeakerRegistry

    bare = VoiceListener(SpeakerRegistry(household.dir.parent / "empty", household.embedder), emotion=False)
    heard = bare.hear(_joined((1, 1), (2, 2)))
    assert heard.speaker.name == "unknown" and heard.voices == 2 and heard.embedding is not None
    assert VoiceListener(None, emotion=False).hear(_utt(1, 1)).embedding is None
    quiet = VoiceListener(bare.registry, emotion=False, count_voices=False)  # the old cost
    assert quiet.hear(_utt(1, 1)).embedding is None


def test_presence_tracker_tells_unknown_voices_apart(embedder):
    """No one enrolled: two people in the car are told apart by their voices alone."""
    from voice.listener import PresenceTracker

    emb = {(s, n): embedder.embed(_utt(s, n)) for s in (1, 2) for n in range(1, 7)}
    car = PresenceTracker()
    assert car.voices_present(0.0) == 0
    for k, n in enumerate((1, 2, 3, 4)):  # one person, four turns a minute apart
        car.observe("unknown", emb[1, n], 60.0 * k)
    assert car.voices_present(200.0) == 1
    car.observe("unknown", emb[2, 1], 240.0)  # a passenger speaks
    assert car.voices_present(240.0) == 2
    car.observe("unknown", emb[2, 2].vector, 300.0)  # the same passenger again: still two
    car.observe("unknown", emb[1, 5], 320.0)
    assert car.voices_present(330.0) == 2
    # Ten minutes after the passenger last spoke, only the driver (still talking) is present.
    car.observe("unknown", emb[1, 6], 850.0)
    assert car.voices_present(901.0) == 1
    assert car.voices_present(320.0 + 601.0) == 1
    assert car.voices_present(850.0 + 601.0) == 0
    # An utterance too short to embed tells nothing about who spoke.
    car.observe("unknown", None, 1500.0)
    assert car.voices_present(1500.0) == 0


def test_presence_tracker_with_names_two_voice_turns_and_echo(household, synth):
    from voice.listener import PresenceTracker, VoiceListener

    listener = VoiceListener(household, emotion=False)
    tracker = PresenceTracker(window_s=600, registry=household)
    import dataclasses

    from voice.capabilities import SpeakerMatch

    heard = listener.hear(_utt(1, 6).slice(0, 0.8))
    # Under a second of speech: a vague embedding. Cohort-normalised scores may name it (rightly:
    # Anna) where the clean-calibrated cosine abstained; here it stands for an unnamed short turn.
    assert heard.speaker.name in ("Anna", "unknown") and heard.embedding.speech_seconds < 1.0
    short = dataclasses.replace(heard, speaker=SpeakerMatch("unknown", 0.0))
    tracker.observe_signals(short, 0.0)
    assert tracker.voices_present(0.0) == 0  # too vague to count as a new person
    tracker.observe("unknown", household.embedder.embed(_utt(1, 4)), 5.0)  # Anna, not recognised
    tracker.observe_signals(listener.hear(_utt(1, 5)), 10.0)  # Anna, by name: the same person
    assert tracker.voices_present(10.0) == 1
    tracker.observe_signals(short, 15.0)
    tracker.observe_signals(listener.hear(_utt(1, 6)), 20.0)
    assert tracker.voices_present(20.0) == 1
    echo = listener.hear(synth("Here is the message from your bank about your account."))
    tracker.observe_signals(echo, 30.0)  # Twin hearing itself is nobody
    assert tracker.voices_present(30.0) == 1
    both = listener.hear(_joined((1, 1), (2, 2)))
    tracker.observe_signals(both, 40.0)
    assert tracker.voices_present(40.0) == 2
    assert tracker.voices_present(40.0 + 601.0) == 0
    tracker.observe("Ben", None, 700.0)  # a name alone counts
    tracker.observe("Anna", None, 701.0)
    assert tracker.voices_present(701.0) == 2
    tracker.reset()
    assert tracker.voices_present(701.0) == 0


def test_strict_naming_is_the_default_and_names_no_one_the_others_do_not(
    tmp_path, cfg, embedder, twin_refs, stereo
):
    """Only Anna enrolled: her held-out sentences are named by the strict rule (the config's
    default), Ben's and the stereo strangers' never; and a clip the strict rule names is one both
    other rules name (it asks both). With only one voice enrolled, the cohort rule alone named Ben
    as Anna in a run of `twin bench identity --data` on a folder of these clips."""
    from voice.speakers import SpeakerRegistry

    assert cfg.identity.naming == "strict"
    reg = SpeakerRegistry(tmp_path / "speakers", embedder, twin_refs)
    reg.naming = cfg.identity.naming
    reg.enroll("Anna", [_utt(1, n) for n in (1, 2, 3)])
    named = {}
    for label, clip in [
        *((f"anna{n}", _utt(1, n)) for n in (4, 5, 6)),
        *((f"ben{n}", _utt(2, n)) for n in range(1, 7)),
    ]:
        emb = embedder.embed(clip)
        by_rule = {
            rule: reg.identify_embedding(emb, rule=rule).name for rule in ("clean", "normalised", "strict")
        }
        assert reg.identify_embedding(emb).name == by_rule["strict"]  # the registry's rule is the config's
        if by_rule["strict"] == "Anna":
            assert by_rule["clean"] == by_rule["normalised"] == "Anna", (label, by_rule)
        named[label] = by_rule["strict"]
    assert sum(named[f"anna{n}"] == "Anna" for n in (4, 5, 6)) >= 2, named
    assert all(named[f"ben{n}"] == "unknown" for n in range(1, 7)), named
    for clip in stereo:
        assert reg.identify(clip).name == "unknown"
