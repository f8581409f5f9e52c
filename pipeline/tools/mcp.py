"""MCP servers as tool sources, on the official `mcp` SDK.

Servers are opt-in: only those in `[tools.mcp.<name>]`, only the tools in their `allow` list, each
with the tier the user grants. Their descriptions and outputs are untrusted text: descriptions are
sanitised and length-limited before the planner sees them, and outputs enter the turn's provenance.
Each call opens a session in a worker thread under the server's timeout, so a server that crashes
or hangs costs that call (reported as not done), never the turn.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from models.errors import TwinError
from pipeline.config import McpServerConfig
from pipeline.tools.base import Tier, Tool, ToolResult

DESCRIPTION_LIMIT = 200


class McpError(TwinError):
    code = "mcp_error"
    exit_code = 2


def sanitize_description(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """Plain, short, one line: control and invisible characters and markup removed, then cut."""
    text = "".join(
        " " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c
        for c in unicodedata.normalize("NFKC", text)
    )
    text = re.sub(r"<[^>]{0,200}>", " ", text)
    text = re.sub(r"[`*_#\[\]{}|]+", " ", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


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

    def discover(self) -> list[Tool]:
        async def work(session):
            return (await session.list_tools()).tools

        listed = self._run(work)
        tools = []
        allow = set(self.config.allow)
        for t in listed:
            if t.name not in allow:
                continue
            schema = getattr(t, "inputSchema", None) or getattr(t, "input_schema", None) or {}
            props = {
                k: {"type": v.get("type", "string")}
                if isinstance(v, dict) and isinstance(v.get("type"), str)
                else {"type": "string"}
                for k, v in (schema.get("properties") or {}).items()
            }
            tools.append(
                Tool(
                    name=f"{self.name}__{t.name}",
                    description=sanitize_description(t.description or ""),
                    tier=Tier(self.config.tier),
                    params=props,
                    handler=self._caller(t.name),
                    required=tuple(schema.get("required") or ()),
                    timeout_s=self.config.timeout_s + 3,  # a stdio server's shutdown takes ~2 s more
                    source=f"mcp:{self.name}",
                    verb=f"use {self.name} {t.name}",
                    category="sensitive" if self.config.tier == "sensitive" else "",
                )
            )
        return tools

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


def load_mcp_tools(servers: dict[str, McpServerConfig]) -> tuple[list[Tool], list[str]]:
    """Tools of every configured server that answers; a server that fails is named, not fatal."""
    tools, problems = [], []
    for name, conf in servers.items():
        try:
            tools += McpServer(name, conf).discover()
        except McpError as exc:
            problems.append(f"{exc.message} (hint: {exc.hint})" if exc.hint else exc.message)
    return tools, problems
