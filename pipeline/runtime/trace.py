"""The timestamped stage events of the last N turns, kept in the data directory for `twin trace`.

A trace never holds a secret: every record is redacted as it is written (memory/redaction.py). A
turn that held one anywhere (what was heard, the reply, or the reply's text split over stream
chunks) keeps no free text at all beyond the redacted lines themselves, since a value split over
chunks ("43", "21") cannot be seen in any one of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from memory.redaction import redact_secrets
from models.durable import atomic_write_lines

WITHHELD = "[withheld: this turn held a secret]"
# Fields that name things rather than carry what was said: never redacted.
_STRUCTURAL = frozenset(
    {"event", "at", "mode", "status", "language", "speaker", "emotion", "backend", "code", "reason"}
)


def _strings(node: Any, key: str = "") -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in _strings(v, str(k))]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v, key)]
    return [node] if isinstance(node, str) and key not in _STRUCTURAL else []


def _redact(node: Any, withhold: bool, key: str = "") -> Any:
    if isinstance(node, dict):
        return {k: _redact(v, withhold, str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [_redact(v, withhold, key) for v in node]
    if not isinstance(node, str) or key in _STRUCTURAL or not node.strip():
        return node
    text, found = redact_secrets(node)
    if found or not withhold:
        return text
    return WITHHELD


def redact_trace_record(record: dict[str, Any]) -> dict[str, Any]:
    """The record with every secret gone; idempotent, so older records can be passed again."""
    texts = _strings(record)
    chunks = [
        e.get("text", "")
        for e in record.get("events") or []
        if isinstance(e, dict) and e.get("event") == "ReplyTextChunk" and isinstance(e.get("text"), str)
    ]
    held = any(redact_secrets(t)[1] for t in texts) or redact_secrets("".join(chunks))[1]
    held = held or redact_secrets(" ".join(texts))[1]
    return _redact(record, held)


REDACTED = "redacted"  # the record has been through redact_trace_record


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
        new one; private (0600) because a trace holds what was said, and redacted (the records an
        older Twin wrote in clear are redacted too as the file is rewritten)."""
        records = (self.load() + [record])[-self.keep :]
        # Each record is redacted once and marked: not the whole file again on every turn. Records an
        # older Twin wrote in clear carry no mark and are redacted as the file is next rewritten.
        records = [
            {**redact_trace_record(r), REDACTED: True} if isinstance(r, dict) and not r.get(REDACTED) else r
            for r in records
        ]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_lines(self.path, (json.dumps(r, ensure_ascii=False) for r in records))
