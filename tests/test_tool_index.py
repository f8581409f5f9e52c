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
