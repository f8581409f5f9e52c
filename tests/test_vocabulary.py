"""The user's vocabulary: stored safely, checked, ranked and capped before it biases recognition,
gathered from the names Twin already knows; and, with the real model, it changes what is heard
without making silence or noise say anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, fixture_path

from voice.vocabulary import (
    MAX_STORED,
    PROMPT_MAX_CHARS,
    PROMPT_MAX_ENTRIES,
    Entry,
    Vocabulary,
    VocabularyDamagedError,
    VocabularyError,
    VocabularyPrompt,
    known_names,
    names_from_memory,
    select,
)


def test_add_list_remove_round_trip(tmp_path):
    voc = Vocabulary(tmp_path)
    added, present = voc.add(["EcoBee", "Mood  Lighting", "ecobee"], now=100.0)
    assert added == ["EcoBee", "Mood Lighting"] and present == ["ecobee"]
    assert [e.text for e in voc.entries()] == ["EcoBee", "Mood Lighting"]
    assert oct(voc.path.stat().st_mode & 0o777) == "0o600"
    removed, missing = voc.remove(["MOOD LIGHTING", "nothing"])
    assert removed == ["MOOD LIGHTING"] and missing == ["nothing"]
    assert [e.text for e in voc.entries()] == ["EcoBee"]


@pytest.mark.parametrize("bad", ["", "   ", "?!...", "x" * 61])
def test_bad_words_are_refused_and_nothing_is_stored(tmp_path, bad):
    voc = Vocabulary(tmp_path)
    voc.add(["Kitchen"])
    with pytest.raises(VocabularyError) as err:
        voc.add(["Office", bad])  # one bad word: none of them is stored
    assert err.value.hint
    assert [e.text for e in voc.entries()] == ["Kitchen"]


def test_control_and_direction_characters_are_dropped(tmp_path):
    added, _ = Vocabulary(tmp_path).add(["Ann\u202eA\x1b", "Zoë"])
    assert added == ["Ann A", "Zoë"]


def test_thousands_of_entries_are_capped_latest_first_and_the_store_has_a_limit(tmp_path):
    voc = Vocabulary(tmp_path)
    voc.add([f"Name{i:04d}" for i in range(3000)], now=1000.0)
    voc.add(["EcoBee"], now=2000.0)
    sel = select(voc.entries(), multilingual=False)
    assert len(sel.used) <= PROMPT_MAX_ENTRIES and len(sel.prompt()) <= PROMPT_MAX_CHARS + 1
    assert sel.used[0].text == "EcoBee"  # the latest added first
    assert len(sel.used) + len(sel.over_cap) == 3001
    with pytest.raises(VocabularyError, match=str(MAX_STORED)):
        voc.add([f"More{i}" for i in range(MAX_STORED)])
    assert len(voc.entries()) == 3001  # the refused add changed nothing


def test_non_latin_names_only_bias_a_multilingual_model(tmp_path):
    voc = Vocabulary(tmp_path)
    voc.add(["小美", "Сергей", "Saoirse"])
    english = select(voc.entries(), multilingual=False)
    assert [e.text for e in english.used] == ["Saoirse"]
    assert {e.text for e in english.other_script} == {"小美", "Сергей"}
    assert {e.text for e in select(voc.entries(), multilingual=True).used} == {"小美", "Сергей", "Saoirse"}


def test_damaged_file_is_a_typed_error_and_left_as_it_is(tmp_path):
    (tmp_path / "vocabulary.json").write_text("{not json")
    with pytest.raises(VocabularyDamagedError):
        Vocabulary(tmp_path).add(["Kitchen"])
    assert (tmp_path / "vocabulary.json").read_text() == "{not json"
    # recognition goes on with the other names
    (tmp_path / "contacts.json").write_text(json.dumps({"contacts": {"Anna": {"email": "a@b.c"}}}))
    assert VocabularyPrompt(tmp_path).prompt(False) == "Anna."


def test_names_twin_already_knows_are_gathered_and_ranked(tmp_path):
    (tmp_path / "contacts.json").write_text(json.dumps({"contacts": {"Siobhán": {"email": "s@x.ie"}}}))
    (tmp_path / "speakers").mkdir()
    (tmp_path / "speakers" / "ada.json").write_text(json.dumps({"name": "Ada"}))
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "lists.json").write_text(json.dumps({"lists": {"hardware": ["nails"]}}))
    assert [(e.text, e.source) for e in known_names(tmp_path)] == [
        ("Siobhán", "contact"),
        ("Ada", "person"),
        ("hardware list", "list"),
    ]
    memory = [
        ("My daughter is called Saoirse", "daughter.name"),
        ("I live in Dún Laoghaire", "user.lives_in"),
        ("I like Jazz", ""),  # not a name or a place slot: ignored
    ]
    assert [e.text for e in names_from_memory(memory)] == ["Saoirse", "Dún Laoghaire"]
    Vocabulary(tmp_path).add(["EcoBee"])
    prompt = VocabularyPrompt(tmp_path, lambda: memory)
    assert prompt.prompt(False) == "EcoBee, Siobhán, Ada, hardware list, Saoirse, Dún Laoghaire."
    Vocabulary(tmp_path).remove(["EcoBee"])  # a change is seen on the next utterance
    assert not prompt.prompt(False).startswith("EcoBee")


def test_cli_add_list_remove(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1")

    def twin(*args):
        return subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "--data-dir", str(tmp_path), "vocabulary", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
        )

    r = twin("add", "EcoBee", "Mood Lighting", "小美")
    assert r.returncode == 0 and "added: Mood Lighting" in r.stdout, r.stderr
    r = twin("list", "--json")
    doc = json.loads(r.stdout)
    assert doc["prompt"].startswith("小美") or "EcoBee" in doc["prompt"]
    rows = {e["text"]: e for e in doc["entries"]}
    assert rows["EcoBee"]["in_prompt"] and rows["EcoBee"]["source"] == "vocabulary"
    r = twin("add", "")
    assert r.returncode == 2 and "vocabulary_bad_input" in r.stderr
    r = twin("remove", "EcoBee", "nothing")
    assert (
        r.returncode == 0 and "removed: EcoBee" in r.stdout and "not in your vocabulary: nothing" in r.stdout
    )


# -- with the real model ---------------------------------------------------------------------------


class _Words:
    def __init__(self, *words: str) -> None:
        self.words = list(words)

    def prompt(self, multilingual: bool) -> str:
        return select([Entry(w, "vocabulary") for w in self.words], multilingual).prompt()


@pytest.mark.models
def test_vocabulary_reaches_the_decoder(components):
    """faster-whisper's own hotwords clip: "ComfyUI" is heard as "comfy eye" without the word."""
    from voice.audio import load_audio

    clip = load_audio(fixture_path("faster_whisper_tests/hotwords.mp3"))
    asr = components.asr
    saved = asr.vocabulary
    try:
        asr.vocabulary = None
        plain = asr.transcribe(clip).text.lower().replace(" ", "")
        asr.vocabulary = _Words("ComfyUI")
        biased = asr.transcribe(clip).text.lower().replace(" ", "")
    finally:
        asr.vocabulary = saved
    assert "comfyui" not in plain and "comfyui" in biased, (plain, biased)


@pytest.mark.models
def test_vocabulary_does_not_make_silence_or_noise_speak(components):
    from voice.audio import SAMPLE_RATE, AudioClip, load_audio

    rng = np.random.default_rng(7)
    clips = [np.zeros(SAMPLE_RATE * 3, np.float32)]
    clips += [(a * rng.standard_normal(SAMPLE_RATE * 3)).astype(np.float32) for a in (0.01, 0.2)]
    clips += [load_audio(fixture_path(f"speechbrain_samples/noise/noise{n}.wav")).samples for n in (1, 3, 5)]
    names = (
        "Kitchen",
        "Office",
        "Bed Light",
        "EcoBee",
        "Front Door",
        "Mood Lighting",
        "Shopping List",
        "Anna",
    )
    asr = components.asr
    saved = asr.vocabulary

    def hear(vocabulary) -> list[str]:
        asr.vocabulary = vocabulary
        try:
            return [asr.transcribe(AudioClip(x), vad_filter=vad).text for x in clips for vad in (True, False)]
        finally:
            asr.vocabulary = saved

    plain, biased = hear(None), hear(_Words(*names))
    assert biased[::2] == [""] * len(clips), biased  # with the VAD filter, as Twin runs: nothing
    # without it, the model alone may say "You" over noise; the names must not add any text
    assert sum(bool(t) for t in biased) <= sum(bool(t) for t in plain), (plain, biased)
    assert not [n for t in biased for n in names if n.lower() in t.lower()], biased


def test_a_memory_read_that_fails_keeps_the_names_read_before(tmp_path):
    calls = {"n": 0}

    def memory():
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("dictionary changed size during iteration")
        return [("My son is called Oisín", "son.name")]

    prompt = VocabularyPrompt(tmp_path, memory)
    assert prompt.prompt(False) == "Oisín."
    prompt.MEMORY_REFRESH_S = 0.0  # read memory again on the next utterance
    assert prompt.prompt(False) == "Oisín." and calls["n"] == 2
