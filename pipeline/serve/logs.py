"""The hub's structured log: one JSON object per line, to stderr and to DATA_DIR/logs/hub.jsonl."""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from models.durable import append_line
from models.errors import TwinError


class HubLog:
    def __init__(self, path: Path | None, stream: TextIO | None = sys.stderr) -> None:
        self.path = path
        self.stream = stream
        self.lines: list[dict[str, Any]] = []  # kept in memory too (health and tests read them)
        self._lock = threading.Lock()

    def event(self, event: str, level: str = "info", **fields: Any) -> dict[str, Any]:
        record = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "level": level, "event": event}
        record.update({k: v for k, v in fields.items() if v is not None})
        line = json.dumps(record, ensure_ascii=False, default=str)
        with self._lock:
            self.lines.append(record)
            del self.lines[:-2000]
            if self.stream is not None:
                print(line, file=self.stream, flush=True)
            if self.path is not None:
                try:
                    append_line(self.path, line)
                except OSError:
                    self.path = None  # a full disk must not stop the hub; stderr still has it
        return record

    def error(self, event: str, exc: BaseException, **fields: Any) -> dict[str, Any]:
        if isinstance(exc, TwinError):
            return self.event(event, "error", code=exc.code, message=exc.message, hint=exc.hint, **fields)
        return self.event(event, "error", code=type(exc).__name__, message=str(exc), **fields)
