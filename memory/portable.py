"""Memory that leaves the device and comes back: a full export the user owns, and an import of that
export or of simple JSONL lines from elsewhere. An import reports bad lines rather than failing whole,
because a hand-written file with one typo should still bring in the rest."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from models.durable import atomic_write_text

from .items import Kind, MemoryInputError, MemoryItem, check_time, validate_text
from .redaction import redact_secrets
from .speakers import speaker_scope
from .store import write_error
from .timestamps import parse_timestamp

FORMAT = "twin-memory"
# Where a JSONL line's time may be, first found wins: what other tools' exports call it.
TIME_FIELDS = ("time", "timestamp", "date", "datetime", "created_at")
# Who said a conversation turn, and which session or thread it belongs to, as exports name them.
# ("speaker" stays whose memory it is: the importing person's scope.)
SAID_BY_FIELDS = ("said_by", "author", "sender", "from")
SESSION_FIELDS = ("session", "session_id", "conversation", "conversation_id", "thread", "thread_id")
# Consecutive turns of one scope and session follow each other when they are this close in time.
FOLLOW_GAP_S = 6 * 3600


def write_export(path: Path, items: list[MemoryItem], embedder: str) -> int:
    """Written atomically and private (0600): a torn or world-readable export of someone's memories
    would be worse than none. The folder, when new, is made as the user would make it."""
    if path.is_dir():
        raise MemoryInputError(f"{path} is a folder", f"name a file, e.g. {path / 'memories.json'}")
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": 1,
        "embedder": embedder,
        "items": [_exportable(it.to_payload()) for it in items],
    }
    text = json.dumps(doc, ensure_ascii=False, indent=1, allow_nan=False)  # valid JSON only
    try:
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic_write_text(path, text)
    except (NotADirectoryError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        raise MemoryInputError(
            f"cannot write {path}: {exc.strerror or exc}", "choose a file in a folder you can write"
        ) from None
    except OSError as exc:
        raise write_error(exc, f"export to {path}") from None
    return len(items)


def _exportable(payload: dict[str, Any]) -> dict[str, Any]:
    """An item's payload with no NaN or infinity (JSON has none): such a number, from a store
    written before values were checked, is left out, so the export always reads back."""
    return {k: v for k, v in payload.items() if not (isinstance(v, float) and not math.isfinite(v))}


def read_import(path: Path) -> tuple[list[MemoryItem], list[tuple[int, str]], list[int]]:
    """The items to add, (line or item number, what is wrong) for each one left out, and each kept
    item's line or item number (so a later conflict is reported where it is in the file)."""
    if path.is_dir():
        raise MemoryInputError(f"{path} is a folder", "name an export file (JSON) or a JSONL file")
    try:
        raw = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise MemoryInputError(f"{path} does not exist", "check the path") from None
    except OSError as exc:
        raise MemoryInputError(f"cannot read {path}: {exc.strerror or exc}", "check the path") from None
    where: list[int] = []
    errors: list[tuple[int, str]] = []
    items: list[MemoryItem] = []
    if raw.lstrip().startswith("{") and f'"format": "{FORMAT}"' in raw[:200]:
        try:
            doc = json.loads(raw, parse_constant=_no_constant)
        except ValueError as exc:
            raise MemoryInputError(f"{path.name} is not valid JSON: {exc}", "export again") from None
        listed = doc.get("items", []) if isinstance(doc, dict) else None
        if not isinstance(listed, list):
            raise MemoryInputError(f"{path.name} has no list of items", "export again")
        for n, data in enumerate(listed, 1):
            try:
                item = MemoryItem.from_payload(data)
                item.text = validate_text(item.text)
                item.speaker = speaker_scope(item.speaker)
                items.append(item)
                where.append(n)
            except MemoryInputError as exc:
                errors.append((n, exc.message))
            except (ValueError, TypeError) as exc:
                errors.append((n, str(exc)[:120]))
    else:
        last: tuple[MemoryItem, object] | None = None  # the previous good line's turn and session
        for n, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line, parse_constant=_no_constant)
                item = _from_jsonl(data)
                session = _first(data, SESSION_FIELDS)
                if isinstance(session, dict | list):
                    raise MemoryInputError("'session' must be a name or a number", '{"session": "s1"}')
                if item.said_by and last is not None and _same_session(last[0], last[1], item, session):
                    item.follows = last[0].id
                last = (item, session) if item.said_by else None
                items.append(item)
                where.append(n)
            except MemoryInputError as exc:
                errors.append((n, exc.message))
            except ValueError as exc:
                errors.append((n, f"not valid JSON ({str(exc)[:60]})"))
            except (TypeError, OverflowError) as exc:  # any other field of the wrong shape
                errors.append((n, f"a field has the wrong type ({str(exc)[:60]})"))
    return items, errors, where


def _no_constant(name: str) -> float:
    """NaN and Infinity are not JSON: Python's reader accepts them, this import does not."""
    raise MemoryInputError(f"{name} is not a valid JSON number", "give times as ISO 8601 dates")


def _from_jsonl(data: object) -> MemoryItem:
    if not isinstance(data, dict):
        raise MemoryInputError("each line must be a JSON object", '{"id": "...", "text": "..."}')
    if "id" not in data or "text" not in data:
        raise MemoryInputError("each line needs 'id' and 'text'", '{"id": "m1", "text": "..."}')
    text = validate_text(data["text"])
    when = _first(data, TIME_FIELDS)
    said_by = _first(data, SAID_BY_FIELDS) or ""
    if not isinstance(said_by, str) or len(said_by) > 64:
        raise MemoryInputError("'said_by' must be a short name", '{"said_by": "Liz"}')
    if isinstance(when, str):
        when = parse_time(when)
    try:
        kind = Kind(data.get("kind") or "fact")
    except (ValueError, TypeError):
        raise MemoryInputError(
            f"unknown kind '{str(data.get('kind'))[:40]}'", "use one of: " + ", ".join(k.value for k in Kind)
        ) from None
    t = check_time(when) if when is not None else time.time()
    item_id, speaker = data["id"], data.get("speaker") or "owner"
    if not isinstance(item_id, str | int) or isinstance(item_id, bool) or not str(item_id).strip():
        raise MemoryInputError("'id' must be a non-empty string", '{"id": "m1", "text": "..."}')
    if not isinstance(speaker, str):
        raise MemoryInputError("'speaker' must be a name", '{"speaker": "anna"}')
    return MemoryItem(
        text=redact_secrets(text)[0],
        kind=kind,
        speaker=speaker_scope(speaker),
        id=str(item_id),
        created=t,
        valid_from=t,
        source="import",
        said_by=" ".join(said_by.split()),
    )


def _first(data: dict, names: tuple[str, ...]) -> object:
    return next((data[k] for k in names if data.get(k) is not None), None)


def _same_session(before: MemoryItem, b_session: object, item: MemoryItem, session: object) -> bool:
    """Whether `item` is the turn after `before` in one conversation: same scope, same session (or
    neither names one) and close in time."""
    return (
        before.speaker == item.speaker
        and b_session == session
        and abs(item.valid_from - before.valid_from) <= FOLLOW_GAP_S
    )


def parse_time(when: str) -> float:
    """A timestamp as exports write it (memory/timestamps.py: ISO 8601, RFC 2822, "9:55 am on 22
    October, 2023", day-first "22/10/2023 21:55") as seconds since 1970, checked to be a real date."""
    return parse_timestamp(when)


def import_into(mem: Any, path: Path, batch_size: int = 64) -> tuple[int, list[tuple[int, str]]]:
    """An export (JSON) or JSONL lines {"id","text","speaker"?,"time"?,"kind"?}. Bad lines are
    reported by line number; the rest are imported; nothing stored is touched: an id that is
    already stored (or repeated in the file) is a conflict, reported, never a replacement. A
    write that fails midway raises MemoryImportStopped with the count that did get in."""
    from .service import MemoryImportStopped

    items, errors, where = read_import(Path(path))
    keep: list[MemoryItem] = []
    seen: set[str] = set()
    with mem._lock:
        for item, n in zip(items, where, strict=True):
            if item.id in mem.items:
                old = mem.items[item.id]
                errors.append(
                    (n, f"id '{item.id[:40]}' is already stored (speaker {old.speaker}); not replaced")
                )
            elif item.id in seen:
                errors.append((n, f"id '{item.id[:40]}' appears earlier in the file; not imported twice"))
            else:
                seen.add(item.id)
                keep.append(item)
    errors.sort()
    try:
        mem.add_many(keep, batch_size)
    except MemoryImportStopped as exc:
        exc.errors = errors
        raise
    return len(keep), errors
