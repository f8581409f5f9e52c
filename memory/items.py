"""Typed memory items: what Twin may remember about a person, with scope, validity and use."""

from __future__ import annotations

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

    @property
    def current(self) -> bool:
        return self.valid_to is None

    def to_payload(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> MemoryItem:
        known = {f.name for f in fields(cls)}
        clean = {k: v for k, v in data.items() if k in known}
        clean["kind"] = Kind(clean.get("kind", "fact"))
        return cls(**clean)


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
    if it.kind != Kind.EPISODE:
        return it.text
    t = time.localtime(it.valid_from)
    if lang == "zh":
        return f"{it.text}（{t.tm_year}年{t.tm_mon}月{t.tm_mday}日）"
    return f"{it.text} ({it.kind.value}, {time.strftime('%a %d %b %Y', t)})"
