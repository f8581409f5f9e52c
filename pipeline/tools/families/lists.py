"""Named lists (shopping, to-do): items added, read and removed by name.

What the words of a list request say (which list, which items, a question about one item) is read
in `pipeline/acting/list_requests.py`; a read's result is the answer as it is (`answers`): "Your
shopping list is empty.", "Milk is on your shopping list.", never worded by the reply model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pipeline.acting.list_requests import (
    ITEM_QUESTION,
    NAMED_LIST,
    REMEMBER_TO_BUY,
    STANDARD,
    add_request,
    held_removal,
    item_key,
    list_key,
    lists_holding,
    named_removal,
    read_list_request,
    remove_request,
    said_list,
    split_items,
    spoken_list,
    which_list,
)
from pipeline.tools.base import Tier, ToolResult, unchanged
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
LISTS = (
    rf"\b(lists?|to-?do|shopping|groceries|put \w+ on)\b|^(?:please\s+)?add\b|{NEED}|{REMEMBER_TO_BUY}"
    rf"|{ITEM_QUESTION}"
)
LIST_CUE = (
    rf"\b(?:to[\s-]?do|shopping list)\b|{NAMED_LIST}|^(?:please\s+)?add\b|{NEED}|{REMEMBER_TO_BUY}"
    rf"|{ITEM_QUESTION}"
)
_ITEM = r"(?P<item>(?!(?:i|we|you|it|they|then|also)\b)[a-z][\w'-]*(?:\s+[a-z][\w'-]*){0,3}?)"
_NOT_NOUN = r"(?!(?:i|we|you|it|they|then|also)\b)"
_MORE = rf"(?:(?:\s*,\s*(?:and\s+)?|\s+and\s+){_NOT_NOUN}[a-z][\w'-]*(?:\s+[a-z][\w'-]*){{0,3}}?)*"
_END = r"(?=\s*(?:[,.;!?]|\b(?:for|so|and|put|please|again|on|to|by|before|at|now|today|tomorrow)\b|$))"
_NEEDS = (
    re.compile(
        r"\b(?:out\s+of|low\s+on|run\s+out\s+of|ran\s+out\s+of|need|could\s+do\s+with|should\s+get)\s+"
        rf"(?:(?:some|more|any|new|a\s+new|extra)\s+)*(?P<items>{_ITEM}{_MORE}){_END}",
        re.I,
    ),
    re.compile(
        rf"^(?:(?:the|our|my)\s+)?(?P<items>{_ITEM})\s+(?:is|are)\s+(?:running\s+(?:low|out)|almost\s+gone|"
        r"all\s+gone|nearly\s+(?:gone|finished)|finished)",
        re.I,
    ),
)


def plain_need(text: str) -> dict[str, Any] | None:
    """A need said as a need ("we're out of rice", "we need milk and eggs"): the items, on the list it
    names or the shopping list."""
    if not re.search(NEED, text, re.I):
        return None
    for rx in _NEEDS:
        m = rx.search(text.strip())
        if m:
            named = re.search(r"\b(?:on|to)\s+(?:the|my|our)\s+([\w-]+)\s+list\b", text, re.I)
            return {"list": list_key(named.group(1)) if named else "shopping", "item": m.group("items")}
    return None


def plain_add(text: str) -> dict[str, Any] | None:
    """An addition the words state plainly: "add milk and eggs to the shopping list", "remember to
    buy milk" (`list_requests.add_request`), or a need said as a need (`plain_need`)."""
    return add_request(text) or plain_need(text)


LIST_ARGS = {"list": S, "item": S}
# How long the answer to "which list should I take it off?" is awaited: a later "the baking list"
# is a read of that list again, not a removal.
ASKED_FOR_S = 120.0


def _elsewhere(text: str) -> bool:
    """Whether the words bring up another family of Twin's own tools ("delete the message": the
    messages'), by the words those tools declare: an item on no list is then no list's."""
    from pipeline.tools.family import catalog  # the families' catalog reads this module

    topics = {t.topic for t in catalog() if t.topic and t.topic != LISTS}
    return any(re.search(topic, text, re.I) for topic in topics)


def _are(item: str) -> str:
    """The verb a spoken answer about an item takes: milk "is", eggs "are"."""
    last = item.split()[-1].lower() if item.split() else ""
    plural = last.endswith("s") and not last.endswith(("ss", "us", "is", "ous"))
    return "are" if plural or " and " in item else "is"


class Lists(Family):
    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.lists = JsonState(ctx.state_dir / "lists.json", {"lists": {}})
        # an item on two lists asked about: (item, its lists, when asked); see `_answered`
        self._asked: tuple[str, list[str], datetime] | None = None

    @staticmethod
    def _key(lists: dict[str, list[str]], name: str) -> str:
        """The stored list this name means: one spelt the same way ("To-Do" is "todo"), else the name."""
        key = list_key(name)
        return next((k for k in lists if list_key(k) == key), key)

    def _answered(self, text: str) -> dict[str, Any] | None:
        """The answer to the question an item on two lists got ("which list should I take it
        off?"): "the baking list" takes it off that one. Only just after the question
        (`ASKED_FOR_S`), and only naming one of the lists it offered."""
        if self._asked is None:
            return None
        item, names, when = self._asked
        if (self.ctx.now() - when).total_seconds() > ASKED_FOR_S:
            self._asked = None
            return None
        name = which_list(text, names)
        return {"list": name, "item": item} if name is not None else None

    def held_removal(self, text: str) -> dict[str, Any] | None:
        """A removal naming items and no list ("actually remove the flour", "take the eggs off",
        "we've got bread now, take it off"), read against the lists this family keeps: an item on a
        list is that list's to lose. An item on no list is read too ("remove the flour": said to be
        on none of them), unless the words name another tool's thing ("delete the message")."""
        if named_removal(text) is None:  # most requests name no removal: no read of the lists file
            return self._answered(text)
        lists: dict[str, list[str]] = self.lists.read()["lists"]
        args = held_removal(text, lists)
        if args is None:
            return self._answered(text)
        if not any(lists_holding(x, lists) for x in split_items(args["item"])) and _elsewhere(text):
            return None
        return args

    @tool(
        "remove_from_list",
        "remove an item from a named list",
        Tier.ACT,
        LIST_ARGS,
        ("list", "item"),
        verb="remove from a list",
        cue=LIST_CUE + r"|\bremove\b",
        topic=LISTS,
        verbs=r"\b(remove|delete|cross off|take off)\b.*\blist\b|^(?:cross|take|tick)\b.*\boff\b.*\blist\b",
        plain=remove_request,
        held=held_removal,
    )
    def remove_from_list(self, a: dict[str, Any]) -> ToolResult:
        self._asked = None  # a removal answers any question asked before it
        wanted = split_items(a["item"]) or [a["item"].strip()]
        if not a["list"].strip():
            return self._remove_where_held(wanted)
        said: dict[str, Any] = {}

        def drop(s: dict[str, Any]) -> None:
            key = self._key(s["lists"], a["list"])
            items = s["lists"].get(key, [])
            removed, missing = [], []
            for want in wanted:
                hit = next((x for x in items if item_key(x) == item_key(want)), None)
                if hit is None:
                    missing.append(want)
                else:
                    items.remove(hit)
                    removed.append(hit)
            said.update(key=key, removed=removed, missing=missing)

        self.lists.update(drop)
        name = spoken_list(said["key"])
        parts = []
        if said["removed"]:
            parts.append(f"removed {said_list(said['removed'])} from the {name} list")
        if said["missing"]:
            gone = said_list(said["missing"])
            parts.append(
                f"{gone} {_are(gone) if len(said['missing']) == 1 else 'are'} not on the {name} list"
            )
        undo = self._undo({said["key"]: said["removed"]}, put=True)
        return ToolResult(bool(said["removed"]), "; ".join(parts), said["removed"], undo=undo)

    @tool(
        "add_to_list",
        "add an item to a named list: what the household needs or has run out of goes on the shopping list",
        Tier.ACT,
        LIST_ARGS,
        ("list", "item"),
        verb="add to a list",
        cue=LIST_CUE,
        topic=LISTS,
        verbs=rf"^(?:please\s+)?(add|put)\b|^(?!(?:are|is|am|do|does|did|have|has)\b).*(?:{NEED})|{REMEMBER_TO_BUY}",
        example=("add eggs to my shopping list", {"list": "shopping", "item": "eggs"}),
        plain=plain_add,
    )
    def add_to_list(self, a: dict[str, Any]) -> ToolResult:
        """Each item the words name ("milk and eggs" is two), once: an item already on the list is
        said to be there, not added again."""
        wanted = split_items(a["item"]) or [a["item"].strip()]
        said: dict[str, Any] = {}

        def add(s: dict[str, Any]) -> None:
            key = self._key(s["lists"], a["list"])
            said["new"] = key not in s["lists"]
            items = s["lists"].setdefault(key, [])
            added, there = [], []
            for want in wanted:
                hit = next((x for x in items if item_key(x) == item_key(want)), None)
                if hit is not None:
                    there.append(hit)  # as the list has it
                else:
                    items.append(want)
                    added.append(want)
            said.update(key=key, added=added, there=there)

        self.lists.update(add)
        name = spoken_list(said["key"])
        if not said["added"]:
            there = said_list(said["there"])
            return ToolResult(True, f"{there} {_are(there)} already on the {name} list", [], undo=unchanged)
        summary = f"added {said_list(said['added'])} to the {name} list"
        if said["there"]:
            there = said_list(said["there"])
            summary += f" ({there} {_are(there)} already on it)"
        undo = self._undo(
            {said["key"]: said["added"]}, put=False, new={said["key"]} if said["new"] else set()
        )
        return ToolResult(True, summary, said["added"], undo=undo)

    @tool(
        "get_list",
        "the items on a named list",
        Tier.READ,
        {"list": S, "item": S},
        ("list",),
        cue=LIST_CUE,
        topic=LISTS,
        verbs=r"\bwhat'?s on\b|\b(read|show)\b.*\blist\b|\bwhat is on\b"
        r"|^(?:are|is|do|have)\s+(?:we|i)\b.*\b(?:out\s+of|low\s+on|short\s+of|need|got)\b"
        r"|^(?:is|are)\s+.*\b(?:on|in)\s+(?:the|my|our)\b.*\blist\b"
        r"|\bwhat\s+(?:do|should|must)\s+(?:i|we)\s+(?:still\s+)?(?:need\s+to\s+|have\s+to\s+)?(?:buy|get)\b",
        example=("what's on my todo list", {"list": "todo"}),
        plain=read_list_request,
        plain_only=("item",),  # a question about an item is read from the words only
        answers=True,
    )
    def get_list(self, a: dict[str, Any]) -> ToolResult:
        lists: dict[str, list[str]] = self.lists.read()["lists"]
        key = self._pick(lists, a.get("list", ""))
        items = lists.get(key)
        if items is None and key not in STANDARD:
            return self._unknown(lists, key)
        items = items or []
        name = spoken_list(key)
        asked = split_items(a.get("item") or "")
        if asked and item_key(a.get("item", "")) != key:
            return self._has(name, items, asked)
        if not items:
            return ToolResult(True, f"your {name} list is empty", [])
        shown = items if len(items) <= 5 else [*items[:3], f"{len(items) - 3} more"]
        count = f"{len(items)} item{'s' if len(items) != 1 else ''}"
        return ToolResult(True, f"your {name} list has {count}", items, said_list(shown))

    def _remove_where_held(self, wanted: list[str]) -> ToolResult:
        """With no list named: each item off the one list that holds it; an item on two lists is
        asked about (which one?), an item on none said to be on none. Nothing is guessed."""
        said: dict[str, Any] = {}

        def drop(s: dict[str, Any]) -> None:
            lists: dict[str, list[str]] = s["lists"]
            removed: dict[str, list[str]] = {}
            several: list[tuple[str, list[str]]] = []
            nowhere: list[str] = []
            for want in wanted:
                holders = lists_holding(want, lists)
                if len(holders) > 1:
                    several.append((want, holders))
                elif not holders:
                    nowhere.append(want)
                else:
                    items = lists[holders[0]]
                    hit = next(x for x in items if item_key(x) == item_key(want))
                    items.remove(hit)
                    removed.setdefault(holders[0], []).append(hit)
            said.update(removed=removed, several=several, nowhere=nowhere)

        self.lists.update(drop)
        parts = [
            f"removed {said_list(items)} from the {spoken_list(key)} list"
            for key, items in said["removed"].items()
        ]
        if said["nowhere"]:
            gone = said_list(said["nowhere"])
            verb = "isn't" if len(said["nowhere"]) == 1 and _are(gone) == "is" else "aren't"
            parts.append(f"{gone} {verb} on any of your lists")
        self._asked = (
            (said["several"][0][0], said["several"][0][1], self.ctx.now()) if said["several"] else None
        )
        for want, holders in said["several"]:
            where = said_list([f"your {spoken_list(k)} list" for k in holders])
            one = "it" if _are(want) == "is" else "them"
            parts.append(f"{want} {_are(want)} on {where}: which list should I take {one} off?")
        done = [x for items in said["removed"].values() for x in items]
        return ToolResult(True, "; ".join(parts), done, undo=self._undo(said["removed"], put=True))

    def _undo(
        self, changed: dict[str, list[str]], put: bool, new: set[str] | frozenset[str] = frozenset()
    ) -> Callable[[], ToolResult] | None:
        """The undo of a change to the lists: the items a removal took off put back (`put`), or
        those an addition put on taken off again; an item someone has since put back or taken off
        stays as it is. A list the addition made (`new`) goes again when it is left empty."""
        changed = {k: list(v) for k, v in changed.items() if v}
        if not changed:
            return None

        def undo() -> ToolResult:
            moved: dict[str, list[str]] = {}

            def back(s: dict[str, Any]) -> None:
                for key, items in changed.items():
                    held = s["lists"].setdefault(key, [])
                    for item in items:
                        hit = next((x for x in held if item_key(x) == item_key(item)), None)
                        if put and hit is None:
                            held.append(item)
                            moved.setdefault(key, []).append(item)
                        elif not put and hit is not None:
                            held.remove(hit)
                            moved.setdefault(key, []).append(hit)
                    if key in new and not held:
                        del s["lists"][key]

            self.lists.update(back)
            if not moved:
                return ToolResult(False, "the lists were changed again since, so I left them")
            parts = [
                f"put {said_list(v)} back on the {spoken_list(k)} list"
                if put
                else f"took {said_list(v)} off the {spoken_list(k)} list again"
                for k, v in moved.items()
            ]
            return ToolResult(True, "; ".join(parts), moved)

        return undo

    @staticmethod
    def _pick(lists: dict[str, list[str]], name: str) -> str:
        """The list asked for; with none named ("what's on my list"), the one list that has items,
        else the shopping list."""
        if name.strip():
            return Lists._key(lists, name)
        full = [k for k, v in lists.items() if v]
        return full[0] if len(full) == 1 else "shopping"

    @staticmethod
    def _has(name: str, items: list[str], asked: list[str]) -> ToolResult:
        """Whether each asked item is on the list: "milk is on your shopping list", "eggs are not"."""
        on = [x for x in asked if any(item_key(i) == item_key(x) for i in items)]
        off = [x for x in asked if x not in on]
        parts = []
        if on:
            parts.append(f"{said_list(on)} {_are(said_list(on))} on your {name} list")
        if off:
            verb = _are(said_list(off))
            parts.append(f"{said_list(off)} {verb} not" + ("" if on else f" on your {name} list"))
        return ToolResult(True, "; ".join(parts), {"on": on, "not_on": off})

    @staticmethod
    def _unknown(lists: dict[str, list[str]], key: str) -> ToolResult:
        """A list nobody made: said so, with the lists there are (never an empty list made up)."""
        names = said_list([spoken_list(k) for k in lists])
        there = f"your lists are {names}" if len(lists) > 1 else f"your only list is the {names} list"
        summary = f"you have no {spoken_list(key)} list; " + (there if lists else "you have no lists yet")
        return ToolResult(True, summary, {"unknown": key, "lists": list(lists)})
