"""A request to remember ("remember that my sister Anna lives in Lisbon", "please remember my ...",
"don't forget that ...", "keep in mind ...", "记住我的女儿叫小美") is written at once, before the
reply, and the reply says what was kept, in the language it was asked in: "I'll remember that your
sister Anna lives in Lisbon." Never the model's words: a small model may refuse ("I can't assist
with that") or promise what was not stored. A secret is kept only as the fact that it exists
(memory/redaction.py) and the reply says so; when nothing could be stored, the reply says that.

"Note that ..." is the notes tool's, "remember to ..." a reminder's, "remember my voice" the voice
enrolment's, and a question ("remember what I told you?") is no request: those return None here
(what they state may still be kept after the turn by the write policy)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.errors import TwinError

from . import rules_en, rules_zh
from .commands import parse_command
from .items import Kind
from .language import clean, is_chinese
from .policy import extract
from .redaction import redact_secrets
from .speakers import speaker_scope

if TYPE_CHECKING:
    from .items import MemoryItem
    from .service import Memory

log = logging.getLogger(__name__)

# what follows the verb when it asks to keep nothing yet: "remember that", "remember this"
_EMPTY_EN = re.compile(r"^(?:that|this|it|this one|that one)?$", re.I)
# the Chinese verbs that ask to keep a fact ("记得" is left out: "记得带伞" is a reminder)
_ASK_ZH = re.compile(r"^(?:请你?|麻烦你?|帮我)?(?:记住|记下|记一下|记好|记着|别忘了|不要忘了|不要忘记)")
_EMPTY_ZH = re.compile(r"^(?:这个|那个|这件事|那件事|这|那|它)?$")


@dataclass(frozen=True)
class WriteRequest:
    lang: str  # "en" or "zh": the language of the request, and of the reply
    fact: str  # what the user asked to keep, as said ("" when they named nothing)
    stated: bool = False  # no "remember": a fact about the user or someone close, only stated


# A statement kept at once and acknowledged (no "remember" needed): a fact about the user or someone
# close ("my daughter Mia is allergic to peanuts", "I live in Lyon", "my favourite colour is blue").
# Tastes, moods and episodes are kept after the turn as before, and the model answers them. Whether
# the words also ask for something ("..., can you find a recipe?": the model answers that) is the
# caller's to decide, from its reading of the speech act clause by clause (the conversation's
# `recall.stated_fact`): memory reads facts, not requests.
STATED_KINDS = frozenset({Kind.PERSON, Kind.FACT})


def parse_statement(text: str) -> WriteRequest | None:
    """A fact stated (not asked to be remembered) that memory keeps and Twin acknowledges, or None.
    It does not read whether the words also ask for something: its caller does."""
    t = clean(text.replace("\u2019", "'"))
    if not t or parse_command(t) is not None:
        return None
    if rules_en.EXPLICIT.match(t) or _ASK_ZH.match(t):
        return None  # "remember ..." that is no request to keep a fact: "remember to buy milk"
    if any(c.kind in STATED_KINDS for c in extract(t)):
        return WriteRequest("zh" if is_chinese(t) else "en", t, stated=True)
    return None


def parse_write_request(text: str) -> WriteRequest | None:
    """A request to remember a fact, or None when `text` is none (a question, a forget command, a
    reminder, a note)."""
    t = clean(text.replace("\u2019", "'"))
    if not t or text.rstrip().endswith(("?", "？")) or parse_command(t) is not None:
        return None
    if is_chinese(t):
        z = re.sub(r"[\s。！!，,]+$", "", t)
        if _ASK_ZH.match(z) and not rules_zh.is_question(z):
            m = rules_zh.EXPLICIT.match(z)
            fact = m.group("fact").strip("，,：: ") if m else ""
            return WriteRequest("zh", "" if _EMPTY_ZH.match(fact) else fact)
        if re.match(r"^[\u4e00-\u9fff]", t):
            return None  # Chinese that is no request to remember
    m = rules_en.EXPLICIT.match(t)
    if m is None or m.group("verb").lower() == "note" or re.match(r"to\b", m.group("fact"), re.I):
        return None
    return WriteRequest("en", "" if _EMPTY_EN.match(m.group("fact").strip()) else m.group("fact").strip())


_REPLIES: dict[str, dict[str, str]] = {
    "en": {
        "kept": "I'll remember that {kept}.",
        "updated": "I'll remember that {kept}. That replaces what I had before: {old}.",
        "already": "I already had that: {kept}.",
        "secret": (
            "I never keep passwords, codes or other secrets, so I didn't store the value. "
            "I only noted that {kept}."
        ),
        "what": "What should I remember? Say, for example: remember that my sister lives in Lisbon.",
        "failed": "I couldn't save that, so nothing was stored: {why}",
        "off": "My memory is switched off, so I can't keep that.",
    },
    "zh": {
        "kept": "好的，我记住了：{kept}。",
        "updated": "好的，我记住了：{kept}。这替换了之前记下的：{old}。",
        "already": "这个我已经记下了：{kept}。",
        "secret": "密码、验证码这类机密我从不保存，所以没有记下具体内容，只记下了：{kept}。",
        "what": "要我记住什么？比如可以说：记住我的女儿叫小美。",
        "failed": "没能保存，什么都没有记下：{why}",
        "off": "记忆功能已关闭，所以我没法记下这件事。",
    },
}


def off_reply(request: WriteRequest) -> str:
    """The reply to a request to remember when memory is switched off."""
    return _REPLIES[request.lang]["off"]


def _spoken(item_text: str, lang: str, said: str = "") -> str:
    """A stored line as it reads inside the reply: "Your sister ..." -> "your sister ...", "The car
    ..." -> "the car ..." when it was said so; a name keeps its capital ("Tom likes jazz")."""
    t = item_text.strip().rstrip(".。")
    if lang == "en" and (re.match(r"^(?:your?|you're|you've|you'll)\b", t, re.I) or said[:1].islower()):
        return t[:1].lower() + t[1:]
    return t


def remember(mem: Memory, text: str, speaker: str | None, source: str = "") -> str | None:
    """Writes what a request to remember asks to keep, and returns the reply that says what was
    kept (or why nothing was); None when `text` is no such request."""
    request = parse_write_request(text) or parse_statement(text)
    if request is None:
        return None
    say = _REPLIES[request.lang]
    if not request.fact:
        return say["what"]
    who = speaker_scope(speaker or "owner")
    candidates = [c for c in extract(text) if c.explicit or (request.stated and c.kind in STATED_KINDS)]
    if not candidates:
        return say["what"]
    lines: list[str] = []
    try:
        for c in candidates:
            before = set(mem.items)
            old = mem._current_for_key(who, c.key) if c.key else None
            item: MemoryItem = mem.remember(c.text, who, c.kind, c.key, c.importance, source)
            kept = _spoken(item.text, request.lang, request.fact)
            if redact_secrets(c.text)[1]:  # "... is set (the value is never stored)": said once
                kept = re.sub(r"\s*[(（][^()（）]*[)）]$", "", kept)
                lines.append(say["secret"].format(kept=kept))
            elif item.id in before:
                lines.append(say["already"].format(kept=kept))
            elif old is not None and old.id != item.id and old.text != item.text:
                lines.append(say["updated"].format(kept=kept, old=_spoken(old.text, request.lang)))
            else:
                lines.append(say["kept"].format(kept=kept))
    except TwinError as exc:  # a full disk, an unreachable server, a fact too long: said, not hidden
        log.warning("a request to remember was not stored: %s", exc.message)
        why = exc.message.rstrip(".") + "." + (f" {exc.hint[:1].upper()}{exc.hint[1:]}." if exc.hint else "")
        return " ".join([*lines, say["failed"].format(why=why)])
    return " ".join(lines)
