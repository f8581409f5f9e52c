"""Tools found by meaning (pipeline/acting/tool_index.py) with the real e5-small encoder: a request the
word layer misses still finds its tool, and a general question finds none (it would cost a planner
call, ~1 s, for nothing). The cases are neither of `bench/understanding_cases.py`'s splits."""

from __future__ import annotations

import pytest

from pipeline.acting.routing import might_need_tools, route

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    from bench.understanding import _cfg
    from pipeline.acting.session import ToolSession

    return ToolSession(_cfg(tmp_path_factory.mktemp("tools"), mcp=False)).registry


@pytest.mark.parametrize(
    ("text", "tool"),
    [("what's seven squared", "calculate"), ("how many ounces in a pound", "convert_units")],
)
def test_a_request_the_words_miss_finds_its_tool_by_meaning(components, registry, text, tool):
    assert not might_need_tools(text)  # the word layer alone would answer without the tool
    assert tool in route(text, registry, components.tool_index)


@pytest.mark.parametrize(
    "text",
    [
        "how many weeks are there in a month",
        "any advice for a job interview",
        "tell me about the roman empire",
        "good morning",
    ],
)
def test_a_general_question_finds_no_tool(components, registry, text):
    assert route(text, registry, components.tool_index) == []


@pytest.mark.models
def test_a_turn_finds_its_tools_by_meaning_off_the_event_loop(twin, components, monkeypatch):
    """The request's e5 encode runs on the meaning worker, never on the event loop that runs the
    microphone's frames (beside the model's decode it took up to ~140 ms), and once a turn: the
    planner's own routing of the same words reuses the vector."""
    import asyncio
    import threading

    index = components.tool_index
    encode = index.encoder.queries
    threads: list[str] = []

    def queries(texts):
        threads.append(threading.current_thread().name)
        return encode(texts)

    monkeypatch.setattr(index.encoder, "queries", queries)
    # words that name no tool family: only the meaning side can say it needs no tool
    result = asyncio.run(twin.ask("what a lovely quiet afternoon it has been so far"))
    assert result.status == "completed"
    assert len(threads) == 1 and threads[0].startswith("twin-meaning"), threads
