"""Tools Twin can use: the Tool type, its risk tiers, the registry, and the local tools."""

from .base import Tier, Tool, ToolCall, ToolRegistry, ToolResult
from .errors import (
    MalformedToolCallError,
    ToolArgumentError,
    ToolError,
    ToolFailedError,
    ToolTimeoutError,
    UnknownToolError,
)
from .local import LocalTools

__all__ = [
    "LocalTools",
    "MalformedToolCallError",
    "Tier",
    "Tool",
    "ToolArgumentError",
    "ToolCall",
    "ToolError",
    "ToolFailedError",
    "ToolRegistry",
    "ToolResult",
    "ToolTimeoutError",
    "UnknownToolError",
]
