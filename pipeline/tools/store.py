"""Tool state on disk: one JSON document per tool family, written atomically (temp file, fsync,
rename), so a crash mid-write leaves the previous state, never a torn file."""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from .errors import ToolStateError


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


def spool(folder: Path, record: dict[str, Any]) -> Path:
    """One record as its own JSON file in `folder` (an outbox, the orders): written atomically, named
    by time so a reader drains them in order."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}.json"
    atomic_write_text(path, json.dumps(record, ensure_ascii=False))
    return path


class JsonState:
    """A small JSON document with a lock: read-modify-write under `update()`."""

    def __init__(self, path: Path, default: dict[str, Any]) -> None:
        self.path = path
        self.default = default
        self._lock = threading.Lock()

    def read(self) -> dict[str, Any]:
        """The document; a file that is not valid JSON is a typed error, and it is left as it is
        (never overwritten by the next update), so nothing in it is lost."""
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return json.loads(json.dumps(self.default))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ToolStateError(
                f"{self.path} is damaged ({exc}); Twin left it untouched",
                f"repair it, or move it aside to start {self.path.stem} afresh",
            ) from None
        if not isinstance(state, dict):
            raise ToolStateError(f"{self.path} does not hold a JSON object", "move it aside to start afresh")
        return state

    def update(self, fn) -> Any:
        with self._lock:
            state = self.read()
            out = fn(state)
            atomic_write_text(self.path, json.dumps(state, ensure_ascii=False, indent=1))
            return out
