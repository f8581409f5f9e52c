"""The spoken-name wake heard again (pipeline/runtime/name_hearing.py) and the words-alone rule it
backs (`WakeGate.addressed`). The live front end's use of it: tests/test_live_hands_free.py."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import espeak_samples

from pipeline.runtime.hands_free import WakeGate
from pipeline.runtime.name_hearing import MARGIN, NameHearing, readings


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        # a first word spelled like the name: in its place, and the name before it all
        (
            "When what is the date today?",
            [
                "Twin, what is the date today?",
                "Twin what is the date today?",
                "Twin, when what is the date today?",
                "Twin when what is the date today?",
            ],
        ),
        # two words spelled like it ("to win"; "to" alone is not), the comma Whisper put after them
        # dropped
        (
            "to win, call my daughter",
            [
                "Twin, call my daughter",
                "Twin call my daughter",
                "Twin, to win, call my daughter",
                "Twin to win, call my daughter",
            ],
        ),
        # nothing spelled like it: only the name put before the words ("I" keeps its capital)
        ("I need a timer", ["Twin, I need a timer", "Twin I need a timer"]),
        # already the name, or a longer word that holds it: nothing to read again
        ("Twin, what time is it?", []),
        ("twin what time", []),
        ("Twins run in our family.", []),
        ("Twinkle twinkle", []),
        ("", []),
    ],
)
def test_readings(heard: str, expected: list[str]) -> None:
    assert readings(heard, "Twin") == expected


def test_a_name_of_two_words_is_read_whole() -> None:
    assert readings("Hey, twin, lights off", "Hey Twin") == []
    assert readings("Hate win, lights off", "Hey Twin")[:2] == ["Hey Twin, lights off", "Hey Twin lights off"]


def test_the_best_reading_is_taken_within_the_margin_only() -> None:
    """The decision on the scores alone: the heard words first, then each reading (summed nats)."""
    asked: list[list[str]] = []

    def scores_of(values: list[float]):
        def read(samples, phrases, total=False):
            assert total  # sums: a name put before a long sentence costs its own tokens
            asked.append(phrases)
            return values[: len(phrases)]

        return read

    samples = np.zeros(16_000, np.float32)
    heard = "When what time is it?"  # four readings
    near = NameHearing(scores_of([-5.0, -5.0 - MARGIN + 0.1, -9.0, -9.0, -9.0]), "Twin").heard(samples, heard)
    assert near is not None and near.text == "Twin, what time is it?" and near.heard == heard
    assert near.below == pytest.approx(-MARGIN + 0.1)
    far = NameHearing(scores_of([-5.0, -5.0 - MARGIN - 0.1, -9.0, -9.0, -9.0]), "Twin").heard(samples, heard)
    assert far is None
    assert asked[0][0] == heard and len(asked[0]) == 5
    # too long to be a request after the name: read as heard, the ASR is not asked
    asked.clear()
    assert NameHearing(scores_of([0.0] * 5), "Twin").heard(np.zeros(9 * 16_000, np.float32), heard) is None
    assert asked == []


@pytest.mark.parametrize(
    ("text", "to_twin"),
    [
        ("Twin, what time is it?", "What time is it?"),
        ("twin. pause", "Pause"),
        ("Twin's timer is going off", None),  # of Twin, not to it
        ("Twin’s timer is going off", None),
        ("Twins run in our family", None),
        ("between twins", None),
        # the name over and over asks nothing ("Twinkle, twinkle" through the name-led prompt)
        ("Twin. Twin. Twin.", None),
        ("Twin, twin, cool, twin, little star", None),
        ("Twin.", ""),  # the name alone: Twin listens for what follows
    ],
)
def test_words_alone_address_twin_only_with_the_name_first(text: str, to_twin: str | None) -> None:
    assert WakeGate(None, name="Twin").addressed(text) == to_twin


@pytest.mark.models
def test_sentences_without_the_name_are_not_heard_as_having_it(components, tmp_path) -> None:
    """espeak-ng voices saying a request with no name before it: its readings with the name are far
    less likely than the words heard (measured: 7 nats and more), so it stays not addressed."""
    asr = components.asr
    saved = asr.vocabulary
    asr.vocabulary = None
    try:
        hearing = NameHearing(asr.phrase_log_probs, "Twin")
        for text in ("What is the date today?", "Set a timer for five minutes."):
            for voice in ("en-us+m3", "en-gb-scotland"):
                said = espeak_samples(text, tmp_path, voice, 160)
                samples = np.concatenate([np.zeros(4800, np.float32), said, np.zeros(4000, np.float32)])
                heard = asr.transcribe(samples, "en").text
                assert WakeGate(None, name="Twin").addressed(heard) is None, (voice, heard)
                base, ranked = hearing.scores(samples, heard)
                assert ranked and ranked[0][0] < base - MARGIN, (voice, heard, base, ranked[:1])
                assert hearing.heard(samples, heard) is None
    finally:
        asr.vocabulary = saved


@pytest.mark.models
def test_one_sessions_lead_never_reaches_another_sharing_the_model(cfg, components, monkeypatch) -> None:
    """A hub's devices share one ASR model: the wake name leading one session's prompt (its live
    loop listening for the name) must not bias what another session hears. Each transcription is
    recorded as it reaches the real model."""
    import asyncio

    from conftest import fixture_path

    from pipeline.runtime.session import Twin
    from voice.audio import load_audio

    leads: list[str] = []
    real = components.asr.transcribe

    def recorded(audio, language=None, vad_filter=True, lead=""):
        leads.append(lead)
        return real(audio, language, vad_filter, lead=lead)

    monkeypatch.setattr(components.asr, "transcribe", recorded)
    glasses, kitchen = Twin(cfg, components), Twin(cfg, components)
    glasses.asr_lead = "Twin"
    clip = load_audio(fixture_path("speech_to_phrase_en/wav/set a timer for 5 minutes.wav"))

    async def both():
        return await glasses._transcribe(clip), await kitchen._transcribe(clip)

    led, plain = asyncio.run(both())
    assert leads == ["Twin", ""]
    assert "timer" in plain.text.lower() and "timer" in led.text.lower()


@pytest.mark.models
def test_the_name_leads_the_asr_prompt_only_in_its_call(components, monkeypatch) -> None:
    class Household:
        def prompt(self, multilingual: bool) -> str:
            return "Saoirse, EcoBee."

    asr = components.asr
    monkeypatch.setattr(asr, "vocabulary", None)
    assert asr.prompt() == ""
    assert asr.prompt("Twin") == "Twin."
    monkeypatch.setattr(asr, "vocabulary", Household())
    assert asr.prompt("Twin") == "Twin, Saoirse, EcoBee."
    assert asr.protected_words(lead="Twin") == ["Twin", "Saoirse", "EcoBee"]
    assert asr.prompt() == "Saoirse, EcoBee."  # a lead is one call's: nothing of it stays
    assert asr.protected_words() == ["Saoirse", "EcoBee"]
