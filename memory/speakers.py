"""Whose memory an item is: every item belongs to one speaker's scope, and a speaker sees only their
own and the household's."""

from __future__ import annotations

from .items import MemoryInputError

HOUSEHOLD = "household"  # items every speaker may hear
# With no speaker identification, the device's user is its owner; a voice that identification
# could not place ("unknown") is a guest, who sees only household items.


def speaker_scope(name: str) -> str:
    """The scope a speaker name maps to. Only short, plain names are accepted: they key the index
    and the store, and people type them on the command line (`--speaker`)."""
    name = (name or "").strip().lower()
    if name == "unknown":
        return "guest"
    if not name or len(name) > 64 or not all(ch.isalnum() or ch in "-_. " for ch in name):
        raise MemoryInputError(
            f"invalid speaker name '{name[:40]}'", "use letters, digits, '-', '_' or spaces"
        )
    return name
