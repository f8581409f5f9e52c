"""The tool-call audit: an append-only JSONL file in DATA_DIR, each entry hash-chained to the one
before, fsync'd as it is written. A separate head file records the last entry's sequence number and
hash, so cutting entries off the end is found too. Verification reports the first line where the
chain breaks; nothing is ever repaired or rewritten.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.durable import append_line, atomic_write_text
from models.errors import TwinError

GENESIS = "0" * 64


class AuditBrokenError(TwinError):
    code = "audit_broken"
    exit_code = 5


def _digest(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class AuditCheck:
    ok: bool
    entries: int
    broken_line: int | None = None  # 1-based line number of the first bad entry
    reason: str = ""


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.head_path = path.with_name(path.name + ".head")
        self._lock = threading.Lock()

    def _tail(self) -> tuple[int, str]:
        """The sequence number and hash to chain the next entry to, from the last line as written."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return 0, GENESIS
        with self.path.open("rb") as f:
            f.seek(max(0, self.path.stat().st_size - 65536))
            lines = f.read().splitlines()
        try:
            last = json.loads(lines[-1])
            return int(last["seq"]), str(last["hash"])
        except (ValueError, KeyError, IndexError):
            # A torn or edited last line: chain to a marker, so verification keeps reporting the break.
            return -1, "broken"

    def append(self, **fields: Any) -> dict[str, Any]:
        with self._lock:
            seq, prev = self._tail()
            entry = {
                "seq": seq + 1,
                "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                **fields,
                "prev": prev,
            }
            entry["hash"] = _digest(entry)
            append_line(self.path, json.dumps(entry, ensure_ascii=False))  # fsync'd before the head moves
            atomic_write_text(self.head_path, json.dumps({"seq": entry["seq"], "hash": entry["hash"]}))
            return entry

    def entries(self) -> list[dict[str, Any]]:
        out = []
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    out.append({"unreadable": line[:200]})
        return out

    def verify(self) -> AuditCheck:
        prev, n = GENESIS, 0
        lines = self.path.read_bytes().split(b"\n") if self.path.exists() else [b""]
        if lines[-1] != b"":
            return AuditCheck(False, n, len(lines), "the last entry is incomplete (torn or truncated write)")
        for i, raw in enumerate(lines[:-1], 1):
            try:
                entry = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                return AuditCheck(False, n, i, "entry is not valid JSON")
            if not isinstance(entry, dict) or entry.get("prev") != prev:
                return AuditCheck(
                    False, n, i, "entry does not chain to the previous one (removed or reordered)"
                )
            if entry.get("seq") != i:
                return AuditCheck(False, n, i, f"sequence number {entry.get('seq')} where {i} was expected")
            if _digest(entry) != entry.get("hash"):
                return AuditCheck(False, n, i, "entry was edited (its hash does not match its content)")
            prev, n = entry["hash"], n + 1
        head = None
        if self.head_path.exists():
            try:
                head = json.loads(self.head_path.read_text())
            except json.JSONDecodeError:
                return AuditCheck(False, n, None, "the head record is unreadable")
        if head is None and n:
            return AuditCheck(False, n, None, "the head record is missing")
        if head is not None and (head.get("seq") != n or head.get("hash") != prev):
            return AuditCheck(
                False,
                n,
                n + 1,
                f"the log ends at entry {n} but the head records entry {head.get('seq')} "
                "(entries were cut off the end)",
            )
        return AuditCheck(True, n)
