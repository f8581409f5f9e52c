"""The timestamped stage events of the last N turns, kept in the data directory for `twin trace`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from models.durable import atomic_write_lines


class TraceStore:
    def __init__(self, path: Path, keep: int) -> None:
        self.path = path
        self.keep = keep

    def load(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a torn line from a crash costs that one trace, never the others
        return out

    def append(self, record: dict[str, Any]) -> None:
        """Rewritten whole, atomically, to drop the oldest turns: a crash leaves the old file or the
        new one; private (0600) because a trace holds what was said."""
        records = (self.load() + [record])[-self.keep :]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_lines(self.path, (json.dumps(r, ensure_ascii=False) for r in records))
