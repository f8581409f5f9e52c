"""MCP servers as tool sources, on the official `mcp` SDK.

Servers are opt-in: only those in `[tools.mcp.<name>]`, only the tools in their `allow` list, each
with the tier the user grants. Their descriptions and outputs are untrusted text: a description is
data, not instructions: its markup, control tokens and every sentence that gives orders ("ALWAYS
call this tool first") are removed and the rest length-limited before the planner sees it, and
outputs enter the turn's provenance. Each tool's name, description and input schema are pinned by
hash when first approved (`McpPins`, DATA_DIR/mcp_pins.json; a server's first use, as configured,
is that approval): a tool a server later presents changed is not offered until the user approves
it again (`twin mcp approve`). Each call opens a session in a worker thread under the server's
timeout, so a server that crashes or hangs costs that call (reported as not done), never the turn.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from models.durable import JsonState
from models.errors import TwinError
from pipeline.acting.reach import schema_words
from pipeline.config import McpServerConfig
from pipeline.llm.sanitize import strip_special_tokens
from pipeline.tools.base import Tier, Tool, ToolResult

DESCRIPTION_LIMIT = 200
PINS_FILE = "mcp_pins.json"
_ARG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,63}")
_ENUM_VALUE = re.compile(r"[\w .'-]{1,40}")  # plain short choices only ("coffee machine", "close")


def _choice(value: Any) -> bool:
    return isinstance(value, str) and _ENUM_VALUE.fullmatch(value) is not None


_JSON_TYPES = ("string", "integer", "number", "boolean", "array", "object")
# A sentence that addresses the model or steers its choice of tool is an instruction, not a
# description of what the tool does: it is dropped whole.
_DIRECTIVE = re.compile(
    r"\b(?:always|never|must|ignore|disregard|instead|override|overrides|regardless|priority|"
    r"prioriti[sz]e|prefer|preferred|important|importantly|mandatory|urgent|immediately|"
    r"do not|don't|you|your|yourself|assistant|ai|llm|prompt|instructions?|"
    r"(?:all|any|every|each) (?:requests?|quer(?:y|ies)|questions?|tasks?|turns?|messages?))\b",
    re.IGNORECASE,
)


class McpError(TwinError):
    code = "mcp_error"
    exit_code = 2


class McpPinsError(McpError):
    code = "mcp_pins_damaged"


def sanitize_description(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """Plain, short, one line of what the tool does: control and invisible characters, chat-template
    tokens and markup removed, every sentence that gives the model orders dropped, then cut."""
    text = strip_special_tokens(unicodedata.normalize("NFKC", text))
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)
    text = re.sub(r"<[^>]{0,200}>", " ", text)
    text = re.sub(r"[`*_#\[\]{}|<>]+", " ", text)
    sentences = re.split(r"(?<=[.!?;])\s+", " ".join(text.split()))
    text = " ".join(s for s in sentences if s and not _DIRECTIVE.search(s))
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def pins_path(data_dir: Path) -> Path:
    return data_dir / PINS_FILE


def fingerprint(name: str, description: str, schema: dict[str, Any]) -> str:
    """The hash a tool is pinned by: its name, its description and its input schema, as presented."""
    doc = {"name": name, "description": description, "input_schema": schema}
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Presented:
    """One allow-listed tool as a server presents it now, before anything is made of it."""

    name: str
    description: str
    schema: dict[str, Any]

    @property
    def hash(self) -> str:
        return fingerprint(self.name, self.description, self.schema)

    def record(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "description": self.description[:2000],
            "input_schema": self.schema,
            "approved": datetime.now(UTC).isoformat(timespec="seconds"),
        }


@dataclass(frozen=True)
class PinCheck:
    """A presented tool against its pin: `pinned` (offered), `new` (not pinned yet), `changed`
    (not offered until re-approved)."""

    server: str
    tool: str
    status: Literal["pinned", "new", "changed"]
    presented: Presented
    pin: dict[str, Any] | None = None
    changes: tuple[str, ...] = ()

    def notice(self) -> str:
        what = " and ".join(self.changes) or "definition"
        return (
            f"MCP server '{self.server}' changed its tool '{self.tool}' ({what}) since you approved it: "
            "it is not offered until you approve it again (hint: review it with `twin mcp list`, then "
            f"`twin mcp approve {self.server} {self.tool}`)"
        )


def _changes(pin: dict[str, Any], now: Presented) -> tuple[str, ...]:
    out = []
    if pin.get("description") != now.description[:2000]:
        out.append("description")
    if pin.get("input_schema") != now.schema:
        out.append("input schema")
    return tuple(out) or ("definition",)


class McpPins:
    """DATA_DIR/mcp_pins.json: per server, per tool, the hash of what the user approved (with the
    approved description and schema, so a change can be shown). Written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state = JsonState(path, {"version": 1, "servers": {}}, self._damaged)

    @staticmethod
    def _damaged(path: Path, why: str) -> Exception:
        return McpPinsError(
            f"the MCP pin file {path} is damaged ({why}); no MCP tool is offered until it is fixed",
            f"restore it from a backup, or delete it and re-approve: `twin mcp approve SERVER` (file {path})",
        )

    def pinned(self, server: str) -> dict[str, dict[str, Any]] | None:
        """The server's pins; None when the server was never approved."""
        servers = self.state.read().get("servers") or {}
        return servers.get(server)

    def check(self, server: str, presented: list[Presented]) -> list[PinCheck]:
        pins = self.pinned(server) or {}
        out = []
        for p in presented:
            pin = pins.get(p.name)
            if pin is None:
                out.append(PinCheck(server, p.name, "new", p))
            elif pin.get("hash") == p.hash:
                out.append(PinCheck(server, p.name, "pinned", p, pin))
            else:
                out.append(PinCheck(server, p.name, "changed", p, pin, _changes(pin, p)))
        return out

    def approve(self, server: str, presented: list[Presented]) -> None:
        """Pin these tools as they are presented now (the user approved them)."""

        def pin(state: dict[str, Any]) -> None:
            tools = state.setdefault("servers", {}).setdefault(server, {})
            for p in presented:
                tools[p.name] = p.record()

        self.state.update(pin)

    def admit(self, server: str, presented: list[Presented]) -> tuple[list[Presented], list[str]]:
        """The tools that may be offered, and a notice for each that may not. A tool seen for the
        first time (the server's first use, or a tool newly on its allow list) is pinned as it is:
        the user configured it. A tool that differs from its pin is held back."""
        checks = self.check(server, presented)
        new = [c.presented for c in checks if c.status == "new"]
        if new:
            self.approve(server, new)
        ok = [c.presented for c in checks if c.status != "changed"]
        return ok, [c.notice() for c in checks if c.status == "changed"]


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups, cancellations passed over."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        real = [e for e in exc.exceptions if not isinstance(e, asyncio.CancelledError)]
        exc = (real or list(exc.exceptions))[0]
    return exc


def _content_text(result: Any) -> str:
    parts = []
    for block in getattr(result, "content", None) or []:
        t = getattr(block, "text", None)
        if t:
            parts.append(t)
    return "\n".join(parts)


@dataclass
class McpServer:
    name: str
    config: McpServerConfig

    def _client(self):
        if self.config.command:
            from mcp import StdioServerParameters
            from mcp.client.stdio import stdio_client

            cmd = self.config.command
            return stdio_client(StdioServerParameters(command=cmd[0], args=cmd[1:]))
        if self.config.url:
            from mcp.client.streamable_http import streamable_http_client

            if not self.config.url.startswith(("http://", "https://")):
                raise McpError(
                    f"MCP server '{self.name}' has url '{self.config.url}', not an http(s) address",
                    f"set tools.mcp.{self.name}.url to the server's endpoint, e.g. http://127.0.0.1:8000/mcp",
                )
            return streamable_http_client(self.config.url)
        raise McpError(f"MCP server '{self.name}' has neither a command nor a url", "set one in the config")

    async def _session(self, work):
        from mcp import ClientSession

        async with self._client() as streams, ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            return await work(session)

    def _run(self, work) -> Any:
        import anyio

        scopes = []

        async def bounded():
            # An anyio deadline, not asyncio.wait_for: its cancellation reaches the transport's own
            # clean-up too (an HTTP session's closing request to a server that froze mid-call would
            # otherwise wait out the HTTP client's 300 s read timeout).
            with anyio.fail_after(self.config.timeout_s) as scope:
                scopes.append(scope)
                return await self._session(work)

        try:
            return asyncio.run(bounded())
        except McpError:
            raise
        except BaseException as exc:  # a crashed server surfaces as many kinds of error (groups too)
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            if isinstance(exc, TimeoutError) or (scopes and scopes[0].cancel_called):
                where = (
                    "it starts on its own" if self.config.command else f"it is running at {self.config.url}"
                )
                raise McpError(
                    f"MCP server '{self.name}' did not answer within {self.config.timeout_s:g} s",
                    f"check that {where}; raise tools.mcp.{self.name}.timeout_s if it is just slow",
                ) from None
            raise self._failure(_leaf(exc)) from None

    def _failure(self, exc: BaseException) -> McpError:
        """The typed, actionable form of what went wrong, naming the innermost cause."""
        if isinstance(exc, McpError):
            return exc
        what = f"{type(exc).__name__}: {exc}"[:200]
        if not self.config.url:
            return McpError(
                f"MCP server '{self.name}' failed: {what}", "check its command and run it by hand"
            )
        import httpx2

        url, key = self.config.url, f"tools.mcp.{self.name}.url"
        if isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout | ConnectionError):
            return McpError(
                f"MCP server '{self.name}' is not reachable at {url} ({what})",
                f"start it, or correct {key} if it listens elsewhere",
            )
        return McpError(
            f"MCP server '{self.name}' at {url} failed: {what}",
            f"check that it is still running, and that {key} is its streamable HTTP endpoint (often /mcp)",
        )

    def presented(self) -> list[Presented]:
        """The allow-listed tools as the server presents them now: name, description, input schema."""

        async def work(session):
            return (await session.list_tools()).tools

        allow = set(self.config.allow)
        out = []
        for t in self._run(work):
            if t.name not in allow:
                continue
            schema = getattr(t, "inputSchema", None) or getattr(t, "input_schema", None) or {}
            out.append(Presented(t.name, t.description or "", schema if isinstance(schema, dict) else {}))
        return out

    def tool(self, p: Presented) -> Tool:
        """The planner's view of a presented tool: its description sanitised, its arguments plain
        names of JSON types (an argument name that is not an identifier is a tool not offered)."""
        props: dict[str, dict[str, Any]] = {}
        for k, v in (p.schema.get("properties") or {}).items():
            if not isinstance(k, str) or not _ARG_NAME.fullmatch(k):
                raise McpError(
                    f"MCP server '{self.name}' presents tool '{p.name}' with an argument named {k!r}",
                    "argument names must be plain identifiers; the tool is not offered",
                )
            kind = v.get("type") if isinstance(v, dict) else None
            props[k] = {"type": kind if kind in _JSON_TYPES else "string"}
            enum = v.get("enum") if isinstance(v, dict) else None
            if isinstance(enum, list) and 0 < len(enum) <= 32 and all(map(_choice, enum)):
                props[k]["enum"] = enum  # plain short choices: the planner's grammar keeps to them
        required = tuple(r for r in (p.schema.get("required") or ()) if isinstance(r, str) and r in props)
        return Tool(
            name=f"{self.name}__{p.name}",
            description=sanitize_description(p.description),
            tier=Tier(self.config.tier),
            params=props,
            handler=self._caller(p.name),
            required=required,
            timeout_s=self.config.timeout_s + 3,  # a stdio server's shutdown takes ~2 s more
            source=f"mcp:{self.name}",
            verb=f"use {self.name} {p.name}",
            category="sensitive" if self.config.tier == "sensitive" else "",
            # what it acts on, read from its input schema by one fixed rule (`reach.schema_words`)
            objects=schema_words(p.schema, sanitize_description),
        )

    def discover(self) -> list[Tool]:
        """The allow-listed tools as presented, unpinned (a tool with a bad argument name raises)."""
        return [self.tool(p) for p in self.presented()]

    def discover_pinned(self, pins: McpPins) -> tuple[list[Tool], list[str]]:
        """The allow-listed tools that match their pins, and a notice for each one held back."""
        presented, problems = pins.admit(self.name, self.presented())
        tools = []
        for p in presented:
            try:
                tools.append(self.tool(p))
            except McpError as exc:
                problems.append(f"{exc.message} (hint: {exc.hint})")
        return tools, problems

    def _caller(self, tool_name: str):
        def call(args: dict[str, Any]) -> ToolResult:
            async def work(session):
                return await session.call_tool(tool_name, args)

            try:
                result = self._run(work)
            except McpError as exc:
                return ToolResult(False, exc.message)
            text = _content_text(result)[:4000]
            if getattr(result, "isError", False) or getattr(result, "is_error", False):
                return ToolResult(False, f"{self.name} {tool_name} failed", None, text)
            return ToolResult(True, f"{self.name} {tool_name} answered", None, text)

        return call


def load_mcp_tools(
    servers: dict[str, McpServerConfig], pins: Path | None = None
) -> tuple[list[Tool], list[str]]:
    """Tools of every configured server that answers; a server that fails is named, not fatal.
    With `pins` (DATA_DIR/mcp_pins.json, see `pins_path`), only tools that match their pin are
    offered, and each one held back is named in the problems."""
    tools: list[Tool] = []
    problems: list[str] = []
    store = McpPins(pins) if pins is not None else None
    for name, conf in servers.items():
        try:
            if store is None:
                tools += McpServer(name, conf).discover()
                continue
            found, held = McpServer(name, conf).discover_pinned(store)
            tools += found
            problems += held
        except McpError as exc:
            problems.append(f"{exc.message} (hint: {exc.hint})" if exc.hint else exc.message)
    return tools, problems
