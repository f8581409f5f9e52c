"""The persona's style policy: device rules and the user's mood change what Twin says and how it
sounds, measurably, while the system prompt stays byte-identical."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from devices.profiles import PROFILES
from persona import load_persona
from persona.spoken import bound_length, to_spoken
from persona.style import StylePolicy
from voice.capabilities import EmotionEstimate

NEUTRAL = EmotionEstimate(0.0, 0.0, "neutral", 0.8)
SAD = EmotionEstimate(-0.7, -0.3, "sad", 0.7)
ANGRY = EmotionEstimate(-0.7, 0.7, "angry", 0.7)
ANXIOUS = EmotionEstimate(-0.4, 0.6, "anxious", 0.7)
HAPPY = EmotionEstimate(0.8, 0.4, "happy", 0.7)
LONG_REPLY = [
    "Your train leaves at ten past nine from platform four.",
    "It usually takes about forty minutes to reach the city centre.",
    "There is a café on the platform if you want a coffee first.",
    "Remember to bring your ticket and a warm coat.",
]


def _policy(profile: str) -> StylePolicy:
    return StylePolicy(load_persona("twin"), PROFILES[profile])


def test_emotion_policy_lines_and_bounds():
    p = _policy("speaker")
    assert p.for_turn(NEUTRAL).line == ""
    assert "gentle" in p.for_turn(SAD).line and "acknowledge" in p.for_turn(SAD).line
    angry = p.for_turn(ANGRY)
    assert "calm" in angry.line and "no jokes" in angry.line
    assert angry.max_sentences < p.for_turn(NEUTRAL).max_sentences
    assert "one concrete next step" in p.for_turn(ANXIOUS).line
    assert p.for_turn(HAPPY).prosody.length_scale < p.for_turn(NEUTRAL).prosody.length_scale
    assert p.for_turn(SAD).prosody.length_scale > p.for_turn(NEUTRAL).prosody.length_scale
    # a low-confidence hint changes nothing
    assert p.for_turn(replace(SAD, confidence=0.2)) == p.for_turn(None)


def test_device_rules_bound_the_reply():
    car, glasses, speaker = _policy("car"), _policy("glasses"), _policy("speaker")
    assert "driving" in car.for_turn().line and car.for_turn().max_sentences <= 2
    assert "terse" in glasses.for_turn().line and glasses.max_words < speaker.max_words
    assert "private" in car.for_turn(voices_present=2).line
    s = car.for_turn()
    shaped = bound_length(LONG_REPLY, s.max_sentences, s.max_words)
    assert len(shaped) <= 2 and len(" ".join(shaped).split()) <= s.max_words
    full = speaker.for_turn()
    assert len(bound_length(LONG_REPLY, full.max_sentences, full.max_words)) == 3
    angry = speaker.for_turn(ANGRY)
    assert len(bound_length(LONG_REPLY, angry.max_sentences, angry.max_words)) < 3


def test_spoken_forms():
    assert to_spoken("Meet on 2026-11-24.") == "Meet on the twenty-fourth of November twenty twenty-six."
    assert to_spoken("It costs $4.50 and weighs 2 kg.") == "It costs 4 dollars 50 and weighs 2 kilograms."
    assert (
        to_spoken("21°C, 30% rain, 12 km/h wind")
        == "21 degrees Celsius, 30 percent rain, 12 kilometres per hour wind"
    )
    assert to_spoken("I'm 5 minutes away, e.g. nearby.") == "I'm 5 minutes away, for example nearby."


def test_clock_times_and_days_are_said_as_a_person_says_them():
    """The voice reads "10:00" as "ten zero zero" and "2 March" as "two March" (heard back as "to
    March"): a time and a day of the month are said in words before they reach it."""
    assert to_spoken("It is 10:00 on Monday 2 March 2026.") == (
        "It is ten a.m. on Monday the second of March 2026."
    )
    assert (
        to_spoken("At 18:30, then 9:05 pm and 00:00.")
        == "At six thirty p.m., then nine oh five p.m. and midnight."
    )
    assert to_spoken("Lunch at 12:00 on March 31, 2026.") == "Lunch at noon on March thirty-first, 2026."
    # the sentence's own full stop closes the time; seconds, versions and years are left alone
    assert to_spoken("Due 7:45 AM.") == "Due seven forty-five a.m."
    assert to_spoken("Build 10:00:05, March 2026.") == "Build 10:00:05, March 2026."
    assert to_spoken("It takes 1:30 hours.") == "It takes 1:30 hours."  # a duration, not a time


@pytest.mark.models
def test_tts_duration_companion_vs_car_and_sad_vs_neutral(components):
    text = "Your train leaves at ten past nine from platform four."

    def seconds(prosody) -> float:
        steady = replace(prosody, noise_scale=0.0, noise_w_scale=0.0)
        return len(components.tts.synthesize_all(text, steady)) / components.tts.sample_rate

    companion, car = (
        seconds(_policy("companion").for_turn().prosody),
        seconds(_policy("car").for_turn().prosody),
    )
    assert companion / car > 1.1
    sad, neutral = (
        seconds(_policy("speaker").for_turn(SAD).prosody),
        seconds(_policy("speaker").for_turn().prosody),
    )
    assert sad / neutral > 1.05


@pytest.mark.models
def test_voice_turn_names_the_speaker_and_styles_by_mood(twin, components, synth):
    from conftest import fixture_path

    from pipeline.events import TranscriptReady, VoiceHeard
    from voice.audio import load_audio

    def utt(n: int):
        return load_audio(fixture_path(f"speechbrain_samples/ASR/spk1_snt{n}.wav"))

    registry = components.speakers
    registry.enroll("Anna", [utt(1), utt(2), utt(3)])
    try:
        prompt = twin.system_prompt
        result = asyncio.run(twin.listen_clip(utt(4), speak=False))
        event = next(e for e in result.events if isinstance(e, TranscriptReady))
        assert event.speaker == "Anna"
        sad = asyncio.run(
            twin.listen_clip(synth("I feel so sad and lonely since my wife died last month."), speak=False)
        )
        event = next(e for e in sad.events if isinstance(e, TranscriptReady))
        heard = next(e for e in sad.events if isinstance(e, VoiceHeard))
        # Twin's own voice is none of the enrolled people: with voices enrolled, an unplaced voice
        # is a guest (who hears only household memories), never the owner
        assert event.speaker is None and heard.guest and heard.speaker is None
        context = twin.history[-3]
        assert context["role"] == "system" and "sad" in context["content"]
        assert twin.system_prompt == prompt and "sad" not in twin.messages_for("hi", "en")[0]["content"]
        assert sad.timings_ms  # the turn completed
    finally:
        registry.remove("Anna")


@pytest.mark.models
def test_failing_voice_signals_never_fail_the_turn(twin, components, synth):
    """A fake listener that raises (unit seam): the turn still completes, with a notice."""
    from pipeline.events import Notice

    class FakeBrokenListener:
        def hear(self, audio):
            raise RuntimeError("embedder crashed")

    real = components.__dict__.get("listener")
    components.__dict__["listener"] = FakeBrokenListener()
    try:
        result = asyncio.run(twin.listen_clip(synth("What is the capital of France?"), speak=False))
    finally:
        components.__dict__["listener"] = real
    assert result.status == "completed" and result.reply
    assert any(isinstance(e, Notice) and e.code == "voice_signals_failed" for e in result.events)


def test_eer_and_min_dcf():
    from bench.identity import eer_and_min_dcf

    eer, thr, dcf = eer_and_min_dcf([0.9, 0.85, 0.8], [0.5, 0.6, 0.55])
    assert eer == 0.0 and 0.6 <= thr <= 0.8 and dcf == 0.0  # any threshold between the two sets
    eer, _, _ = eer_and_min_dcf([0.9, 0.7, 0.8, 0.6], [0.65, 0.5, 0.55, 0.4])
    assert eer == pytest.approx(0.25)
