"""The timestamped stage events of the last N turns, kept in the data directory for `twin trace`."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


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
        records = (self.load() + [record])[-self.keep :]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name + ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                for r in records:
                    fh.write(json.dumps(r, ensure_ascii=False) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
