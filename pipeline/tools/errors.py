"""Typed errors for tool calls: each names what was wrong and how to fix it, with a stable code."""

from __future__ import annotations

from models.errors import TwinError


class ToolError(TwinError):
    code = "tool_error"
    exit_code = 2


class MalformedToolCallError(ToolError):
    code = "tool_call_malformed"


class UnknownToolError(ToolError):
    code = "tool_unknown"


class ToolArgumentError(ToolError):
    code = "tool_bad_args"


class ToolTimeoutError(ToolError):
    code = "tool_timeout"


class ToolFailedError(ToolError):
    code = "tool_failed"


class ToolStateError(ToolError):
    code = "tool_state_damaged"
