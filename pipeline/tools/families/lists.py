"""Named lists (shopping, to-do): items added, read and removed by name."""

from __future__ import annotations

import re
from typing import Any

from pipeline.tools.base import Tier, ToolResult
from pipeline.tools.family import Context, Family, S, tool
from pipeline.tools.store import JsonState

# A need said as a need, naming no list: "we're out of rice", "the milk is running low", "we need
# more bin bags" (never "we need to ...", "I need you to ...", "we need a break").
NEED = (
    r"\b(?:we|i)(?:'re|\s+are|'m|\s+am|'ve|\s+have)?\s+(?:(?:almost|nearly|completely|all|just|totally)\s+)?"
    r"(?:out\s+of|low\s+on|running\s+(?:low\s+on|out\s+of)|run\s+out\s+of|ran\s+out\s+of)\s+(?!time\b|ideas\b)"
    r"|\bwe\s+(?:need|could\s+do\s+with|should\s+get)\s+(?!to\b|you\b|help\b|a\s+(?:break|rest|holiday|minute|moment|talk)\b)"
    r"(?:some\s+|more\s+|new\s+|a\s+new\s+)?[a-z]"
    r"|\b(?:is|are)\s+(?:running\s+(?:low|out)|almost\s+gone|all\s+gone|nearly\s+(?:gone|finished)|finished)\s*$"
)
LISTS = rf"\b(lists?|to-?do|shopping|groceries|put \w+ on)\b|^(?:please\s+)?add\b|{NEED}"
LIST_CUE = rf"\b(?:to-?do|shopping list|my list|the list)\b|^(?:please\s+)?add\b|{NEED}"
_ITEM = r"(?P<item>[a-z][\w'-]*(?:\s+[a-z][\w'-]*){0,3}?)"
_END = r"(?=\s*(?:[,.;!?]|\b(?:for|so|and|put|please|again|on|to|by|before|at|now|today|tomorrow)\b|$))"
_NEEDS = (
    re.compile(
        r"\b(?:out\s+of|low\s+on|run\s+out\s+of|ran\s+out\s+of|need|could\s+do\s+with|should\s+get)\s+"
        rf"(?:(?:some|more|any|new|a\s+new|extra)\s+)*{_ITEM}{_END}",
        re.I,
    ),
    re.compile(
        rf"^(?:(?:the|our|my)\s+)?{_ITEM}\s+(?:is|are)\s+(?:running\s+(?:low|out)|almost\s+gone|all\s+gone|"
        r"nearly\s+(?:gone|finished)|finished)",
        re.I,
    ),
)


def plain_need(text: str) -> dict[str, Any] | None:
    """A need said as a need ("we're out of rice"): the item, on the list it names or the shopping
    list. An explicit "add X to Y" is the model's to read (it says which words are the item)."""
    if not re.search(NEED, text, re.I):
        return None
    for rx in _NEEDS:
        m = rx.search(text.strip())
        if m:
            named = re.search(r"\b(?:on|to)\s+(?:the|my|our)\s+([\w-]+)\s+list\b", text, re.I)
            return {"list": named.group(1).lower() if named else "shopping", "item": m.group("item")}
    return None


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
        "add an item to a named list: what the household needs or has run out of goes on the shopping list",
        Tier.ACT,
        LIST_ARGS,
        ("list", "item"),
        verb="add to a list",
        cue=LIST_CUE,
        topic=LISTS,
        verbs=rf"^(?:please\s+)?(add|put)\b|^(?!(?:are|is|am|do|does|did|have|has)\b).*(?:{NEED})",
        example=("add eggs to my shopping list", {"list": "shopping", "item": "eggs"}),
        plain=plain_need,
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
        verbs=r"\bwhat'?s on\b|\b(read|show)\b.*\blist\b|\bwhat is on\b"
        r"|^(?:are|is|do|have)\s+(?:we|i)\b.*\b(?:out\s+of|low\s+on|need|got)\b",
        example=("what's on my todo list", {"list": "todo"}),
    )
    def get_list(self, a: dict[str, Any]) -> ToolResult:
        name = a["list"].lower().strip()
        items = self.lists.read()["lists"].get(name, [])
        if not items:
            return ToolResult(True, f"the {name} list is empty", [])
        return ToolResult(True, f"the {name} list has {len(items)} item(s)", items, ", ".join(items))
