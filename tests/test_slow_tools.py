"""A slow tool call does not hold the conversation: in a live session it goes on in the
background after the turn's patience, its result is said when it arrives, and "never mind the
report" stops waiting for it. Against a real MCP server whose report tool takes seconds."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from pipeline.acting.planner import compose_reply
from pipeline.acting.runner import CallOutcome
from pipeline.tools.base import ToolCall

FACTS = [sys.executable, str(Path(__file__).parent / "mcp_servers" / "facts_server.py")]


@pytest.fixture()
def session(tmp_path, monkeypatch):
    from pipeline.acting.session import ToolSession
    from pipeline.config import McpServerConfig, load_config

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("FACTS_REPORT_SECONDS", "2")
    cfg = load_config(data_dir=tmp_path / "data")
    cfg.tools.mcp = {
        "facts": McpServerConfig(command=FACTS, allow=["write_report"], tier="read", timeout_s=20)
    }
    return ToolSession(cfg)


def _run(session, text: str, patience: float | None, then=None):
    async def main():
        turn = session.turn(text, patience_s=patience)
        out = await session.runner.run(ToolCall("facts__write_report", {"topic": "sleep"}), turn)
        said = then() if then else None
        for p in list(session.runner.background._pending.values()):
            await p.task
        return out, said

    return asyncio.run(main())


def test_a_slow_call_goes_on_in_the_background_and_its_result_is_said(session):
    out, _ = _run(session, "write me a report on sleep", patience=0.3)
    assert out.status == "pending"
    assert (
        compose_reply([out]) == "I'm on it: write report is taking a while, and I'll tell you when it's done."
    )
    assert session.runner.background.due() == [
        {"kind": "tool_result", "label": "About write report: Report on sleep: three points, one page."}
    ]
    assert session.runner.background.due() == []  # said once
    (entry,) = session.audit.entries()
    assert (entry["tool"], entry["status"]) == ("facts__write_report", "ok")


def test_never_mind_stops_waiting_and_the_audit_says_so(session):
    out, said = _run(
        session,
        "write me a report on sleep",
        patience=0.3,
        then=lambda: session.runner.background.cancel_spoken("never mind the report"),
    )
    assert out.status == "pending" and said == "Okay, I've stopped waiting for write report."
    assert session.runner.background.due() == []  # nothing announced
    (entry,) = session.audit.entries()
    assert entry["status"] == "ok" and "the user stopped waiting for it" in entry["reasons"]
    # nothing running: "never mind" is not taken for a cancellation
    assert session.runner.background.cancel_spoken("never mind") is None


def test_a_typed_turn_waits_for_the_result(session):
    out, _ = _run(session, "write me a report on sleep", patience=None)
    assert out.status == "ok" and "three points" in out.summary
    assert session.runner.background.due() == []


def test_which_one_when_two_are_running():
    from pipeline.acting.background import BackgroundCalls
    from pipeline.tools.base import Tier, Tool

    calls = BackgroundCalls()

    def tool(name: str) -> Tool:
        return Tool(name, "", Tier.READ, {}, lambda a: None)

    calls.start("a", tool("write_report"), {"topic": "sleep"}, None)
    calls.start("b", tool("translate_text"), {"text": "hello"}, None)
    assert calls.cancel_spoken("never mind").startswith("Which one should I stop?")
    assert calls.cancel_spoken("cancel the translation").startswith("Which one")  # no shared word
    assert (
        calls.cancel_spoken("never mind the sleep report") == "Okay, I've stopped waiting for write report."
    )
    assert [p.tool for p in calls.pending()] == ["translate_text"]
    assert CallOutcome("x", {}, "read", "auto", "pending", "").done is False
