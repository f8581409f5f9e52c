"""Sensitive arguments come from the user's own words, not the model's imagination.

A small model asked to "send running late to Anna" may well write the message itself ("I'm sorry,
I can't assist with that.") and a confirmation would then read out words the user never said. So
before a sensitive call runs, each of its text arguments must be supported by what the user said.
A tool that takes dictation (`Tool.dictation`) has its recipient and words taken from the user's
words where the request has the usual shape ("... saying X", "send X to NAME", "message NAME X");
otherwise the call does not run.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.acting.permissions import Provenance
from pipeline.acting.quantities import with_digits
from pipeline.tools.base import Dictation, Tier, Tool


def _sourced(value: str, prov: Provenance) -> bool:
    """The user said it, or it is quoted from text this turn read (the permission gate then treats
    it as tainted and asks); not when the model made it up."""
    if prov.supported_by_user(value):
        return True
    channels = prov.taint(value)
    return bool(channels) and "unknown_after_untrusted" not in channels


def _take_dictation(
    d: Dictation, args: dict[str, Any], prov: Provenance
) -> tuple[dict[str, Any], str | None, str]:
    """The recipient the user named and the words they dictated, in place of the model's."""
    out = dict(args)
    note = ""
    to = args.get(d.to)
    named = d.recipient(prov.user_text)
    words = to.lower().split() if isinstance(to, str) else []
    if named and (len(words) > d.max_to_words or not words or words[0] != named.lower()):
        out[d.to] = named  # the model's recipient is not the one the user named
        note = "recipient taken from the user's words"
    if len(str(out.get(d.to, "")).split()) > d.max_to_words:
        return args, d.no_recipient, ""
    text = args.get(d.text)
    if isinstance(text, str) and not _sourced(text, prov):
        dictated = d.words(prov.user_text, str(out.get(d.to, "")))
        if not dictated:
            return args, d.no_text, ""
        out[d.text] = dictated
        note = f"{d.noun} text taken from the user's words"
    return out, None, note


def said_numbers(text: str) -> set[float]:
    """The numbers the user's words state: digits and number words, "a"/"an"/"one" before a unit
    ("an hour"), and a half ("half an hour", "an hour and a half")."""
    digits = with_digits(text)
    found = {float(x) for x in re.findall(r"\d+(?:\.\d+)?", digits)}
    if re.search(
        r"\b(?:an?|one)\s+(?:hour|minute|second|day|week|month|year|mile|kilo|pound|litre|liter|metre|meter)",
        digits,
        re.IGNORECASE,
    ):
        found.add(1.0)
    if re.search(r"\bhalf\b", digits, re.IGNORECASE):
        found |= {0.5, 30.0}
    return found


# A quantity said without a number: "half an hour", "a minute", "a quarter", "a couple", "a bit"
_QUANTITY = re.compile(
    r"\b(?:half|quarter|couple|few|dozen|bit|little|lot|much|more|less|an?\s+(?:hours?|minutes?|seconds?|day|week))\b",
    re.IGNORECASE,
)


def _unsaid_numbers(tool: Tool, args: dict[str, Any], prov: Provenance) -> tuple[dict[str, Any], str]:
    """An act call's optional numbers that the user never said, dropped when another of its numbers
    was said: "set a timer for ten minutes" is {"minutes": 10}, not the {"hours": 1, "minutes": 10}
    a small model offered an "hours" field may add. A call with no said number at all keeps its
    numbers only when the words say a quantity some other way ("half an hour" may reach it as
    minutes=30); with none ("Resin the timer.", Whisper's "resume the timer") the small model's
    minutes=10 is not the user's, and is dropped (the tool then says what it needs)."""
    said = said_numbers(prov.user_text)
    numbers = {k: v for k, v in args.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    unsaid = [k for k, v in numbers.items() if v and float(v) not in said and k not in tool.required]
    none_said = len(unsaid) == len([v for v in numbers.values() if v])
    if not unsaid or (none_said and _QUANTITY.search(prov.user_text)):
        return args, ""
    return {k: v for k, v in args.items() if k not in unsaid}, f"dropped {', '.join(unsaid)}: not said"


# How the user says an optional choice a small model may add on its own: "remind me to call mom at
# 5pm" came back as a *daily* reminder. A choice (a schema enum value other than "none") runs only
# when the words say it, by its own word or these; else the tool's default stands.
_CHOICE_SAID = {
    "daily": r"\b(?:daily|every\s*day|each\s+day|every\s+(?:morning|evening|night|afternoon))\b",
    "weekly": r"\b(?:weekly|every\s+week|each\s+week|every\s+(?:mon|tues|wednes|thurs|fri|satur|sun)day)\b",
}


def _said_choices(tool: Tool, args: dict[str, Any], prov: Provenance) -> tuple[dict[str, Any], str]:
    """An act call's optional choices (schema enums) as the user's words state them: a value they
    did not say is dropped (the tool's default stands), and the one value they did say is used
    whether or not the model filled it in ("remind me every day at 8" with no `repeat`: daily)."""
    out, notes = dict(args), []
    for key, spec in tool.params.items():
        if key in tool.required or "enum" not in spec:
            continue
        said = [
            v
            for v in spec["enum"]
            if v != "none"
            and re.search(_CHOICE_SAID.get(v, rf"\b{re.escape(v)}\b"), prov.user_text, re.IGNORECASE)
        ]
        value = out.get(key)
        if len(said) == 1 and value != said[0]:
            out[key] = said[0]
            notes.append(f"{key} {said[0]}: from the user's words")
        elif isinstance(value, str) and value != "none" and value not in said:
            del out[key]
            notes.append(f"dropped {key}: not said")
    return out, "; ".join(notes)


def ground(
    tool: Tool, args: dict[str, Any], prov: Provenance, read: bool = False
) -> tuple[dict[str, Any], str | None, str]:
    """(arguments to run with, a reason the call must not run or None, a note on any repair). `read`:
    the arguments were read from the words by the tool's own reader ("turn it up": change 10), so
    its numbers are the words' own."""
    if tool.tier == Tier.ACT:
        out, note = (args, "") if read else _unsaid_numbers(tool, args, prov)
        out, choice_note = _said_choices(tool, out, prov)
        return out, None, "; ".join(filter(None, [note, choice_note]))
    if tool.tier != Tier.SENSITIVE:
        return args, None, ""
    out, note = dict(args), ""
    if tool.dictation is not None:
        out, why, note = _take_dictation(tool.dictation, args, prov)
        if why is not None:
            return args, why, ""
    for key, value in list(out.items()):
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float) and not _sourced(f"{value:g}", prov):
            if key in tool.required:
                return args, f"'{key}' was not something you said", ""
            del out[key]  # a number the model made up ("quantity": 100000000000): the tool's default
            note = f"dropped '{key}': not something the user said"
        elif isinstance(value, str) and value.strip() and not _sourced(value, prov):
            return args, f"'{key}' was not something you said", ""
    return out, None, note
