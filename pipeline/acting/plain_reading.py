"""What a request's words settle without any model: the tools a clause is about, and the call when
nothing is left for the planner's model to decide (an argument-free read, or a tool's own reader:
"what time is it", "set a timer for 5 minutes", "add milk to the shopping list").

The planner plans with it (pipeline/acting/planner.py); the turn asks it first, while the user's
pause is still being judged: a read the words settle is answered then (pipeline/runtime/
tool_desk.py), and words that settle a call end the turn without the end-of-turn model's score
(pipeline/runtime/turn_end.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

from pipeline.acting.quantities import with_digits
from pipeline.acting.reach import misses
from pipeline.acting.routing import clauses, route, routed_tools
from pipeline.acting.speech_act import classify
from pipeline.tools.base import Tier, ToolRegistry

# What a spoken command often goes on with after a short pause, one of each kind of thing a tool's
# reader takes: a quantity's next unit, a time's part of day or day, an amount, another list or item,
# a place, which one and its name. Written from how commands are said, not chosen on any bench: an
# act whose words one of these would read as another call is not finished by its words alone ("set
# a timer for 3 hours" … "and 10 minutes", "remind me … at six" … "pm", "add eggs" … "to the
# hardware list"). Each with a word that, already said, makes it no continuation (a list or a timer
# named twice).
TAILS: tuple[tuple[str, str], ...] = (
    (" minutes", ""),
    (" and 10 minutes", ""),
    (" and 30 seconds", ""),
    (" pm", ""),
    (" tomorrow", ""),
    (" on Friday", ""),
    (" to 80 percent", ""),
    (" by 10", ""),
    (" to the hardware list", "list"),
    (" and bread", ""),
    (" in the kitchen", ""),
    (" the pasta timer", "timer"),
    (" called pasta", ""),
)


# A request for something made up about a tool's business ("tell me a story about the timers",
# "a poem about my shopping list"): the reply model writes it; no tool is its answer.
_MADE_UP = re.compile(
    r"\b(?:story|stories|joke|jokes|poem|poems|song|songs|riddle|riddles|limerick|rhyme|haiku|"
    r"fairy\s+tale|lullaby)\s+(?:about|on|of|for|with)\b",
    re.IGNORECASE,
)


class PlainReading:
    def __init__(self, registry: ToolRegistry, index: Any = None) -> None:
        self.registry = registry
        self.index = index  # tools found by meaning (tool_index.ToolIndex); None: by words only

    def candidates(self, text: str, act: Any = None) -> tuple[tuple[str, ...], bool]:
        """The tools a clause is about (routed once per clause), and whether it asks: a question
        only reads, so it is offered the read-only candidates when there are any. Words that ask for
        nothing to be done (a refusal, a report: `SpeechAct.asks_nothing_done`) or for something
        made up about a tool's business have none."""
        act = act or classify(text)
        if act.asks_nothing_done or _MADE_UP.search(text):
            return (), False
        names = tuple(route(text, self.registry, self.index))
        question = bool(names) and act.asks
        if question:
            names = tuple(n for n in names if self.registry.get(n).tier == Tier.READ) or names
        return names, question

    def obvious_read(self, names: tuple[str, ...], text: str) -> str | None:
        """When the words leave one candidate, a read-only tool that takes no arguments from the
        model ("what time is it", "which timers are set"), there is nothing for the model to decide:
        call it, with what its own reader takes from the words, if anything ("what time is it": the
        time, not the date)."""
        if len(names) != 1 or names[0] not in routed_tools(self.registry):
            return None
        tool = self.registry.get(names[0])
        if tool.tier != Tier.READ or tool.offered_params():
            return None
        args = (tool.plain(with_digits(text)) if tool.plain is not None else None) or {}
        return json.dumps({"action": "call", "tool": tool.name, "args": args})

    def plain(self, text: str, names: tuple[str, ...]) -> str | None:
        """When the words state a candidate's arguments plainly (the tool's own `plain` reader:
        a sum, a conversion, "turn it up a bit", "we're out of milk"), there is nothing for the model
        to decide: call it with them. Only Twin's own tools declare a reader; exactly one must read."""
        local = routed_tools(self.registry)
        digits = with_digits(text)
        found = []
        for name in names:
            tool = self.registry.get(name)
            args = tool.plain(digits) if name in local and tool.plain is not None else None
            if args is None and tool.held is not None:  # the words and the tool's own state
                args = tool.held(digits)
            if args is not None:
                found.append({"action": "call", "tool": name, "args": args})
        return json.dumps(found[0]) if len(found) == 1 else None

    def settles(self, text: str, act: Any = None, reads_only: bool = False) -> bool:
        """Whether `text` is one request whose call its words settle, with no model to ask: an
        argument-free read ("what time is it") or one a tool's own reader takes ("is milk on the
        list?", "set a timer for 5 minutes"). `reads_only`: and it changes nothing (no act among its
        candidates), so the turn may make it, and word and voice its answer, while the pause is
        still being judged. Whether more words could change an act (`goes_on`) is not asked."""
        found = self._call(text, act)
        return found is not None and (not reads_only or self._reads(found[0]))

    def call(self, text: str, act: Any = None) -> str | None:
        """The call `text` settles, as the planner would make it (JSON), or None."""
        found = self._call(text, act)
        return found[2] if found is not None else None

    def kind(self, text: str, act: Any = None) -> str:
        """What the words settle, routed and read once: "read" (a call, and no act among the
        candidates), "act" (a call that may change something, which more words could still change:
        "set a timer for 5 minutes" … "and 30 seconds"), "closed" (an act no usual continuation
        changes: "pause the timer", "add milk to my shopping list"), or "" (nothing: the planner's
        model, or no tool)."""
        found = self._call(text, act)
        if found is None:
            return ""
        names, rest, call = found
        if self._reads(names):
            return "read"
        return "act" if self.goes_on(rest, names, call) else "closed"

    def _call(self, text: str, act: Any = None) -> tuple[tuple[str, ...], str, str] | None:
        """The words routed and read once: their candidates, the words left to plan, and the call
        they settle; None when they settle none."""
        rest, missed = misses(text, self.registry)
        if missed or not rest or len(clauses(rest, self.registry)) != 1:
            return None
        names, _ = self.candidates(rest, act)
        call = (self.obvious_read(names, rest) or self.plain(rest, names)) if names else None
        return None if call is None else (names, rest, call)

    def _reads(self, names: tuple[str, ...]) -> bool:
        return all(self.registry.get(n).tier == Tier.READ for n in names)

    def goes_on(self, text: str, names: tuple[str, ...], call: str) -> bool:
        """Whether one of the usual continuations (`TAILS`) would make the words another call that
        they also settle. The tools are the words' own and those the longer words name (by words
        alone: no encoder run per tail), so "pause" … "the pasta timer" counts. A continuation the
        readers cannot take (they read strictly) goes to the planner's model either way, and is
        not counted."""
        said = set(re.findall(r"[\w']+", text.lower()))
        base = text.rstrip(" .?!")
        for tail, named in TAILS:
            if named and named in said:
                continue
            longer = base + tail
            more = tuple(dict.fromkeys((*names, *route(longer, self.registry))))
            other = self.obvious_read(more, longer) or self.plain(longer, more)
            if other is not None and other != call:
                return True
        return False
