"""Notes: things the user asked Twin to keep. Their text is data when read back, never instructions."""

from __future__ import annotations

import uuid
from typing import Any

from pipeline.tools.base import Tier, ToolResult
from pipeline.tools.family import Context, Family, S, tool
from pipeline.tools.store import JsonState

NOTES = r"\b(notes?|jot)\b"
NOTE_CUE = r"\bnotes?\b|\bjot\b|\bwrite (?:that|this|it) down\b"


class Notes(Family):
    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.notes = JsonState(ctx.state_dir / "notes.json", {"notes": []})

    @tool(
        "delete_notes",
        "delete one note by id, or all",
        Tier.SENSITIVE,
        {"id": S},
        verb="delete notes",
        category="delete",
        cue=NOTE_CUE + r"|\bdelete\b",
        topic=NOTES,
        verbs=r"\b(delete|remove|clear|erase)\b.*\bnotes?\b",
    )
    def delete_notes(self, a: dict[str, Any]) -> ToolResult:
        target = a.get("id", "all")
        target = "all" if target.lower().startswith("all") else target

        def drop(s: dict[str, Any]) -> int:
            before = len(s["notes"])
            s["notes"] = [] if target == "all" else [n for n in s["notes"] if n["id"] != target]
            return before - len(s["notes"])

        n = self.notes.update(drop)
        return ToolResult(n > 0, f"deleted {n} note(s)")

    @tool(
        "list_notes",
        "read the saved notes",
        Tier.READ,
        cue=NOTE_CUE,
        topic=NOTES,
        verbs=r"\b(read|list|show|what are|what's in)\b.*\bnotes\b",
    )
    def list_notes(self, a: dict[str, Any]) -> ToolResult:
        items = self.notes.read()["notes"]
        text = "\n".join(n["text"] for n in items)
        return ToolResult(True, f"{len(items)} note(s)", items, untrusted_text=text)

    @tool(
        "add_note",
        "save a note",
        Tier.ACT,
        {"text": S},
        ("text",),
        verb="save a note",
        cue=NOTE_CUE,
        topic=NOTES,
        verbs=r"\b(take|make|add|save|write)\b.*\bnote\b|^(?:please\s+)?note\b|\bjot\b",
        example=("take a note: the spare key is under the mat", {"text": "the spare key is under the mat"}),
    )
    def add_note(self, a: dict[str, Any]) -> ToolResult:
        item = {
            "id": uuid.uuid4().hex[:8],
            "text": a["text"],
            "at": self.ctx.now().isoformat(timespec="seconds"),
        }
        self.notes.update(lambda s: s["notes"].append(item))
        return ToolResult(True, "note saved", item, undo=lambda: self._unsave(item["id"]))

    def _unsave(self, note_id: str) -> ToolResult:
        """The undo of a note just saved: that note, and only it, taken away again."""
        if not self.notes.remove("notes", note_id):
            return ToolResult(False, "the note is not there any more")
        return ToolResult(True, "took the note away again")
