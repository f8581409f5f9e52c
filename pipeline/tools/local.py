"""Twin's own tools over one data directory, with their state in DATA_DIR/tools (atomic JSON writes,
so it survives a restart or a crash). Messages and orders go to local spools the user's outbox drains.

The tools themselves are in pipeline/tools/families, one module per family; this is only their
composition: one registry, and one clock that rings whatever came due.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.tools.base import ToolRegistry
from pipeline.tools.family import Context, Family, families


class LocalTools:
    """Builds the registry of local tools over one data directory. `now` is injectable for tests."""

    def __init__(
        self,
        data_dir: Path,
        now: Callable[[], datetime] | None = None,
        outbox: Any | None = None,
        memory: Any | None = None,
    ) -> None:
        """`outbox`: the [tools.outbox] config (None: the local spool); `memory`: a memory.Memory
        for the remember/recall/forget tools (None: those tools are not offered)."""
        self.dir = data_dir / "tools"
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.now = now or (lambda: datetime.now().astimezone())
        self.memory = memory
        ctx = Context(data_dir, self.now, outbox, memory)
        self.families: list[Family] = [family(ctx) for family in families()]

    def registry(self) -> ToolRegistry:
        return ToolRegistry([t for f in self.families if f.offered for t in f.tools()])

    def fire_due(self) -> list[dict[str, Any]]:
        """Everything whose time has come, to ring (see Clock.fire_due); called every second by the
        live loop's clock, so a family with nothing due writes nothing."""
        return [item for f in self.families for item in f.fire_due()]

    def __getattr__(self, name: str) -> Any:
        """A family's state or handler by its name (`local.timers`, `local.set_timer(args)`), so the
        engine and tests reach a tool's state without knowing which family holds it."""
        if name.startswith("_") or name == "families":
            raise AttributeError(name)
        for family in self.families:
            if hasattr(family, name):
                return getattr(family, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
