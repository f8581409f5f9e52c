"""The MCP client against real servers over stdio: mcp-server-time (PyPI) and a tiny server of our own."""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from pathlib import Path

import pytest
from conftest import require

from pipeline.config import McpServerConfig, load_config
from pipeline.mcp_client import DESCRIPTION_LIMIT, McpServer, load_mcp_tools, sanitize_description
from pipeline.permissions import Provenance, Speaker, silent_confirmer
from pipeline.tool_runner import ToolRunner, TurnTools
from pipeline.tool_session import ToolSession
from pipeline.tools.base import ToolCall, ToolRegistry

TINY = [sys.executable, str(Path(__file__).parent / "mcp_servers" / "tiny_server.py")]


@pytest.fixture(scope="module")
def tiny_tools():
    conf = McpServerConfig(command=TINY, allow=["add", "echo", "crash", "hang"], tier="act", timeout_s=6)
    return {t.name: t for t in McpServer("tiny", conf).discover()}


def test_real_time_server_over_stdio():
    exe = shutil.which("mcp-server-time", path=str(Path(sys.executable).parent))
    require(exe is not None, "mcp-server-time is not installed (pip install -e '.[dev]')")
    conf = McpServerConfig(command=[exe, "--local-timezone", "UTC"], allow=["get_current_time"], tier="read")
    tools, problems = load_mcp_tools({"time": conf})
    assert problems == [] and [t.name for t in tools] == ["time__get_current_time"]
    result = tools[0].handler(tools[0].validate({"timezone": "Europe/Oslo"}))
    assert (
        result.ok
        and "Europe/Oslo" in result.untrusted_text
        and str(time.gmtime().tm_year) in result.untrusted_text
    )


def test_allow_list_tier_and_sanitised_descriptions(tiny_tools):
    assert set(tiny_tools) == {
        "tiny__add",
        "tiny__echo",
        "tiny__crash",
        "tiny__hang",
    }  # "hidden" is not offered
    assert all(str(t.tier) == "act" and t.source == "mcp:tiny" for t in tiny_tools.values())
    desc = tiny_tools["tiny__echo"].description
    assert len(desc) <= DESCRIPTION_LIMIT and "<system>" not in desc and "\u200b" not in desc
    assert sanitize_description("a\x00b\u202e c  <b>d</b>") == "a b c d"
    r = tiny_tools["tiny__add"].handler({"a": 2, "b": 3})
    assert r.ok and r.untrusted_text == "5"


def test_a_crashing_or_hanging_server_costs_the_call_not_the_turn(tiny_tools):
    r = tiny_tools["tiny__crash"].handler({})
    assert not r.ok and "tiny" in r.summary
    t0 = time.monotonic()
    r = tiny_tools["tiny__hang"].handler({})
    assert not r.ok and "did not answer within 6 s" in r.summary and time.monotonic() - t0 < 12


def test_unreachable_server_is_named_not_fatal():
    tools, problems = load_mcp_tools({"gone": McpServerConfig(command=["/nonexistent/server"], allow=["x"])})
    assert tools == [] and "gone" in problems[0]


def test_mcp_output_is_untrusted_and_granted_tier_is_enforced(tmp_path, tiny_tools):
    from pipeline.audit import AuditLog
    from pipeline.permissions import PermissionGate

    reg = ToolRegistry(list(tiny_tools.values()))
    runner = ToolRunner(reg, PermissionGate(), AuditLog(tmp_path / "a.jsonl"), tmp_path)
    turn = TurnTools(Speaker(), Provenance("echo hello then add 40 and 2"), silent_confirmer)
    out = asyncio.run(runner.run(ToolCall("tiny__echo", {"text": "hello"}), turn))
    assert out.done and turn.provenance.untrusted == [("mcp", "hello")]
    # after MCP output entered the turn, a change (act tier) needs a yes; none comes
    out = asyncio.run(runner.run(ToolCall("tiny__add", {"a": 40, "b": 2}), turn))
    assert out.status == "blocked"


def test_configured_servers_join_the_session(tmp_path):
    cfg = load_config(data_dir=tmp_path)
    cfg.tools.mcp = {"tiny": McpServerConfig(command=TINY, allow=["add"], tier="read")}
    session = ToolSession(cfg)
    assert "tiny__add" in session.registry and "get_time" in session.registry
