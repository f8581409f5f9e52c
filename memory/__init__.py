"""Long-term memory: typed items on Qdrant, a deliberate write policy, hybrid recall under a time
budget, per-speaker scopes, and the user's controls (list, search, forget, export, import)."""

from __future__ import annotations

from typing import Protocol

from .confirm import WriteRequest, parse_statement, parse_write_request
from .forgetting import ForgetPlan, Receipt
from .items import Kind, MemoryError_, MemoryInputError, MemoryItem
from .policy import extract, parse_command
from .service import Hit, Memory, MemoryImportStopped
from .speakers import HOUSEHOLD
from .store import MemoryDiskFullError, MemoryStoreError


class MemoryRecall(Protocol):
    def recall(self, query: str, speaker: str | None, budget_s: float) -> list[str]:
        """Up to a few short memory lines relevant to `query`, within `budget_s` seconds."""
        ...

    def observe(self, user_text: str, reply: str, speaker: str | None, source: str = "") -> list[MemoryItem]:
        """After a turn, off the voice path: decide what (if anything) to remember; `source` names the
        turn it came from ("turn 12"), so a memory can be traced back to where it was said."""
        ...

    def write_request(self, text: str, speaker: str | None, source: str = "") -> str | None:
        """A request to remember, written now; the reply says what was kept (or why nothing was).
        None when `text` is no such request."""
        ...

    def handle_command(self, text: str, speaker: str | None) -> str | None:
        """A spoken memory command answered directly, or None. Never deletes: a forget command is
        answered with how to do it (see plan_command / carry_out)."""
        ...

    def plan_command(self, text: str, speaker: str | None) -> ForgetPlan | None:
        """What a spoken forget command would delete, deleting nothing; None when it is not one."""
        ...

    def carry_out(self, plan: ForgetPlan, who: str, at: float | None = None) -> Receipt:
        """Delete what `plan` showed, after the caller's confirmation and audit; writes a receipt."""
        ...


__all__ = [
    "HOUSEHOLD",
    "ForgetPlan",
    "Hit",
    "Kind",
    "Memory",
    "MemoryDiskFullError",
    "MemoryError_",
    "MemoryImportStopped",
    "MemoryInputError",
    "MemoryItem",
    "MemoryRecall",
    "MemoryStoreError",
    "Receipt",
    "WriteRequest",
    "extract",
    "parse_command",
    "parse_statement",
    "parse_write_request",
]
