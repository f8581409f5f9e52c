"""Tool state on disk: one JSON document per tool family, written atomically (temp file, fsync,
rename), so a crash mid-write leaves the previous state, never a torn file."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class JsonState:
    """A small JSON document with a lock: read-modify-write under `update()`."""

    def __init__(self, path: Path, default: dict[str, Any]) -> None:
        self.path = path
        self.default = default
        self._lock = threading.Lock()

    def read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return json.loads(json.dumps(self.default))

    def update(self, fn) -> Any:
        with self._lock:
            state = self.read()
            out = fn(state)
            atomic_write_text(self.path, json.dumps(state, ensure_ascii=False, indent=1))
            return out
