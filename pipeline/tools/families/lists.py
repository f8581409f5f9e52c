"""Named lists (shopping, to-do): items added, read and removed by name."""

from __future__ import annotations

from typing import Any

from pipeline.tools.base import Tier, ToolResult
from pipeline.tools.family import Context, Family, S, tool
from pipeline.tools.store import JsonState

LISTS = r"\b(lists?|to-?do|shopping|groceries|put \w+ on)\b|^(?:please\s+)?add\b"
LIST_CUE = r"\b(?:to-?do|shopping list|my list|the list)\b|^(?:please\s+)?add\b"
LIST_ARGS = {"list": S, "item": S}


class Lists(Family):
    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.lists = JsonState(ctx.state_dir / "lists.json", {"lists": {}})

    @tool(
        "remove_from_list",
        "remove an item from a named list",
        Tier.ACT,
        LIST_ARGS,
        ("list", "item"),
        verb="remove from a list",
        cue=LIST_CUE + r"|\bremove\b",
        topic=LISTS,
        verbs=r"\b(remove|delete|cross off|take off)\b.*\blist\b",
    )
    def remove_from_list(self, a: dict[str, Any]) -> ToolResult:
        name, item = a["list"].lower().strip(), a["item"].strip()

        def drop(s: dict[str, Any]) -> bool:
            items = s["lists"].get(name, [])
            if item in items:
                items.remove(item)
                return True
            return False

        ok = self.lists.update(drop)
        return ToolResult(ok, f"removed {item} from the {name} list" if ok else f"{item} is not on it")

    @tool(
        "add_to_list",
        "add an item to a named list",
        Tier.ACT,
        LIST_ARGS,
        ("list", "item"),
        verb="add to a list",
        cue=LIST_CUE,
        topic=LISTS,
        verbs=r"^(?:please\s+)?(add|put)\b",
        example=("add eggs to my shopping list", {"list": "shopping", "item": "eggs"}),
    )
    def add_to_list(self, a: dict[str, Any]) -> ToolResult:
        name, item = a["list"].lower().strip(), a["item"].strip()
        self.lists.update(lambda s: s["lists"].setdefault(name, []).append(item))
        return ToolResult(True, f"added {item} to the {name} list")

    @tool(
        "get_list",
        "the items on a named list",
        Tier.READ,
        {"list": S},
        ("list",),
        cue=LIST_CUE,
        topic=LISTS,
        verbs=r"\bwhat'?s on\b|\b(read|show)\b.*\blist\b|\bwhat is on\b",
        example=("what's on my todo list", {"list": "todo"}),
    )
    def get_list(self, a: dict[str, Any]) -> ToolResult:
        name = a["list"].lower().strip()
        items = self.lists.read()["lists"].get(name, [])
        if not items:
            return ToolResult(True, f"the {name} list is empty", [])
        return ToolResult(True, f"the {name} list has {len(items)} item(s)", items, ", ".join(items))
