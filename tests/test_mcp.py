"""The MCP client against real servers: over stdio, mcp-server-time (PyPI) and a tiny server of our own;
over streamable HTTP, a tiny server of our own that the tests start on 127.0.0.1 (no other network)."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import require

from pipeline.acting.permissions import Provenance, Speaker, silent_confirmer
from pipeline.acting.runner import ToolRunner, TurnTools
from pipeline.acting.session import ToolSession
from pipeline.config import McpServerConfig, load_config
from pipeline.tools.base import ToolCall, ToolRegistry
from pipeline.tools.mcp import DESCRIPTION_LIMIT, McpServer, load_mcp_tools, sanitize_description

TINY = [sys.executable, str(Path(__file__).parent / "mcp_servers" / "tiny_server.py")]
HTTP_SERVER = TINY[1]  # the same server, over HTTP when given a port
HTTP_TIMEOUT_S = 3


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
    from pipeline.acting.audit import AuditLog
    from pipeline.acting.permissions import PermissionGate

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


# --- streamable HTTP ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpServer:
    """tests/mcp_servers/tiny_server.py over HTTP, a subprocess on a free 127.0.0.1 port, up once
    it accepts."""

    def __init__(self, log: Path, start_timeout_s: float = 20) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(HTTP_SERVER), str(self.port)], stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + start_timeout_s
        while True:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"the test MCP server exited ({self.proc.returncode}) before listening:\n{self.tail()}"
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(
                        f"the test MCP server did not accept connections on 127.0.0.1:{self.port} "
                        f"within {start_timeout_s:g} s:\n{self.tail()}"
                    )
                time.sleep(0.05)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]

    def config(self, **kw) -> McpServerConfig:
        kw = {"allow": ["add", "echo", "hang", "freeze"], "tier": "act", "timeout_s": HTTP_TIMEOUT_S} | kw
        return McpServerConfig(url=self.url, **kw)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a frozen server cannot otherwise exit
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def http_server(tmp_path_factory):
    server = HttpServer(tmp_path_factory.mktemp("mcp_http") / "server.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http_tools(http_server):
    return {t.name: t for t in McpServer("web", http_server.config()).discover()}


def test_http_discovery_honours_allow_list_tier_and_sanitises(http_server, http_tools):
    assert set(http_tools) == {"web__add", "web__echo", "web__hang", "web__freeze"}  # not "hidden"
    assert all(str(t.tier) == "act" and t.source == "mcp:web" for t in http_tools.values())
    desc = http_tools["web__echo"].description
    assert desc.startswith("Echo text.") and len(desc) <= DESCRIPTION_LIMIT
    assert "<system>" not in desc and "\u200b" not in desc
    assert http_tools["web__add"].params == {"a": {"type": "integer"}, "b": {"type": "integer"}}
    # the tier is the one granted, whatever the server says
    (add,) = McpServer("web", http_server.config(allow=["add"], tier="sensitive")).discover()
    assert str(add.tier) == "sensitive" and add.category == "sensitive"


def test_http_call_returns_untrusted_text_and_granted_tier_is_enforced(tmp_path, http_tools):
    from pipeline.acting.audit import AuditLog
    from pipeline.acting.permissions import PermissionGate

    r = http_tools["web__add"].handler({"a": 2, "b": 3})
    assert r.ok and r.untrusted_text == "5" and r.summary == "web add answered"
    runner = ToolRunner(
        ToolRegistry(list(http_tools.values())), PermissionGate(), AuditLog(tmp_path / "a.jsonl"), tmp_path
    )
    turn = TurnTools(Speaker(), Provenance("echo hello then add 40 and 2"), silent_confirmer)
    out = asyncio.run(runner.run(ToolCall("web__echo", {"text": "hello"}), turn))
    assert out.done and turn.provenance.untrusted == [("mcp", "hello")]
    out = asyncio.run(runner.run(ToolCall("web__add", {"a": 40, "b": 2}), turn))
    assert out.status == "blocked"  # act tier after untrusted MCP output needs a yes; none comes


def test_http_unreachable_url_is_named_fast_and_not_fatal(tmp_path, http_server):
    nothing = f"http://127.0.0.1:{_free_port()}/mcp"  # nothing listens there
    t0 = time.monotonic()
    tools, problems = load_mcp_tools({"gone": McpServerConfig(url=nothing, allow=["x"], timeout_s=10)})
    assert time.monotonic() - t0 < 5  # refused at once, not after the 10 s timeout
    assert tools == [] and len(problems) == 1
    assert "'gone' is not reachable at " + nothing in problems[0] and "hint: start it" in problems[0]
    tools, problems = load_mcp_tools({"typo": McpServerConfig(url="127.0.0.1:8000/mcp", allow=["x"])})
    assert tools == [] and "not an http(s) address" in problems[0] and "tools.mcp.typo.url" in problems[0]
    # the local tools and the servers that do answer still join the session
    cfg = load_config(data_dir=tmp_path)
    cfg.tools.mcp = {
        "gone": McpServerConfig(url=nothing, allow=["x"]),
        "web": http_server.config(allow=["add"], tier="read"),
    }
    session = ToolSession(cfg)
    assert "get_time" in session.registry and "web__add" in session.registry
    assert len(session.mcp_problems) == 1 and "'gone'" in session.mcp_problems[0]


def test_http_hanging_call_hits_the_timeout_and_the_turn_goes_on(tmp_path, http_tools):
    from pipeline.acting.audit import AuditLog
    from pipeline.acting.permissions import PermissionGate

    runner = ToolRunner(
        ToolRegistry(list(http_tools.values())), PermissionGate(), AuditLog(tmp_path / "a.jsonl"), tmp_path
    )
    turn = TurnTools(Speaker(), Provenance("wait for it, then add 2 and 3"), silent_confirmer)
    t0 = time.monotonic()
    out = asyncio.run(runner.run(ToolCall("web__hang", {}), turn))
    assert time.monotonic() - t0 < HTTP_TIMEOUT_S + 3
    assert out.status == "failed" and f"did not answer within {HTTP_TIMEOUT_S} s" in out.summary
    out = asyncio.run(runner.run(ToolCall("web__add", {"a": 2, "b": 3}), turn))
    assert out.done and out.summary.endswith("5")


def test_http_frozen_server_costs_the_call_within_its_timeout(http_server, http_tools):
    """The whole server stops mid-call: the call still ends at the timeout (the session's closing
    request must not wait on the HTTP client's own, far longer, read timeout)."""
    t0 = time.monotonic()
    try:
        r = http_tools["web__freeze"].handler({})
    finally:
        http_server.proc.send_signal(signal.SIGCONT)
    assert time.monotonic() - t0 < HTTP_TIMEOUT_S + 3
    assert not r.ok and f"did not answer within {HTTP_TIMEOUT_S} s" in r.summary
    assert http_tools["web__add"].handler({"a": 1, "b": 1}).untrusted_text == "2"  # thawed, it answers


def test_http_server_killed_mid_session_gives_a_clear_error(tmp_path):
    server = HttpServer(tmp_path / "server.log")
    try:
        tools = {t.name: t for t in McpServer("web", server.config()).discover()}
        assert tools["web__add"].handler({"a": 1, "b": 2}).untrusted_text == "3"
        pending = {}
        call = threading.Thread(target=lambda: pending.setdefault("r", tools["web__hang"].handler({})))
        t0 = time.monotonic()
        call.start()
        time.sleep(0.5)  # the call is in flight
        server.stop()
        call.join(HTTP_TIMEOUT_S + 3)
        assert not call.is_alive() and not pending["r"].ok and "'web'" in pending["r"].summary
        assert time.monotonic() - t0 < HTTP_TIMEOUT_S + 3
        t0 = time.monotonic()
        r = tools["web__add"].handler({"a": 1, "b": 2})
        assert time.monotonic() - t0 < 3
        assert not r.ok and f"'web' is not reachable at {server.url}" in r.summary
    finally:
        server.stop()
