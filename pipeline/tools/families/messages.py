"""Messages to the user's contacts, through the outbox (pipeline/tools/outbox.py); sensitive.

The recipient and the words must be the user's own: the language of dictating a message ("... saying
X", "send X to NAME", "message NAME X") is read here, and the planner and grounding use it through
the tool's `Dictation`, never by name.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from pipeline.tools.base import Dictation, Tier, Tool, ToolResult
from pipeline.tools.errors import ToolArgumentError
from pipeline.tools.family import Context, Family, S, tool
from pipeline.tools.outbox import Outbox

_SAYING = re.compile(r"\b(?:saying|that says|that|to say|:)\s+(?P<text>.+)$", re.I)
_SEND_TO = re.compile(
    r"^(?:please\s+)?(?:send|text|message|tell)\s+(?P<text>.+?)\s+to\s+(?P<to>[\w'-]+)[.!?]?$", re.I
)
_MESSAGE_NAME = re.compile(
    r"^(?:please\s+)?(?:message|text|tell)\s+(?P<to>[\w'-]+)\s+(?P<text>(?!that\b|saying\b).+)$", re.I
)
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


class Messages(Family):
    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.outbox = Outbox(ctx.data_dir, ctx.outbox)

    @tool(
        "send_message",
        "send a text message to a contact",
        Tier.SENSITIVE,
        {"to": S, "text": S},
        ("to", "text"),
        verb="send a message",
        category="message",
        cue=r"\b(?:message|text (?:\w+ )?(?:to|that)|send)\b",
        topic=r"\b(message|text|send|email|tell)\b",
        example=("text Sam that I'm on my way", {"to": "Sam", "text": "I'm on my way"}),
        question="Send '{text}' to {to}? Say yes to send.",
        dictation=Dictation("message", "to", "text", recipient, message_text),
    )
    def send_message(self, a: dict[str, Any]) -> ToolResult:
        to, text = a["to"].strip(), a["text"].strip()
        if not to or not text:
            raise ToolArgumentError(
                "a message needs a recipient and text", "e.g. to='Anna', text='running late'"
            )
        summary, data = self.outbox.send(to, text, self.ctx.now().isoformat())
        return ToolResult(True, summary, data)

    def tools(self) -> list[Tool]:
        """A mail server gets its own timeout, and the call a few seconds more to report it."""
        timeout_s = float(getattr(self.outbox.cfg, "timeout_s", 5.0)) + 5.0
        return [replace(t, timeout_s=timeout_s) for t in super().tools()]
