"""Typed memory items: what Twin may remember about a person, with scope, validity and use."""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from models.errors import BadInputError, TwinError

MAX_TEXT = 2000


class Kind(StrEnum):
    FACT = "fact"
    PREFERENCE = "preference"
    PERSON = "person"  # people and relationships
    EPISODE = "episode"  # something that happened: when, where, which device
    ROUTINE = "routine"
    EMOTION = "emotion"
    WORKING = "working"  # the current task; expires quickly


class MemoryError_(TwinError):  # noqa: N801 - "MemoryError" is a builtin
    code = "memory_error"
    exit_code = 5


class MemoryInputError(BadInputError):
    code = "memory_bad_input"


# Times are seconds since 1970; anything outside year 1970..9999 is no date a person said, and
# `time.localtime` cannot even format it (a listing would crash for the whole store).
MAX_TIME = 253_402_300_799.0  # 9999-12-31T23:59:59Z
_TIMES = ("created", "valid_from", "valid_to", "last_used")
_UNIT = ("importance", "confidence")


@dataclass
class MemoryItem:
    text: str
    kind: Kind = Kind.FACT
    speaker: str = "owner"
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    key: str = ""  # the slot a fact fills ("lives_in"): a new value supersedes the old
    importance: float = 0.5  # 0..1
    confidence: float = 0.8
    source: str = ""  # which turn or import it came from
    created: float = field(default_factory=time.time)
    valid_from: float = field(default_factory=time.time)
    valid_to: float | None = None  # set when superseded
    superseded_by: str | None = None
    last_used: float | None = None
    use_count: int = 0
    device: str = ""
    private: bool = True  # not read aloud when others are present
    # An imported conversation turn: who said it ("Liz"), and the id of the turn before it in the
    # same session, whose words are part of this turn's key (memory/keys.py). Both empty otherwise.
    said_by: str = ""
    follows: str = ""

    @property
    def current(self) -> bool:
        return self.valid_to is None

    def to_payload(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> MemoryItem:
        """An item from stored or imported data, every field checked: a wrong type, a time that is
        no date (NaN, 1e300, {}) or an importance outside 0..1 raises MemoryInputError naming the
        field, so an import reports that one line and a store never holds a value that breaks a
        listing."""
        if not isinstance(data, dict):
            raise MemoryInputError("each item must be a JSON object", '{"id": "...", "text": "..."}')
        known = {f.name for f in fields(cls)}
        clean = {k: v for k, v in data.items() if k in known}
        try:
            clean["kind"] = Kind(clean.get("kind", "fact"))
        except (ValueError, TypeError):
            raise MemoryInputError(
                f"unknown kind '{str(clean.get('kind'))[:40]}'",
                "use one of: " + ", ".join(k.value for k in Kind),
            ) from None
        for name in ("text", "speaker", "id", "key", "source", "device", "said_by", "follows"):
            if name in clean and not isinstance(clean[name], str):
                raise MemoryInputError(f"'{name}' must be a string", f"give '{name}' as text")
        for name in ("superseded_by",):
            if clean.get(name) is not None and not isinstance(clean[name], str):
                raise MemoryInputError(f"'{name}' must be a string or null", "export again")
        for name in _TIMES:
            if name in clean and (clean[name] is not None or name in ("created", "valid_from")):
                clean[name] = check_time(clean[name], name)
        for name in _UNIT:
            if name in clean:
                clean[name] = _number(clean[name], name, 0.0, 1.0)
        if "use_count" in clean:
            n = clean["use_count"]
            if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < 2**53:
                raise MemoryInputError("'use_count' must be a whole number >= 0", "export again")
        if "private" in clean and not isinstance(clean["private"], bool):
            raise MemoryInputError("'private' must be true or false", "export again")
        return cls(**clean)

    @classmethod
    def repaired(cls, data: dict[str, Any]) -> MemoryItem:
        """A stored item written before values were checked, made safe to list: a time that is no
        date becomes the nearest valid one (or none), a bad score its default. One damaged item
        must never make `twin memory list` fail for the whole store."""
        fixed = dict(data)
        for name in _TIMES:
            v = fixed.get(name)
            try:
                check_time(v, name)
            except MemoryInputError:
                if name in ("created", "valid_from"):
                    ok = isinstance(v, int | float) and not isinstance(v, bool) and v == v
                    fixed[name] = min(max(float(v), 0.0), MAX_TIME) if ok else 0.0
                elif v is not None:
                    fixed[name] = None if name == "last_used" else fixed.get("valid_from", 0.0)
        for name, default in (("importance", 0.5), ("confidence", 0.8)):
            try:
                _number(fixed.get(name, default), name, 0.0, 1.0)
            except MemoryInputError:
                fixed[name] = default
        if not isinstance(fixed.get("use_count", 0), int) or isinstance(fixed.get("use_count"), bool):
            fixed["use_count"] = 0
        return cls.from_payload(fixed)


def _number(value: object, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MemoryInputError(f"'{name}' must be a number, not {type(value).__name__}", "export again")
    v = float(value)
    if not math.isfinite(v) or not low <= v <= high:
        raise MemoryInputError(
            f"'{name}' is {value!r}; it must be between {low:g} and {high:g}", "export again"
        )
    return v


def check_time(value: object, name: str = "time") -> float:
    """A time in seconds since 1970, finite and within years 1970..9999 (why: see MAX_TIME)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MemoryInputError(
            f"'{name}' must be a number of seconds or an ISO 8601 date, not {type(value).__name__}",
            "use ISO 8601, e.g. 2026-11-24T10:00:00",
        )
    v = float(value)
    if not math.isfinite(v) or not 0.0 <= v <= MAX_TIME:
        raise MemoryInputError(
            f"'{name}' {value!r} is not a date between 1970 and 9999",
            "use ISO 8601, e.g. 2026-11-24T10:00:00",
        )
    return v


def validate_text(text: object) -> str:
    if not isinstance(text, str):
        raise MemoryInputError("memory text must be a string", "pass plain text")
    cleaned = "".join(ch for ch in text if ch.isprintable() or ch in "\n\t").strip()
    if not cleaned:
        raise MemoryInputError(
            "memory text is empty", 'say what to remember, e.g. "remember that I like tea"'
        )
    if len(cleaned) > MAX_TEXT:
        raise MemoryInputError(
            f"memory text is {len(cleaned)} characters; the limit is {MAX_TEXT}",
            "store a short summary instead of a whole document",
        )
    if sum(not ch.isprintable() for ch in text) > len(text) * 0.1:
        raise MemoryInputError("memory text looks like binary data", "pass plain text")
    return cleaned


def as_line(it: MemoryItem, lang: str = "en") -> str:
    """An item as the prompt or the spoken list gives it: an episode carries its date, since "you
    played tennis with Sam" means little without when."""
    if it.said_by:  # a turn of an imported conversation: who said it, and when
        return f"{it.said_by} ({time.strftime('%a %d %b %Y', time.localtime(it.valid_from))}): {it.text}"
    if it.valid_to is not None:  # a value a newer one replaced: said as the past it is
        a, b = time.localtime(it.valid_from), time.localtime(it.valid_to)
        if lang == "zh":
            return f"{it.text}（{a.tm_year}年{a.tm_mon}月至{b.tm_year}年{b.tm_mon}月，现已不再）"
        return f"{it.text} (from {time.strftime('%B %Y', a)} until {time.strftime('%B %Y', b)}; no longer)"
    if it.kind != Kind.EPISODE:
        return it.text
    t = time.localtime(it.valid_from)
    if lang == "zh":
        return f"{it.text}（{t.tm_year}年{t.tm_mon}月{t.tm_mday}日）"
    return f"{it.text} ({it.kind.value}, {time.strftime('%a %d %b %Y', t)})"
