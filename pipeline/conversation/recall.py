"""The conversation's side of long-term memory: spoken memory commands, recall under a strict
time budget (a slow store never holds the reply), and the write policy after the turn, off the
voice path."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

from memory import MemoryRecall, parse_command
from pipeline.config import TwinConfig
from pipeline.runtime.endpointing import Endpoint


class MemoryBridge:
    def __init__(self, cfg: TwinConfig, memory: MemoryRecall | None, pools: Any) -> None:
        self.cfg = cfg
        self.memory = memory
        self.pools = pools
        self._writes: list[concurrent.futures.Future] = []

    async def command(self, text: str, scope: str | None, endpoint: Endpoint) -> str | None:
        """'Forget that', 'what do you remember about me?': answered from memory, not the model.
        A command changes stored data, so it waits until the user has surely finished speaking."""
        if self.memory is None or parse_command(text) is None:
            return None
        await endpoint.wait()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pools.memory, self.memory.handle_command, text, scope)

    async def recall(self, text: str, scope: str | None) -> list[str]:
        if self.memory is None:
            return []
        loop = asyncio.get_running_loop()
        budget = self.cfg.memory.recall_budget_ms / 1000
        future = loop.run_in_executor(self.pools.recall, self.memory.recall, text, scope, budget)
        try:
            return await asyncio.wait_for(asyncio.shield(future), budget)
        except TimeoutError:
            return []

    def observe(self, text: str, said: str, scope: str | None, turn_id: int) -> None:
        if self.memory is None:
            return
        fut = self.pools.memory.submit(self.memory.observe, text, said, scope, f"turn {turn_id}")
        self._writes = [f for f in self._writes if not f.done()] + [fut]

    def flush(self, timeout: float = 30.0) -> None:
        """Wait for this session's pending memory writes (tests, shutdown)."""
        concurrent.futures.wait(self._writes, timeout)

    def housekeeping(self) -> None:
        """Consolidation and fading, off the voice path."""
        if self.memory is not None and hasattr(self.memory, "consolidate"):
            m = self.cfg.memory
            self.pools.memory.submit(self.memory.consolidate, None, m.episode_days, m.fade_days)
