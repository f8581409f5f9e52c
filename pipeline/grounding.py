"""Sensitive arguments come from the user's own words, not the model's imagination.

A small model asked to "send running late to Anna" may well write the message itself ("I'm sorry,
I can't assist with that.") and a confirmation would then read out words the user never said. So
before a sensitive call runs, each of its text arguments must be supported by what the user said.
A message's text that is not is taken from the user's words where the request has the usual shape
("... saying X", "... that X", "send X to NAME", "message NAME X"); otherwise the call does not run.
"""

from __future__ import annotations

import re
from typing import Any

from .permissions import Provenance
from .tools.base import Tier, Tool

_SAYING = re.compile(r"\b(?:saying|that says|that|to say|:)\s+(?P<text>.+)$", re.I)
_SEND_TO = re.compile(
    r"^(?:please\s+)?(?:send|text|message|tell)\s+(?P<text>.+?)\s+to\s+(?P<to>[\w'-]+)[.!?]?$", re.I
)
_MESSAGE_NAME = re.compile(
    r"^(?:please\s+)?(?:message|text|tell)\s+(?P<to>[\w'-]+)\s+(?P<text>(?!that\b|saying\b).+)$", re.I
)


NO_MESSAGE_TEXT = "I could not tell what the message should say"
_CUES = frozenset({"to", "text", "message", "tell", "email"})
_NOT_NAMES = frozenset(
    {"a", "an", "the", "my", "our", "your", "his", "her", "their", "this", "that", "it", "to", "me"}
    | {"him", "them", "us", "saying", "say", "says", "and", "about", "what", "when", "if", "i", "i'm"}
)


def recipient(user_text: str) -> str | None:
    """Who the message is for, in the user's words: the first name after to/text/message/tell."""
    words = re.findall(r"[\w'-]+", user_text)
    for cue, name in zip(words, words[1:], strict=False):
        if cue.lower() in _CUES and name.lower() not in _NOT_NAMES:
            return name
    return None


def message_text(user_text: str, to: str) -> str | None:
    """The message the user dictated, cut from their words; None when the request has no clear one."""
    t = user_text.strip()
    m = _SAYING.search(t)
    if m:
        return m.group("text").strip(" .!?\"'")
    m = _SEND_TO.match(t)
    if m and m.group("to").lower() == to.lower():
        text = re.sub(
            r"^(?:an?\s+)?(?:message|text|note)\b(?:\s+saying\b)?\s*", "", m.group("text"), flags=re.I
        )
        return text.strip(" .!?\"'") or None
    m = _MESSAGE_NAME.match(t)
    if m and m.group("to").lower() == to.lower():
        return m.group("text").strip(" .!?\"'")
    return None


def _sourced(value: str, prov: Provenance) -> bool:
    """The user said it, or it is quoted from text this turn read (the permission gate then treats
    it as tainted and asks); not when the model made it up."""
    if prov.supported_by_user(value):
        return True
    channels = prov.taint(value)
    return bool(channels) and "unknown_after_untrusted" not in channels


def ground(tool: Tool, args: dict[str, Any], prov: Provenance) -> tuple[dict[str, Any], str | None, str]:
    """(arguments to run with, a reason the call must not run or None, a note on any repair)."""
    if tool.tier != Tier.SENSITIVE:
        return args, None, ""
    user_text = prov.user_text
    out = dict(args)
    note = ""
    to = args.get("to")
    named = recipient(user_text) if tool.name == "send_message" else None
    words = to.lower().split() if isinstance(to, str) else []
    if named and (len(words) > 3 or not words or words[0] != named.lower()):
        out["to"] = named  # the model's recipient is not the one the user named
        note = "recipient taken from the user's words"
    if tool.name == "send_message" and len(str(out.get("to", "")).split()) > 3:
        return args, "I could not tell who the message is for", ""
    text = args.get("text")
    if tool.name == "send_message" and isinstance(text, str) and not _sourced(text, prov):
        dictated = message_text(user_text, str(out.get("to", "")))
        if not dictated:
            return args, NO_MESSAGE_TEXT, ""
        out["text"] = dictated
        note = "message text taken from the user's words"
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
