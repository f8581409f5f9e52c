"""A stated fact that also asks for something (issue #11): whether "My daughter is Mia, can you set a
timer for 5 minutes" asks for more than the fact is speech_act's reading, clause by clause, made by
the conversation (`recall.stated_fact`), not a regex of memory's own: memory/ reads facts and never
imports pipeline/. "My daughter Mia is allergic to peanuts." is still kept at once and said back.

The phrasings are written for these tests."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest
from conftest import steady_clock

from pipeline.acting.speech_act import asks_anything, clauses
from pipeline.conversation.recall import stated_fact

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("My daughter Mia is allergic to peanuts.", True),
        ("Hi Twin, my name is Sam", True),
        ("I live in Lyon and my son is Tom", True),
        ("我的女儿叫小美", True),
        ("My daughter is Mia, can you set a timer for 5 minutes", False),
        ("My daughter is Mia and set a timer for 5 minutes", False),
        ("my son is Tom, let's plan his party", False),
        ("My mum is Ann, help me plan her visit", False),
        ("My name is Sam?", False),  # said as a question
        ("我女儿叫小美，帮我设一个闹钟", False),
        ("I live in Lyon. What's the weather like there?", False),
    ],
)
def test_a_statement_is_kept_at_once_only_when_no_clause_asks(text, kept):
    assert (stated_fact(text) is not None) == kept


def test_clauses_are_read_one_by_one_with_their_marks():
    assert clauses("My daughter is Mia, can you set a timer") == [
        "My daughter is Mia,",
        "can you set a timer",
    ]
    assert clauses("I feel sad and please play some music") == ["I feel sad", "please play some music"]
    assert asks_anything("I'm sad, tell me a joke") and not asks_anything("I'm sad, it's been a long day.")


def test_memory_reads_facts_and_never_the_pipelines_speech_acts():
    source = (ROOT / "memory" / "confirm.py").read_text()
    assert "_ALSO_ASKS" not in source
    for path in (ROOT / "memory").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                )
                assert not any(n.split(".")[0] == "pipeline" for n in names), path


@pytest.mark.models
def test_a_fact_with_a_request_is_not_acknowledged_as_only_a_fact(cfg, components, mem, tmp_path):
    from pipeline.runtime.session import Twin

    twin = Twin(cfg.model_copy(update={"data_dir": tmp_path}), components, clock=steady_clock)
    twin.memory = twin.memory_bridge.memory = mem
    asked = asyncio.run(twin.ask("My daughter is Mia, can you set a timer for 5 minutes"))
    assert not asked.reply.startswith("I'll remember"), asked.reply
    told = asyncio.run(twin.ask("My daughter Mia is allergic to peanuts."))
    assert told.reply == "I'll remember that your daughter Mia is allergic to peanuts.", told.reply
