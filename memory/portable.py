"""Memory that leaves the device and comes back: a full export the user owns, and an import of that
export or of simple JSONL lines from elsewhere. An import reports bad lines rather than failing whole,
because a hand-written file with one typo should still bring in the rest."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from models.durable import atomic_write_json

from .items import Kind, MemoryInputError, MemoryItem, validate_text
from .redaction import redact_secrets
from .speakers import speaker_scope

FORMAT = "twin-memory"


def write_export(path: Path, items: list[MemoryItem], embedder: str) -> int:
    """Written atomically and private (0600): a torn or world-readable export of someone's memories
    would be worse than none. The folder, when new, is made as the user would make it."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": 1,
        "embedder": embedder,
        "items": [it.to_payload() for it in items],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, doc, indent=1)
    return len(items)


def read_import(path: Path) -> tuple[list[MemoryItem], list[tuple[int, str]]]:
    """The items to add, and (line or item number, what is wrong) for each one left out."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    errors: list[tuple[int, str]] = []
    items: list[MemoryItem] = []
    if raw.lstrip().startswith("{") and f'"format": "{FORMAT}"' in raw[:200]:
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise MemoryInputError(f"{path.name} is not valid JSON: {exc}", "export again") from None
        for n, data in enumerate(doc.get("items", []), 1):
            try:
                item = MemoryItem.from_payload(data)
                item.text = validate_text(item.text)
                items.append(item)
            except (MemoryInputError, ValueError, TypeError) as exc:
                errors.append((n, str(getattr(exc, "message", exc))))
    else:
        for n, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append(_from_jsonl(json.loads(line)))
            except ValueError as exc:
                errors.append((n, f"not valid JSON ({str(exc)[:60]})"))
            except MemoryInputError as exc:
                errors.append((n, exc.message))
    return items, errors


def _from_jsonl(data: object) -> MemoryItem:
    if not isinstance(data, dict):
        raise MemoryInputError("each line must be a JSON object", '{"id": "...", "text": "..."}')
    if "id" not in data or "text" not in data:
        raise MemoryInputError("each line needs 'id' and 'text'", '{"id": "m1", "text": "..."}')
    text = validate_text(data["text"])
    when = data.get("time")
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise MemoryInputError(f"bad time '{when}'", "use ISO 8601, e.g. 2026-11-24T10:00:00") from None
    try:
        kind = Kind(data.get("kind") or "fact")
    except ValueError:
        raise MemoryInputError(
            f"unknown kind '{data.get('kind')}'", "use one of: " + ", ".join(k.value for k in Kind)
        ) from None
    t = float(when) if when is not None else time.time()
    return MemoryItem(
        text=redact_secrets(text)[0],
        kind=kind,
        speaker=speaker_scope(str(data.get("speaker") or "owner")),
        id=str(data["id"]),
        created=t,
        valid_from=t,
        source="import",
    )
