"""Enrolment by voice: recognising the request (and the name in it), then a real enrolment from
recorded speech through the same dialogue the engine drives, and its refusals."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fixture_path

from pipeline.conversation.voice_enrol import EnrolRequest, parse_enrol_request, parse_name
from tests.test_speakers import embedder, twin_refs  # noqa: F401 - session fixtures shared


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("This is my voice, I'm Anna.", "Anna"),
        ("learn my voice, my name is Anna", "Anna"),
        ("Remember my voice, I am Anna", "Anna"),
        ("enrol me as Anna", "Anna"),
        ("Enroll me as Anna Maria.", "Anna Maria"),
        ("Twin, please learn my voice. I'm Anna.", "Anna"),
        ("Hey Twin, can you remember my voice? My name's Bob.", "Bob"),
        ("I'm Anna, learn my voice", "Anna"),
        ("My name is Anna and this is my voice.", "Anna"),
        ("this is my voice i'm anna", "Anna"),  # ASR without casing
        ("Remember my voice, I\u2019m Jean-Luc.", "Jean-Luc"),
        ("It's my voice, I'm O'Brien", "O'Brien"),
        ("Register me as Anna please", "Anna"),
        ("learn my voice and call me Jo", "Jo"),
        ("Could you learn to recognise my voice? It's Tom.", "Tom"),
        ("记住我的声音，我叫安娜", "安娜"),
        ("我叫安娜，记住我的声音", "安娜"),
    ],
)
def test_enrol_requests_with_a_name(text, name):
    assert parse_enrol_request(text) == EnrolRequest(name)


@pytest.mark.parametrize(
    "text",
    [
        "learn my voice",
        "Learn my voice, please.",
        "enrol me",
        "remember my voice, I'm Anna's brother",  # a request, but the name is someone else's
        "Learn my voice, I'm tired.",
        "Learn my voice, I'm not Anna",
        "这是我的声音，我是安娜的哥哥",
    ],
)
def test_enrol_requests_without_a_usable_name(text):
    assert parse_enrol_request(text) == EnrolRequest(None)


@pytest.mark.parametrize(
    "text",
    [
        "this is my voice recorder",
        "I'm Anna's brother",
        "I'm Anna",
        "do you remember my voice?",
        "don't remember my voice",
        "forget my voice",
        "remember to buy milk",
        "Remember me",
        "save me a seat",
        "learn Spanish",
        "my voice is hoarse today",
        "This is my voice message for Anna",
        "call me Anna",
        "",
    ],
)
def test_not_enrol_requests(text):
    assert parse_enrol_request(text) is None


@pytest.mark.parametrize(
    ("answer", "name"),
    [
        ("Anna", "Anna"),
        ("anna.", "Anna"),
        ("It's Anna.", "Anna"),
        ("My name is Anna Maria", "Anna Maria"),
        ("um, Bob", "Bob"),
        ("我叫安娜", "安娜"),
        ("I don't know", None),
        ("never mind", None),
        ("cancel", None),
        ("Anna's brother", None),
    ],
)
def test_name_answers(answer, name):
    assert parse_name(answer) == name


# -- a real enrolment ------------------------------------------------------------------------------


def _utt(speaker: int, n: int):
    from voice.audio import load_audio

    return load_audio(fixture_path(f"speechbrain_samples/ASR/spk{speaker}_snt{n}.wav"))


@pytest.fixture()
def registry(tmp_path, embedder, twin_refs):  # noqa: F811
    from voice.speakers import SpeakerRegistry

    return SpeakerRegistry(tmp_path / "speakers", embedder, twin_refs)


def _enrol(registry, name: str, speaker: int, takes, role=None, complete=True) -> tuple[list[str], str]:
    from pipeline.conversation.voice_enrol import VoiceEnrolment

    job = VoiceEnrolment(registry, name, role)
    said = [job.first_prompt()]
    for n in takes:
        nxt = job.add(_utt(speaker, n))
        if nxt is None:
            break
        said.append(nxt)
    assert job.enough or not complete, said
    return said, job.finish()


@pytest.mark.models
def test_enrolment_by_voice_then_identification(registry):
    from pipeline.conversation.voice_enrol import READ_SENTENCES

    said, done = _enrol(registry, "Anna", 1, (1, 2, 3, 4))
    assert "Anna" in said[0] and READ_SENTENCES[0] in said[0]
    assert said[1].startswith("Thanks. One more, please: ") and READ_SENTENCES[1] in said[1]
    assert len(said) == 3  # three utterances, 8.5 s of speech: enough after the third
    assert done == "Thanks, Anna. I'll know your voice now."
    assert registry.names() == ["Anna"] and registry.role_of("Anna") == "owner"  # the first voice
    assert registry.get("Anna").baseline  # her usual prosody, for emotion
    for n in (5, 6):  # held out
        match = registry.identify(_utt(1, n))
        assert match.name == "Anna" and match.score >= registry.get("Anna").threshold
    # A second person: shorter utterances, so five are needed; an adult by default.
    said, done = _enrol(registry, "Ben", 2, (1, 2, 3, 4, 5))
    assert len(said) == 5 and done.startswith("Thanks, Ben.")
    assert registry.role_of("Ben") == "adult"
    assert registry.identify(_utt(2, 6)).name == "Ben"
    assert registry.identify(_utt(1, 6)).name == "Anna"


@pytest.mark.models
def test_twin_voice_is_refused(registry, synth):
    from pipeline.conversation.voice_enrol import VoiceEnrolment
    from voice.speakers import EnrolSyntheticVoiceError

    job = VoiceEnrolment(registry, "Anna")
    job.first_prompt()
    with pytest.raises(EnrolSyntheticVoiceError) as err:
        job.add(synth("The quick brown fox jumps over the lazy dog, and then it takes a nap in the sun."))
    assert "my own voice" in err.value.message and "the clip" not in err.value.message
    assert registry.names() == []


@pytest.mark.models
def test_bad_utterances_are_asked_again(registry):
    from pipeline.conversation.voice_enrol import VoiceEnrolment
    from voice.audio import AudioClip
    from voice.speakers import EnrolNoSpeechError, EnrolTwoVoicesError

    job = VoiceEnrolment(registry, "Anna")
    prompt = job.first_prompt()
    two = AudioClip(np.concatenate([_utt(1, 1).samples, _utt(2, 2).samples]))
    again = job.add(two)
    assert again.startswith("I heard more than one voice") and again.split("say: ")[1] in prompt
    assert job.add(_utt(1, 1).slice(0, 0.8)).startswith("That was a bit short")
    assert job.add(AudioClip(np.zeros(32_000, np.float32))).startswith("I didn't hear any speech")
    assert not job.embeddings  # none of them counted
    assert job.add(_utt(1, 1)).startswith("Thanks. One more")
    with pytest.raises(EnrolNoSpeechError):  # too many bad takes in a row: give up, say why
        for _ in range(VoiceEnrolment.MAX_RETRIES + 1):
            job.add(AudioClip(np.zeros(32_000, np.float32)))
    job2 = VoiceEnrolment(registry, "Anna")
    with pytest.raises(EnrolTwoVoicesError):
        for _ in range(VoiceEnrolment.MAX_RETRIES + 1):
            job2.add(two)


@pytest.mark.models
def test_by_voice_no_one_takes_another_name_voice_or_the_owner_role(registry):
    from pipeline.conversation.voice_enrol import VoiceEnrolment
    from voice.speakers import (
        EnrolAlreadyKnownError,
        EnrolNameTakenError,
        OwnerExistsError,
        SpeakerNameError,
    )

    _enrol(registry, "Anna", 1, (1, 2, 3))
    before = registry.get("Anna").embeddings
    with pytest.raises(EnrolNameTakenError) as err:  # Ben's voice claiming to be Anna
        _enrol(registry, "Anna", 2, (1, 2, 3, 4, 5))
    assert "different voice as Anna" in err.value.message
    assert registry.get("Anna").embeddings == before
    with pytest.raises(EnrolAlreadyKnownError) as err:  # Anna's voice under a new name
        _enrol(registry, "Zed", 1, (4, 5, 6, 2))
    assert "already know this voice as Anna" in err.value.message
    assert registry.names() == ["Anna"]
    with pytest.raises(OwnerExistsError):  # refused before anyone is asked to read
        VoiceEnrolment(registry, "Ben", role="owner")
    with pytest.raises(SpeakerNameError):
        VoiceEnrolment(registry, "unknown")
    # Anna again, by her own voice: the new utterances join her profile, and she stays the owner.
    # (finish() takes what there is; the engine may stop early, e.g. on "that's enough".)
    _, done = _enrol(registry, "anna", 1, (4, 5, 6), complete=False)
    assert done.startswith("Thanks, Anna.")
    assert len(registry.get("Anna").embeddings) == 6 and registry.owner_names() == ["Anna"]
