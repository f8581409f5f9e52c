"""The language-model seam: what the runtime and the planner need from a model, and what a model
says it is (descriptor). Adapters (pipeline/llm/llama.py) implement these; nothing here imports one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from models.errors import TwinError


class LlmError(TwinError):
    code = "llm_error"


@dataclass(frozen=True)
class LlmDescriptor:
    name: str
    local: bool
    privacy: str  # on-device | remote
    context_tokens: int
    device: str


class Llm(Protocol):
    descriptor: LlmDescriptor

    def stream(self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event) -> Iterator[str]:
        """Yield reply text pieces; return early once `stop` is set."""
        ...

    def prefill(self, messages: list[dict[str, str]]) -> None:
        """Evaluate a prompt once so its prefix is cached before the first real turn (may do nothing)."""
        ...


class PlannerModel(Protocol):
    def choose(
        self, messages: list[dict[str, str]], schema: dict[str, Any], stop: threading.Event | None = None
    ) -> str:
        """One constrained completion: the raw JSON text of a step (cut short once `stop` is set)."""
        ...
