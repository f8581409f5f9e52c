"""A live figure from a third-party tool is said as the tool gave it, and the clock is never passed
off as the time of a quote (issue #11: "NVDA is trading at 131 dollars 42 USD on Monday 30 November
2026, 01:49", the price right, the date and time the clock's). Also the figure check's reading of
spoken money: "131 dollars 42" is one amount, 131.42."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from conftest import STEADY_NOW, steady_clock

from pipeline.acting.planner import PlanResult
from pipeline.acting.runner import CallOutcome
from pipeline.conversation.answering import Asked, decide
from pipeline.conversation.context import time_line
from pipeline.conversation.honesty import (
    CLOCK_LINE,
    MINE,
    SourceGuard,
    live_topic,
    said_as_given,
    spoken_amounts,
)

FACTS = [sys.executable, str(Path(__file__).parent / "mcp_servers" / "facts_server.py")]
QUOTE = "NVDA: 131.42 USD, up 1.8% today"
CLOCK = time_line(STEADY_NOW)  # "It is now Wednesday 4 March 2026, 10:00."


def _read(tool: str, result: str, status: str = "ok") -> CallOutcome:
    """An outcome as the runner records an MCP read: its first line says who answered."""
    server, _, name = tool.partition("__")
    return CallOutcome(tool, {}, "read", "auto", status, f"{server} {name} answered\n{result}")


def _plan(*outcomes: CallOutcome) -> PlanResult:
    plan = PlanResult(outcomes=list(outcomes))
    plan.context = "Tool results for this turn: ..."
    return plan


# -- spoken money ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "value"),
    [
        ("131 dollars 42", 131.42),
        ("131 dollars and 42 cents", 131.42),
        ("5 dollars 5", 5.05),  # persona/spoken.py says "$5.05" so
        ("1,200 pounds 3 pence", 1200.03),
        ("2 euros 50", 2.5),
    ],
)
def test_spoken_money_is_one_amount(said, value):
    assert spoken_amounts(f"It is {said} today.") == [(said, value)]


@pytest.mark.parametrize(
    "text", ["3 dollars 4.5", "4 dollars 12,000", "8 dollars and 5 apples", "131.5 dollars 42"]
)
def test_other_figures_after_a_currency_are_not_cents(text):
    assert spoken_amounts(text) == []


def test_the_figure_check_reads_spoken_money_as_the_amount():
    guard = SourceGuard(["what's NVDA trading at", QUOTE], live=True)
    assert guard.unsupported("NVDA is trading at 131 dollars 42 USD.") == []
    assert guard.unsupported("NVDA is at 131 dollars and 42 cents, up 1.8 percent today.") == []
    # not loosened: another amount, or the parts on their own, still have no source
    assert guard.unsupported("NVDA is trading at 131 dollars 41.") == ["131 dollars 41"]
    assert guard.unsupported("NVDA is at 131 dollars.") != []
    assert guard.unsupported("It went up 42 points.") != []
    # a source said the spoken way ("131 dollars 42" in an earlier reply) gives the amount only
    spoken = SourceGuard(["Earlier: NVDA was 131 dollars 42."], live=True)
    assert spoken.unsupported("It is 131.42 USD.") == []
    assert spoken.unsupported("It is 42 degrees.") != []
    # money always needs a source, however it is said
    assert SourceGuard(["tell me about shares"]).check("NVDA is 28 dollars 50.") is None


def test_the_bench_judge_reads_the_spoken_reply_too():
    from bench.understanding import _judge
    from bench.understanding_cases import Case

    case = Case("what's NVDA trading at", "mcp-tool", ("facts__get_stock_price",), mcp=True, live=True)
    ran = [{"tool": "facts__get_stock_price", "status": "ok", "tier": "read", "result": QUOTE}]
    said = "This comes from the facts server. NVDA is trading at 131 dollars 42 USD."
    row = _judge(case, True, said, ran, False, "This comes from the facts server. NVDA is at $131.42 USD.")
    assert row["invented"] == [] and row["success"]
    # the clock's date and time attached to the price: no source gave them
    dated = "NVDA is trading at $131.42 USD on Wednesday 4 March 2026, 10:00."
    row = _judge(case, True, to_spoken(dated), ran, False, dated)
    assert {"2026", "10:00"} <= set(row["invented"]) and not row["success"]
    # a figure the model wrote but the guard kept from being spoken still counts
    row = _judge(case, True, "I don't have a source for that.", ran, False, "NVDA is at $99.")
    assert row["invented"] == ["$99"]


def to_spoken(text: str) -> str:
    from persona.spoken import to_spoken as spoken

    return spoken(text)


# -- the clock ----------------------------------------------------------------------------------


def test_the_clock_line_is_recognised_in_the_form_the_context_writes_it():
    assert CLOCK_LINE.search(f"{CLOCK}\nTool results for this turn:\n- x") is not None
    assert CLOCK_LINE.search("Tool results: it is 10:00 on Wednesday 4 March 2026") is None


def test_on_a_live_turn_the_clock_is_no_source_for_a_figure():
    sources = ["what's NVDA trading at", f"{CLOCK}\nTool results for this turn:\n- {QUOTE}"]
    world = SourceGuard(sources, live=True, world=True)
    assert world.check("NVDA is trading at $131.42 on Wednesday 4 March 2026, 10:00.") is None
    assert "2026" in world.dropped[0]
    assert world.check("NVDA is trading at $131.42, up 1.8% today.")
    # the user's own data (a reminder at 10:00 today): the clock is a source there
    personal = SourceGuard(sources, live=True, names=True)
    assert personal.check("It is Wednesday 4 March 2026, 10:00.")
    # a date a tool gave is a source on any turn
    dated = SourceGuard([*sources, "NVDA closed at 131.42 USD on 4 March 2026"], live=True, world=True)
    assert dated.check("NVDA closed at $131.42 on 4 March 2026.")


# -- said as the tool gave it ----------------------------------------------------------------------


def test_a_short_plain_result_is_said_as_the_tool_gave_it():
    markets = live_topic("what's NVDA trading at")
    assert said_as_given(markets, _plan(_read("facts__get_stock_price", QUOTE))) == f"{QUOTE}."
    miss = _plan(_read("facts__get_stock_price", "No quote for NVIDIA."))
    assert said_as_given(markets, miss) == "No quote for NVIDIA."


@pytest.mark.parametrize(
    "plan",
    [
        _plan(_read("facts__get_stock_price", "x " * 100)),  # long: the model words it
        _plan(_read("facts__get_stock_price", '{"symbol": "NVDA", "price": 131.42}')),  # structured
        _plan(_read("facts__get_stock_price", "| NVDA | 131.42 |")),  # markup
        _plan(_read("facts__get_stock_price", "")),  # nothing
        _plan(_read("facts__get_stock_price", QUOTE, status="failed")),
        _plan(_read("facts__get_stock_price", QUOTE), _read("facts__get_weather", "London: 9 °C")),
        _plan(CallOutcome("get_time", {}, "read", "auto", "ok", "it is 10:00")),  # Twin's own tool
        None,
    ],
)
def test_otherwise_the_model_words_the_result(plan):
    assert said_as_given(live_topic("what's NVDA trading at"), plan) is None


def test_the_user_own_facts_are_never_said_this_way():
    assert said_as_given(MINE, _plan(_read("notes__find", "Your daughter is Mia."))) is None


def _decide(text: str, plan: PlanResult):
    asked = Asked(mine=False, tools_may_know=True, live=True)
    return decide(text, "en", None, plan, [], [], asked)


def test_a_live_answer_is_composed_with_its_source():
    answer = _decide("what's NVDA trading at", _plan(_read("facts__get_stock_price", QUOTE)))
    assert answer.direct == f"This comes from the facts server. {QUOTE}."
    # a result the model must word: the source first, and the guard keeps the clock out of it
    long = f"{QUOTE}. " + "Volume 41 million shares; the day's range was 128.90 to 132.10 USD. " * 2
    answer = _decide("what's NVDA trading at", _plan(_read("facts__get_stock_price", long)))
    assert answer.direct is None and answer.lead == "This comes from the facts server."
    guard = answer.guard(["what's NVDA trading at", f"{CLOCK}\n{long}"], acted=False)
    assert guard.check("NVDA is at $131.42 as of Wednesday 4 March 2026, 10:00.") is None
    assert guard.check("NVDA is at $131.42, with a range of 128.90 to 132.10 USD.")


@pytest.mark.models
def test_a_live_figure_reaches_the_user_as_the_tool_gave_it(cfg, components, tmp_path):
    """The real MCP server, the real planner: the price is said as the server gave it, with no reply
    model in between, so no date or time is attached to it."""
    from pipeline.config import McpServerConfig
    from pipeline.events import LlmRequested
    from pipeline.runtime.session import Twin

    c = cfg.model_copy(update={"data_dir": tmp_path}, deep=True)
    c.tools.mcp = {
        "facts": McpServerConfig(
            command=FACTS, allow=["get_weather", "get_stock_price"], tier="read", timeout_s=30
        )
    }
    twin = Twin(c, components, clock=steady_clock)
    result = asyncio.run(twin.ask("how much is Apple worth on the market right now"))
    entries = twin.tools.session.audit.entries()
    assert [(e["tool"], e["status"]) for e in entries] == [("facts__get_stock_price", "ok")], entries
    assert result.reply == "This comes from the facts server. AAPL: 227.10 USD, down 0.4 percent today."
    assert not any(isinstance(e, LlmRequested) for e in result.events)
