"""Which tools a request is about, from its words alone, in the words the tools declare themselves
(`Tool.cue`, `.topic`, `.verbs`).

Two uses, both cheap: a gate before any planning (chit-chat goes straight to the streaming reply: a
grammar-constrained planning call costs a second or more on 2 cores), and the few tools the planner
offers the model (a 0.5B model picks far better among 3 tools than among 20, and its grammar is
smaller).

Twin's own tools win their families: a request whose words route to a local family is offered that
family's tools and never a third-party (MCP) tool for the same words. A third-party tool is offered
only for what its declared purpose covers: the words of its name and of its sanitised description
(what it does; a sentence that gives orders was dropped before it got here) that the request uses
outside the words a local family claimed. Nothing a description says can widen that. A request that
matches no family and no declared purpose is offered every local tool.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pipeline.acting.quantities import with_digits
from pipeline.acting.reach import ask, covers, stem
from pipeline.tools.base import Tier, Tool, ToolRegistry
from pipeline.tools.family import catalog

_WORD = re.compile(r"[^\W_]+")
# Words too common to say what a tool is for ("get the current value of a thing").
_COMMON = frozenset(
    re.findall(
        r"\S+",
        """a an the and or but if of to in on at by for from with without into onto about as is are was
    were be been being it its this that these those there here what whats which who whom whose when
    where why how can could would will shall should may might do does did done has have had not no yes
    me my mine i we our us you your they them their he she his her please tell give show let make get
    gets got set sets use uses using used call calls tool tools server mcp function returns return
    value values data result results current given specific some any all each every one two new via
    information info thing things something request query input output string text number""",
    )
)


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


def _words(text: str) -> set[str]:
    """The words that can say what something is about: split at case changes too (getWeather)."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    words = (w.lower() for w in _WORD.findall(text))
    return {stem(w) for w in words if len(w) > 2 and w not in _COMMON and stem(w) not in _COMMON}


def names_it(text: str, tool: Tool) -> bool:
    """Whether the request says the tool's own name ("write me a report" for `write_report`, "get
    the weather" for `get_weather`): every word of its name, past the server's prefix, is among the
    request's words (stemmed)."""
    own = _words(tool.name.split("__")[-1].replace("_", " "))
    return bool(own) and own <= _words(text)


def declared_words(tool: Tool) -> set[str]:
    """What a third-party tool says it is for: the words of its name and its (sanitised)
    description. Routing reads these, never what the description tells the model to do."""
    return _words(tool.name.replace("__", " ") + " " + tool.description)


# What a request implies without naming it: "do I need an umbrella in Leeds today" asks about the
# weather there. Each entry: the words that imply a topic (an everyday object with what is done with
# it, and a place or a time), and the topic's own words, matched against what a third-party tool
# declares. Twin's own reading of the request: nothing a tool says can add to it.
_IMPLIED = (
    (
        re.compile(
            r"\b(?:need|take|bring|wear|pack|want|carry)\b.*\b(?:umbrellas?|brolly|raincoats?|rain coats?|"
            r"jackets?|coats?|sunglasses|sun ?cream|sunscreen|shorts|scarf|scarves|gloves|wellies|"
            r"wellingtons|jumpers?|sweaters?|layers|hats?)\b.*\b(?:in\s+\w+|today|tonight|tomorrow|later|"
            r"outside|this\s+(?:morning|afternoon|evening|weekend))\b",
            re.IGNORECASE,
        ),
        {"weather", "rain", "temperature"},
    ),
)


def implied_words(text: str) -> set[str]:
    """The topic words `text` implies (`_IMPLIED`), for matching third-party tools' declarations."""
    return set().union(*(words for rx, words in _IMPLIED if rx.search(text)))


def _third_party(registry: ToolRegistry, routed: dict[str, Tool]) -> list[Tool]:
    return [t for t in registry if t.name not in routed]


def third_party_tools(text: str, registry: ToolRegistry) -> list[str]:
    """The third-party tools whose declared purpose this request's words cover, outside the words
    any local family claims (those are the built-in tools' to answer)."""
    routed = routed_tools(registry)
    rest = text
    for topic in dict.fromkeys(t.topic for t in routed.values()):
        rest = _rx(topic).sub(" ", rest)
    asked = _words(rest) | implied_words(text)
    return [t.name for t in _third_party(registry, routed) if asked & declared_words(t)]


def candidate_tools(text: str, registry: ToolRegistry) -> list[str]:
    """The tools this request may be about: the local families its words name, and the
    third-party tools whose declared purpose covers the rest of its words; every local tool when
    neither matches. Within a family the first tool whose verbs match narrows it to that one ("add
    milk to the list" is never get_list)."""
    routed = routed_tools(registry)
    families: dict[str, list[Tool]] = {}
    for t in routed.values():
        families.setdefault(t.topic, []).append(t)
    chosen: set[str] = set()
    for topic, members in families.items():
        if _rx(topic).search(text):
            verb = next((t.name for t in members if t.verbs and _rx(t.verbs).search(text)), None)
            chosen |= {verb} if verb else {t.name for t in members}
    chosen |= set(third_party_tools(text, registry))
    if not chosen:
        return [n for n in registry.names() if n in routed]
    return [n for n in registry.names() if n in chosen]


_JOIN = re.compile(r"\s*,?\s*\b(?:and then|and also|and|then|also)\b\s*", re.IGNORECASE)


def _families(text: str, registry: ToolRegistry) -> set[str]:
    return {t.topic for t in routed_tools(registry).values() if _rx(t.topic).search(text)}


def takes_free_text(text: str, registry: ToolRegistry) -> bool:
    """Whether `text` names a family whose tool takes the user's own words ("remind me to call
    mum", "note that"): what is said after it belongs to those words (`clauses`, `reach.misses`)."""
    if not _families(text, registry):
        return False
    return any("text" in registry.get(n).params for n in candidate_tools(text, registry))


def _reached_apart(piece: str, before: str, registry: ToolRegistry) -> bool:
    """A clause whose thing only other tools declare ("set a timer and close the curtains", the
    curtains an MCP tool's, which has no family) is a request of its own (`reach.covers`)."""
    a = ask(piece)
    if a is None or not a.heads:
        return False
    theirs = {t.name for t in registry if covers(t, a)}
    return bool(theirs) and not theirs & set(route(before, registry))


def clauses(text: str, registry: ToolRegistry) -> list[str]:
    """One request per clause of a compound one: "set a timer for 5 minutes and add milk to the
    shopping list" is two, each planned on its own (a small model given both picks one, or neither).
    A clause starts at "and" / "then" / "also" only where the words after it name a family of their
    own, other than the clause before; and never after a clause whose tool takes the user's own
    free text ("remind me to call mum and buy bread" is one reminder, "note that ... and ..." one
    note). Anything else stays one request."""
    pieces = [p for p in _JOIN.split(text.strip()) if p.strip()]
    if len(pieces) < 2:
        return [text]
    out = [pieces[0]]
    for piece in pieces[1:]:
        current = out[-1]
        mine, before = _families(piece, registry), _families(current, registry)
        free_text = any("text" in registry.get(n).params for n in candidate_tools(current, registry))
        own = mine and before and not (mine <= before) or _reached_apart(piece, current, registry)
        if own and not free_text:
            out.append(piece)
        else:
            out[-1] = f"{current} and {piece}"
    return out if len(out) > 1 else [text]


def _by_meaning(text: str, registry: ToolRegistry, index: Any) -> list[str]:
    """The tools `text` is about by meaning alone. Never a sensitive tool (deleting, messaging,
    buying need the words that name them: a deterministic layer where safety needs one) and never
    the memory-writing tool (what the user tells about themselves is the memory's to keep)."""
    if index is None:
        return []
    tools = [t for t in registry if t.tier != Tier.SENSITIVE and t.name != "remember"]
    return [m.tool for m in index.match(text, tools)]


def _routed(text: str, registry: ToolRegistry, index: Any) -> list[str]:
    words = with_digits(text)  # "fifteen percent of eighty" says what "15 percent of 80" says
    worded = might_need_tools(words) or bool(third_party_tools(words, registry))
    if worded:
        names = candidate_tools(words, registry)
        fallback = [n for n in registry.names() if n in routed_tools(registry)]
        if names != fallback:
            return names
        meant = _by_meaning(text, registry, index)
        return meant or names
    return _by_meaning(text, registry, index)


def within_reach(text: str, names: list[str], registry: ToolRegistry) -> list[str]:
    """Of `names`, the tools that declare what the request controls or asks about (`reach.py`): a
    tool near a request by meaning or by a family word is never offered for a thing it does not
    declare ("set bed light brightness 50%" is no volume change, "lock the front door" no list
    removal). A bare specific verb ("Resume.") is offered the tools that declare that verb."""
    a = ask(text)
    if a is None:
        return names
    if a.kind == "control" and not a.obj:
        return [t.name for t in registry if t.tier != Tier.SENSITIVE and covers(t, a)]
    kept = [n for n in names if covers(registry.get(n), a)]
    if kept:
        return kept
    # no tool its words or meaning found declares the thing: a third-party tool that does (its
    # name, description or input schema, `reach.schema_words`) is offered: it is in reach
    return [t.name for t in registry if t.source != "local" and covers(t, a)]


def route(text: str, registry: ToolRegistry, index: Any = None) -> list[str]:
    """The tools to offer the planner for `text`; empty: no tool, the reply answers directly.
    Words first (each family's own words, a third-party tool's declared words); when the words
    name no family, the tools it is about by meaning (`tool_index.py`); when neither, none. The
    words are read with their spoken numbers as digits (`quantities.py`). Then only the tools
    that declare what the request controls or asks about stay (`within_reach`), and a compound
    request's later clauses bring their own ("turn on the porch light and set a timer for ten
    minutes": the timer only). A request that names something a tool's own state holds ("take
    the eggs off", eggs on a list: `Tool.held`) goes to that tool alone."""
    held = [t.name for t in registry if t.held is not None and t.held(with_digits(text)) is not None]
    if held:
        return held
    names = within_reach(text, _routed(text, registry, index), registry)
    if ask(text) is None:
        return names
    # the object read is the first clause's: a later clause brings its own tools
    rest = later_clauses(text)
    later = set(route(rest, registry, index)) if rest else set()
    return [n for n in registry.names() if n in names or n in later]


def later_clauses(text: str) -> str:
    """What follows a compound request's first "and" / "then" / "also"; "" when there is none."""
    pieces = [p for p in _JOIN.split(text.strip(), maxsplit=1) if p.strip()]
    return pieces[1] if len(pieces) > 1 else ""
