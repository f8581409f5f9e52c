"""Feelings first: a statement of a feeling or sad news that asks for nothing is met by a composed,
kind reply (the bundled 0.5B model answered "My cat died last week." with "I'm sorry, but I can't
assist with that."); a request, good news, a negated feeling and ordinary commands are not."""

from __future__ import annotations

import asyncio

import pytest
from conftest import steady_clock

from pipeline.conversation.feelings import FEELINGS, acknowledge, feeling_in


@pytest.mark.parametrize(
    ("text", "language", "feeling"),
    [
        ("I'm feeling a bit lonely today", "en", "lonely"),
        ("My cat died last week.", "en", "loss"),
        ("I'm worried about my doctor's appointment tomorrow", "en", "anxious"),
        ("I can't sleep again", "en", "tired"),
        ("I fell in the bathroom", "en", "unwell"),
        ("I had chest pain this morning", "en", "unwell"),
        ("I miss my wife", "en", "lonely"),
        ("我今天很孤单", "zh", "lonely"),
        ("我奶奶上个月去世了", "zh", "loss"),
        # not a feeling to meet, or one that asks for something: the model's (or a tool's)
        ("I fell asleep on the sofa", "en", None),
        ("I'm not worried at all", "en", None),
        ("I don't feel lonely", "en", None),
        ("I'm bored, tell me a joke", "en", None),
        ("I'm worried, what should I do?", "en", None),
        ("I feel sad, please play some music", "en", None),  # asks in its second clause
        ("My grandson is visiting on Sunday!", "en", None),
        ("set a timer for ten minutes", "en", None),
        ("我不累", "zh", None),
        ("我好累，帮我设个闹钟", "zh", None),
    ],
)
def test_which_statements_name_a_feeling(text, language, feeling):
    found = feeling_in(text, language)
    assert (found.name if found else None) == feeling


def test_the_reply_is_in_the_statements_language_and_a_fall_is_told_to_call_for_help():
    assert acknowledge("我今天很孤单", "zh") == next(f.reply_zh for f in FEELINGS if f.name == "lonely")
    assert "call for help" in acknowledge("I've fallen and my hip hurts", "en")
    assert acknowledge("What time is it?", "en") is None


@pytest.mark.models
def test_sad_news_is_met_kindly_in_a_real_turn(cfg, components, tmp_path):
    from pipeline.runtime.session import Twin

    twin = Twin(cfg.model_copy(update={"data_dir": tmp_path}), components, clock=steady_clock)
    result = asyncio.run(twin.ask("My cat died last week."))
    assert result.reply == "I'm so sorry for your loss. Would you like to talk about it?", result.reply
    # the next turn (the user talking about it) is the model's again, with this in its history
    assert twin.dialogue[-1]["content"] == result.reply
    follow = asyncio.run(twin.ask("What's the capital of Italy?"))
    assert "rome" in follow.reply.lower()
