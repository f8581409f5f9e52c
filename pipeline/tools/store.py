"""Tool state on disk: one JSON document per tool family, written atomically through the one
durable-write helper (models/durable.py); a damaged file is a typed tool error, left untouched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.durable import JsonState as _JsonState
from models.durable import atomic_write_text, spool
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


__all__ = ["JsonState", "atomic_write_text", "spool"]
