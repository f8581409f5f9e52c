"""The user's documents folder and calendar, read only: their text is data, never instructions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.tools.base import Tier, ToolResult
from pipeline.tools.family import Context, Family, S, tool


class Documents(Family):
    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.documents = ctx.data_dir / "documents"
        self.calendar = ctx.data_dir / "calendar.ics"

    @tool(
        "read_document",
        "read a document from the documents folder",
        Tier.READ,
        {"name": S},
        ("name",),
        cue=r"\bdocument\b",
        topic=r"\b(documents?|files?)\b",
    )
    def read_document(self, a: dict[str, Any]) -> ToolResult:
        name = Path(a["name"]).name  # no path escapes from the documents folder
        path = self.documents / name
        if not path.is_file():
            return ToolResult(False, f"no document named '{name}'")
        text = path.read_text(encoding="utf-8", errors="replace")[:4000]
        return ToolResult(True, f"read {name} ({len(text)} characters)", None, untrusted_text=text)

    @tool(
        "read_calendar",
        "the events in the user's calendar",
        Tier.READ,
        cue=r"\b(?:calendar|agenda|schedule)\b",
        topic=r"\b(calendar|agenda|schedule|meetings?|appointments?|events?)\b",
    )
    def read_calendar(self, a: dict[str, Any]) -> ToolResult:
        if not self.calendar.exists():
            return ToolResult(True, "the calendar is empty", [])
        events, cur = [], {}
        for line in self.calendar.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("BEGIN:VEVENT"):
                cur = {}
            elif line.startswith("END:VEVENT"):
                events.append(cur)
            elif ":" in line:
                k, v = line.split(":", 1)
                cur[k.split(";")[0].lower()] = v
        text = "\n".join(
            f"{e.get('dtstart', '')} {e.get('summary', '')} {e.get('description', '')}" for e in events
        )
        return ToolResult(True, f"{len(events)} event(s)", events, untrusted_text=text)
