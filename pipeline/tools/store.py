"""Tool state on disk: one JSON document per tool family, written atomically through the one
durable-write helper (models/durable.py); a damaged file is a typed tool error, left untouched.

Every write holds the store's cross-process lock (`models.durable.locked`): a `twin` command and a
running `twin live` share these files, and an unlocked read-modify-write from each loses one side's
change.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from models.durable import JsonState as _JsonState
from models.durable import StoreBusyError, atomic_write_text, locked
from models.durable import spool as _spool
from pipeline.tools.errors import ToolStateError


def _damaged(path: Path, why: str) -> ToolStateError:
    if why == "not a JSON object":
        return ToolStateError(f"{path} does not hold a JSON object", "move it aside to start afresh")
    return ToolStateError(
        f"{path} is damaged ({why}); Twin left it untouched",
        f"repair it, or move it aside to start {path.stem} afresh",
    )


class JsonState(_JsonState):
    def __init__(self, path: Path, default: dict[str, Any]) -> None:
        super().__init__(path, default, _damaged)

    def update(self, fn: Callable[[dict[str, Any]], Any]) -> Any:
        """The read happens inside the lock, so a change another process made meanwhile is kept. A
        write that fails (a full disk, an unwritable folder) leaves the old document as it was."""
        try:
            with locked(self.path, f"the tool state {self.path.name}"):
                return super().update(fn)
        except OSError as exc:
            raise _unwritable(self.path, exc) from None

    def remove(self, key: str, item_id: str) -> bool:
        """The entry of the list `key` whose id is `item_id` taken out, under the lock; whether it
        was there (a timer that rang, an announcement said, a note or reminder whose saving was
        undone)."""

        def drop(s: dict[str, Any]) -> bool:
            kept = [x for x in s[key] if x.get("id") != item_id]
            gone = len(kept) != len(s[key])
            s[key] = kept
            return gone

        return bool(self.update(drop))


def _unwritable(path: Path, exc: OSError) -> ToolStateError:
    return ToolStateError(
        f"{path} could not be written ({exc.strerror or exc}); nothing in it changed",
        "free some disk space, or fix the permissions of the data directory",
    )


def spool(folder: Path, record: dict[str, Any]) -> Path:
    """One record into a spool folder (the outbox, the orders), under the folder's lock, so a drain
    that takes the same lock never sees a half-made batch."""
    try:
        with locked(folder, f"the spool {folder.name}/"):
            return _spool(folder, record)
    except OSError as exc:
        raise _unwritable(folder, exc) from None


__all__ = ["JsonState", "StoreBusyError", "atomic_write_text", "spool"]
