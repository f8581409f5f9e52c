"""Memory as tools, through the memory package's interface: remember, recall, forget.

Each call is scoped to the speaker of the turn (the runner passes it; the model cannot choose it),
so a guest's planner can never read or erase the owner's memories. Recalled text is untrusted data
(it may hold words someone else once said), and forgetting deletes for real: it is sensitive.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from pipeline.tools.base import Tier, Tool, ToolResult
from pipeline.tools.errors import ToolArgumentError
from pipeline.tools.family import Context, Family, S, tool

MEMORY = r"\b(remember|recall|forget|memor(?:y|ies))\b"
MEMORY_CUE = r"\b(?:recall|forget) (?:what|everything|all)\b|\bremember (?:that|this)\b"


class MemoryTools(Protocol):
    """What these tools need of memory.service.Memory."""

    def remember(self, text: str, speaker: str = ..., kind: Any = ..., **kw: Any) -> Any: ...

    def search(self, query: str, speaker: str | None, k: int = ..., **kw: Any) -> list[Any]: ...

    def plan_forget(self, speaker: str, *, about: str | None = None, **kw: Any) -> Any: ...

    def carry_out(self, plan: Any, who: str, at: float | None = None) -> Any: ...


def _text(a: dict[str, Any], key: str) -> str:
    value = str(a.get(key, "")).strip()
    if not value:
        raise ToolArgumentError(f"'{key}' is empty", f"say what to {key}")
    return value


class Memories(Family):
    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.memory: MemoryTools | None = ctx.memory

    @property
    def offered(self) -> bool:
        return self.memory is not None

    @tool(
        "forget_memories",
        "forget (delete) what you remember about a topic",
        Tier.SENSITIVE,
        {"topic": S},
        ("topic",),
        verb="forget what I remember about that",
        category="delete",
        needs_speaker=True,
        cue=MEMORY_CUE,
        topic=MEMORY,
        verbs=r"\bforget\b",
    )
    def forget(self, a: dict[str, Any], speaker: str) -> ToolResult:
        """The runner has asked for the yes and writes the audit entry; this is memory's one deletion
        path (plan -> carry_out), the same as voice and the CLI: matched by meaning, and a receipt
        in DATA_DIR/receipts/."""
        plan = self.memory.plan_forget(speaker, about=_text(a, "topic"))
        if not plan.items:
            return ToolResult(True, f"nothing remembered about {a['topic']}", {"deleted": 0})
        receipt = self.memory.carry_out(plan, who=speaker)
        n = receipt.deleted
        summary = f"forgot {n} {'memory' if n == 1 else 'memories'} about {a['topic']}"
        if receipt.error:
            summary += f" (no receipt: {receipt.error})"
        data = {"deleted": n, "ids": receipt.ids, "receipt": str(receipt.path) if receipt.path else None}
        return ToolResult(True, summary, data)

    @tool(
        "remember",
        "remember a fact the user tells you about themselves",
        Tier.ACT,
        {"text": S},
        ("text",),
        verb="remember",
        needs_speaker=True,
        cue=MEMORY_CUE,
        topic=MEMORY,
        verbs=r"\bremember\b",
    )
    def remember(self, a: dict[str, Any], speaker: str) -> ToolResult:
        item = self.memory.remember(_text(a, "text"), speaker, "fact", source="tool:remember", importance=0.7)
        return ToolResult(True, f"remembered: {item.text}", {"id": item.id})

    @tool(
        "recall_memories",
        "look up what you remember about the user",
        Tier.READ,
        {"query": S},
        ("query",),
        needs_speaker=True,
        cue=MEMORY_CUE,
        topic=MEMORY,
        verbs=r"\b(recall|what do you (know|remember))\b",
    )
    def recall(self, a: dict[str, Any], speaker: str) -> ToolResult:
        hits = self.memory.search(_text(a, "query"), speaker, k=5)
        if not hits:
            return ToolResult(True, "nothing remembered about that")
        lines = "\n".join(f"- {h.item.text}" for h in hits)
        return ToolResult(True, f"{len(hits)} memories found", {"ids": [h.item.id for h in hits]}, lines)


def memory_tools(memory: MemoryTools) -> list[Tool]:
    """The memory tools over `memory` alone, outside any session (`twin tools list` shows them
    without opening memory)."""
    return Memories(Context(Path(), datetime.now, memory=memory)).tools()
