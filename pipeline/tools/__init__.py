"""Tools Twin can use: the Tool type, its risk tiers, the registry, and the local tools (their families
are in pipeline/tools/families, one module each)."""

from pipeline.tools.base import Tier, Tool, ToolCall, ToolRegistry, ToolResult
from pipeline.tools.errors import (
    MalformedToolCallError,
    ToolArgumentError,
    ToolError,
    ToolFailedError,
    ToolTimeoutError,
    UnknownToolError,
)
from pipeline.tools.local import LocalTools

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
