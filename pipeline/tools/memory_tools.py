"""Memory as tools, through the memory package's interface: remember, recall, forget.

Each call is scoped to the speaker of the turn (the runner passes it; the model cannot choose it),
so a guest's planner can never read or erase the owner's memories. Recalled text is untrusted data
(it may hold words someone else once said), and forgetting deletes for real: it is sensitive.
"""

from __future__ import annotations

from typing import Any, Protocol

from .base import Tier, Tool, ToolResult
from .errors import ToolArgumentError

S = {"type": "string"}


class MemoryTools(Protocol):
    """What these tools need of memory.service.Memory."""

    def remember(self, text: str, speaker: str = ..., kind: Any = ..., **kw: Any) -> Any: ...

    def search(self, query: str, speaker: str | None, k: int = ..., **kw: Any) -> list[Any]: ...

    def forget_about(self, topic: str, speaker: str, min_cosine: float = ...) -> int: ...


def _text(a: dict[str, Any], key: str) -> str:
    value = str(a.get(key, "")).strip()
    if not value:
        raise ToolArgumentError(f"'{key}' is empty", f"say what to {key}")
    return value


def memory_tools(memory: MemoryTools) -> list[Tool]:
    def remember(a: dict[str, Any], speaker: str) -> ToolResult:
        item = memory.remember(_text(a, "text"), speaker, "fact", source="tool:remember", importance=0.7)
        return ToolResult(True, f"remembered: {item.text}", {"id": item.id})

    def recall(a: dict[str, Any], speaker: str) -> ToolResult:
        hits = memory.search(_text(a, "query"), speaker, k=5)
        if not hits:
            return ToolResult(True, "nothing remembered about that")
        lines = "\n".join(f"- {h.item.text}" for h in hits)
        return ToolResult(True, f"{len(hits)} memories found", {"ids": [h.item.id for h in hits]}, lines)

    def forget(a: dict[str, Any], speaker: str) -> ToolResult:
        n = memory.forget_about(_text(a, "topic"), speaker)
        return ToolResult(True, f"forgot {n} {'memory' if n == 1 else 'memories'} about {a['topic']}", n)

    return [
        Tool(
            "remember",
            "remember a fact the user tells you about themselves",
            Tier.ACT,
            {"text": S},
            remember,
            ("text",),
            verb="remember",
            needs_speaker=True,
        ),
        Tool(
            "recall_memories",
            "look up what you remember about the user",
            Tier.READ,
            {"query": S},
            recall,
            ("query",),
            needs_speaker=True,
        ),
        Tool(
            "forget_memories",
            "forget (delete) what you remember about a topic",
            Tier.SENSITIVE,
            {"topic": S},
            forget,
            ("topic",),
            verb="forget what I remember about that",
            category="delete",
            needs_speaker=True,
        ),
    ]
