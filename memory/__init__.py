"""Long-term memory. The foundation defines the seam the conversation engine calls; the typed store
on Qdrant fills it (see the memory issue)."""

from __future__ import annotations

from typing import Protocol


class MemoryRecall(Protocol):
    def recall(self, query: str, speaker: str | None, budget_s: float) -> list[str]:
        """Up to a few short memory lines relevant to `query`, within `budget_s` seconds."""
        ...

    def observe(self, user_text: str, reply_text: str, speaker: str | None) -> None:
        """After a turn, off the voice path: decide what (if anything) to remember."""
        ...


__all__ = ["MemoryRecall"]
