"""Which tools a request is about, from its words alone, in the words the tools declare themselves
(`Tool.cue`, `.topic`, `.verbs`).

Two uses, both cheap: a gate before any planning (chit-chat goes straight to the streaming reply: a
grammar-constrained planning call costs a second or more on 2 cores), and the few tools the planner
offers the model (a 0.5B model picks far better among 3 tools than among 20, and its grammar is
smaller). Tools of no family (MCP tools) are always offered; a request that matches no family is
offered everything.
"""

from __future__ import annotations

import re
from functools import cache

from pipeline.tools.base import Tool, ToolRegistry
from pipeline.tools.family import catalog

_QUESTION_START = re.compile(
    r"^(is|are|was|were|do|does|did|what|what's|whats|when|where|who|why|how|which|whose|has|have|"
    r"am|should|shall)\b",
    re.IGNORECASE,
)
_REQUEST_START = re.compile(r"^(please\s+)?(can|could|would|will) you\b|^please\b", re.IGNORECASE)


@cache
def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


@cache
def _gate() -> re.Pattern[str]:
    """Every local tool's cue in one pattern, offered or not: the gate runs before any session."""
    cues = dict.fromkeys(t.cue for t in catalog() if t.cue)
    return _rx("|".join(f"(?:{c})" for c in cues) or r"(?!)")


def might_need_tools(text: str) -> bool:
    """A cheap gate: chit-chat goes straight to the streaming reply without a planning call."""
    return bool(_gate().search(text))


def routed_tools(registry: ToolRegistry) -> dict[str, Tool]:
    """The tools that belong to a family, by name: every local tool as declared, offered or not (a
    request about memory when memory is off is offered none of the other families' tools), and any
    registered tool that declares a topic; in declaration order, which orders the verbs."""
    tools = {t.name: t for t in catalog() if t.topic}
    tools.update({t.name: t for t in registry if t.topic})
    return tools


def candidate_tools(text: str, registry: ToolRegistry) -> list[str]:
    """The tools this request may be about: the families its words name, and every tool of no
    family (MCP tools); everything when no family matches. Within a family the first tool whose
    verbs match narrows it to that one ("add milk to the list" is never get_list)."""
    routed = routed_tools(registry)
    families: dict[str, list[Tool]] = {}
    for t in routed.values():
        families.setdefault(t.topic, []).append(t)
    chosen: set[str] = set()
    for topic, members in families.items():
        if _rx(topic).search(text):
            verb = next((t.name for t in members if t.verbs and _rx(t.verbs).search(text)), None)
            chosen |= {verb} if verb else {t.name for t in members}
    if not chosen:
        return registry.names()
    return [n for n in registry.names() if n in chosen or n not in routed]


def is_state_question(text: str) -> bool:
    """'Is the volume up?' asks about state; 'Can you turn it up?' is a request."""
    t = text.strip().lower()
    if _REQUEST_START.match(t):
        return False
    return bool(_QUESTION_START.match(t)) or (t.endswith("?") and not t.startswith(("set", "add", "send")))
