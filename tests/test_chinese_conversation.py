"""A Chinese conversation through Twin's text turns: "记住我的女儿叫小美" stores the fact in its
slot; the later question "我女儿叫什么名字？" is not itself stored as a fact, and recall finds the
answer for it. (The reply's wording is the language model's and is printed, not asserted.)"""

from __future__ import annotations

import asyncio

import pytest

from memory.policy import extract

pytestmark = pytest.mark.models


@pytest.mark.parametrize(
    "question",
    [
        "我女儿叫什么名字？",
        "我女儿叫什么名字",
        "我的女儿叫小美吗",
        "我住在哪里？",
        "我的生日是几号？",
        "我喜欢什么呢",
    ],
)
def test_chinese_questions_are_not_written_as_facts(question):
    assert extract(question) == []


@pytest.mark.parametrize(
    ("said", "key"),
    [
        ("我女儿叫莉莉", "daughter.name"),
        ("我住在上海", "user.lives_in"),
        ("记住我的女儿叫小美", "daughter.name"),
    ],
)
def test_chinese_statements_are_still_written(said, key):
    (candidate,) = extract(said)
    assert candidate.key == key


def test_a_chinese_conversation_stores_and_recalls_a_fact(twin, components):
    memory = components.memory
    assert memory is not None

    def daughters() -> list:
        return [it for it in memory.list() if it.key == "daughter.name" and "小美" in it.text]

    before = {it.id for it in memory.list()}
    first = asyncio.run(twin.ask("记住我的女儿叫小美"))
    twin.memory_bridge.flush()
    stored = daughters()
    assert len(stored) == 1 and stored[0].text == "你的女儿叫小美", [it.text for it in stored]
    scope = stored[0].speaker

    after_fact = {it.id for it in memory.list()}
    second = asyncio.run(twin.ask("我女儿叫什么名字？"))
    twin.memory_bridge.flush()
    new = [it.text for it in memory.list() if it.id not in after_fact]
    assert new == [], new  # the question is not a fact
    assert len(after_fact - before) == 1

    recalled = memory.recall("我女儿叫什么名字？", scope, 5.0)
    assert any("小美" in line for line in recalled), recalled
    print("\nreplies:", first.reply, "|", second.reply)
