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

from .config import McpServerConfig
from .tools.base import Tier, Tool, ToolResult

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

            return streamable_http_client(self.config.url)
        raise McpError(f"MCP server '{self.name}' has neither a command nor a url", "set one in the config")

    async def _session(self, work):
        from mcp import ClientSession

        async with self._client() as streams, ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            return await work(session)

    def _run(self, work) -> Any:
        async def bounded():
            return await asyncio.wait_for(self._session(work), self.config.timeout_s)

        try:
            return asyncio.run(bounded())
        except TimeoutError:
            raise McpError(
                f"MCP server '{self.name}' did not answer within {self.config.timeout_s:g} s",
                "check that it starts on its own; raise tools.mcp.<name>.timeout_s if it is just slow",
            ) from None
        except McpError:
            raise
        except BaseException as exc:  # a crashed server surfaces as many kinds of error (groups too)
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise McpError(
                f"MCP server '{self.name}' failed: {type(exc).__name__}: {exc}"[:300],
                "check its command and run it by hand",
            ) from None

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
                    timeout_s=self.config.timeout_s + 1,
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
            problems.append(exc.message)
    return tools, problems
