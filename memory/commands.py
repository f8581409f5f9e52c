"""Spoken memory commands, in English and Chinese: "what do you remember about me?", "forget that",
"forget everything about my old job". Recognised by patterns and answered from memory, not by the
model: forgetting must really delete, and the answer must say what was done. The reply is in the
language the command was said in.

A forget command is never carried out here: `plan` says what it would delete, and the caller (the
conversation, with a spoken yes and an audit entry) calls `Memory.carry_out`. `answer`, which has no
way to ask, only tells how to do it (memory/forgetting.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .forgetting import ForgetPlan
from .items import as_line
from .language import clean, is_chinese
from .speakers import speaker_scope

if TYPE_CHECKING:
    from .service import Memory


@dataclass(frozen=True)
class Command:
    action: str  # list | forget_last | forget_about | forget_all
    topic: str = ""
    lang: str = "en"  # the language it was said in ("en" or "zh"), for the reply


_COMMANDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bwhat do you (?:remember|know) about me\b", re.I), "list"),
    (re.compile(r"\bforget (?:that|it|what i just said)\b", re.I), "forget_last"),
    # "no, don't remember that", "please don't keep that": the write just made, refused (never "I
    # don't remember that", the user's own memory)
    (
        re.compile(
            r"^\W*(?:(?:no|oh|actually|wait|sorry|okay|ok|please)\W+)*(?:don['\u2019]?t|do not|never)\s+"
            r"(?:remember|keep|save|store)\s+(?:that|this|it|what i (?:just )?said)\b",
            re.I,
        ),
        "forget_last",
    ),
    (re.compile(r"\bforget everything(?: you know)?(?: about me)?\s*$", re.I), "forget_all"),
    (
        re.compile(r"\bforget (?:everything |all )?(?:about |that )?(?P<topic>my .+|about .+)$", re.I),
        "forget_about",
    ),
]

_NOT_FORGET = re.compile(r"\b(?:don['\u2019]?t|do not|never|not)\s+forget\b", re.I)

_ZH_FORGET = r"^(?:请你?|麻烦你?|帮我)?(?:把|将)?(?:忘掉|忘记|忘了|删掉|删除|清除|抹掉)"
_ZH_THAT = r"(?:那个|这个|它|刚才(?:说的|那句|的话|那件事)?|那句话|这句话|我刚才说的(?:话)?)"
_ZH_ALL = r"(?:一切|所有|全部)"
_ZH_THINGS = r"(?:的)?(?:事情?|东西|记忆|内容|信息|资料)?吧?$"
_ZH_COMMANDS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"(?:(?:你|您)(?:都|还)?(?:记得|记住了|知道|记着)(?:关于)?我(?:的)?(?:什么|哪些|些什么)|"
            r"关于我(?:的事)?[，, ]*(?:你|您)(?:都|还)?(?:记得|知道|记住了)(?:些|哪些)?(?:什么)?)"
            r"(?:事情?|东西)?(?:吗|呢|啊)?$"
        ),
        "list",
    ),
    (re.compile(rf"{_ZH_FORGET}{_ZH_THAT}吧?$"), "forget_last"),
    (re.compile(rf"^(?:请你?|你)?把{_ZH_THAT}(?:给)?(?:忘掉|忘了|删掉|删了|忘记)吧?$"), "forget_last"),
    (
        re.compile(
            rf"{_ZH_FORGET}(?:你记得的)?(?:{_ZH_ALL}(?:关于|有关)?我(?:的)?|(?:关于|有关)?我的?{_ZH_ALL}){_ZH_THINGS}"
        ),
        "forget_all",
    ),
    (
        re.compile(
            rf"{_ZH_FORGET}{_ZH_ALL}?(?:关于|有关)(?:我的?)?(?P<topic>.+?)(?:的)?{_ZH_ALL}?{_ZH_THINGS}"
        ),
        "forget_about",
    ),
    (re.compile(rf"{_ZH_FORGET}我的(?P<topic>.+?)吧?$"), "forget_about"),
]


def parse_command(text: str) -> Command | None:
    t = clean(text)
    if is_chinese(t):
        z = re.sub(r"[\s。！？!?，,、]+$", "", t)
        for pattern, action in _ZH_COMMANDS:
            m = pattern.search(z)
            if m:
                topic = (m.groupdict().get("topic") or "").strip()
                if action == "forget_about" and not topic:
                    continue
                return Command(action, topic, "zh")
    if _NOT_FORGET.search(t):  # "don't forget that ..." asks to keep, not to delete
        return None
    for pattern, action in _COMMANDS:
        m = pattern.search(t)
        if m:
            topic = m.groupdict().get("topic") or ""
            return Command(action, re.sub(r"^(about|my)\s+", "", topic, flags=re.I).strip())
    return None


# the spoken replies, by the language of the command (Command.lang)
_REPLIES: dict[str, dict[str, str]] = {
    "en": {
        "list": "Here is what I remember: {lines}.{more}",
        "sep": "; ",
        "list_more": " And {n} more things; say 'twin memory list' to see all.",
        "list_empty": "I don't have anything saved about you yet.",
    },
    "zh": {
        "list": "我记得这些：{lines}。{more}",
        "sep": "；",
        "list_more": "另外还有{n}条，说“twin memory list”可以看全部。",
        "list_empty": "我还没有记下关于你的任何事。",
    },
}


def plan(mem: Memory, text: str, speaker: str | None) -> ForgetPlan | None:
    """What a spoken forget command would delete (only the speaker's own items), or None when the
    words are no forget command."""
    cmd = parse_command(text)
    if cmd is None or cmd.action == "list":
        return None
    who = speaker_scope(speaker or "owner")
    if cmd.action == "forget_last":
        return mem.plan_forget(who, last=True, lang=cmd.lang)
    if cmd.action == "forget_all":
        return mem.plan_forget(who, everything=True, lang=cmd.lang)
    return mem.plan_forget(who, about=cmd.topic, lang=cmd.lang)


def answer(mem: Memory, text: str, speaker: str | None) -> str | None:
    """The reply to speak, or None when the words are not a memory command. Only the speaker's own
    items are listed: a guest cannot hear the owner's memories. A forget command is not carried out
    (there is no way to ask for a yes here): the reply says what it would delete, or how to do it."""
    cmd = parse_command(text)
    if cmd is None:
        return None
    who = speaker_scope(speaker or "owner")
    say = _REPLIES.get(cmd.lang, _REPLIES["en"])
    if cmd.action == "list":
        mine = [it for it in mem.items.values() if it.speaker == who and it.current]
        mine.sort(key=lambda it: (-it.importance, -it.created))
        if not mine:
            return say["list_empty"]
        lines = say["sep"].join(as_line(it, cmd.lang) for it in mine[:5])
        more = say["list_more"].format(n=len(mine) - 5) if len(mine) > 5 else ""
        return say["list"].format(lines=lines, more=more)
    forget = plan(mem, text, who)
    assert forget is not None
    return forget.cannot_ask() if forget.items else forget.nothing()
