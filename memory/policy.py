"""What is worth remembering from a turn, in English and Chinese.

Rules, not an LLM, decide writes: they are predictable, run in microseconds off the voice path, and
never invent a fact. Explicit requests are always written; stable personal facts ("my daughter's
name is Lily", "I live in Leeds", "我女儿叫莉莉", "我住在上海") fill slots so a changed value
supersedes the old one (a Chinese and an English statement of the same slot share its key); chit-chat
is not written; secrets are never stored in plain text (memory/redaction.py). The rules themselves
are in memory/rules_en.py and memory/rules_zh.py; the spoken commands in memory/commands.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import rules_en, rules_zh
from .commands import Command, parse_command
from .items import Kind
from .language import clean, is_chinese, starts_chinese
from .redaction import redact_secrets


@dataclass(frozen=True)
class Candidate:
    text: str
    kind: Kind
    key: str = ""
    importance: float = 0.5
    explicit: bool = False


def first_person(text: str) -> str:
    """Store what the user says of themselves as Twin will say it back: "I live in Leeds" becomes
    "You live in Leeds" (the model repeats it naturally, and so does the spoken memory list)."""
    subs = [
        (r"\bI am\b", "you are"),
        (r"\bI'm\b", "you're"),
        (r"\bI was\b", "you were"),
        (r"\bI\b", "you"),
        (r"\bmy\b", "your"),
        (r"\bme\b", "you"),
        (r"\bmine\b", "yours"),
        (r"\bmyself\b", "yourself"),
    ]
    out = text
    for pattern, repl in subs:
        out = re.sub(pattern, repl, out, flags=re.I)
    if is_chinese(out):  # "我住在上海" -> "你住在上海"; "我们家" -> "你们家"
        out = out.replace("咱们", "你们").replace("我", "你")
    return out[:1].upper() + out[1:]


def _extract_zh(text: str) -> list[Candidate]:
    t = re.sub(r"[\s。！？!?]+$", "", text.strip())
    m = rules_zh.EXPLICIT.match(t)
    explicit = m is not None
    if m:
        t = m.group("fact").strip("，,：: ")
    for pattern, kind, key_fmt, importance in rules_zh.RULES:
        hit = pattern.search(t)
        if not hit:
            continue
        groups = {k: v.strip("，,。 ") for k, v in hit.groupdict().items() if v}
        if "rel" in groups:
            groups["rel"] = rules_zh.RELATIONS[groups["rel"]]
        key = key_fmt.format(**groups) if key_fmt else ""
        return [Candidate(first_person(t), kind, key, max(importance, 0.8 if explicit else 0), explicit)]
    if explicit and not rules_zh.is_question(t):  # "记一下明天要开会吗" asks, it states nothing
        return [Candidate(first_person(t), Kind.FACT, "", 0.8, True)]
    return []


_GREETING = re.compile(r"^(?:(?:hi|hello|hey|ok|okay|so|well|oh|twin)\b[^,]{0,20},\s*)+(?=\S)", re.I)


def _sentence_start(text: str, at: int) -> int:
    return ([0] + [m.end() for m in re.finditer(r"[.!?;]\s+", text) if m.end() <= at])[-1]


def _sentence_at(text: str, at: int) -> str:
    """The sentence of `text` that holds position `at`: "Hi Twin, my name is Sam. What can you help
    me with?" keeps "my name is Sam" (a greeting before a comma goes too), not the whole turn."""
    start = _sentence_start(text, at)
    end = re.compile(r"[.!?;](?:\s|$)").search(text, at)
    sentence = text[start : end.start() if end else len(text)].strip()
    greeting = _GREETING.match(sentence)
    return sentence[greeting.end() :] if greeting else sentence


# Words before a rule's match that make it asked, not stated: "Where did | I live in 2023?", "Do | I
# live in Leeds", "How long have | I worked at the bank?".
_ASKED = re.compile(
    r"(?:(?:where|what|when|why|how|which|who)(?:\s+\w+)?\s+)?"
    r"(?:did|do|does|am|was|were|have|has|had|can|could|would|will|should|shall)",
    re.I,
)
_WH = re.compile(r"(?:where|what|when|why|how|which|who)\b", re.I)


def _asked(text: str, at: int) -> bool:
    """Whether the words of `text` from `at` are asked rather than stated: its sentence begins with
    a question's words right up to them, or begins with a question word and ends with "?". A
    question is no fact (before, "Where did I live in 2023?" was stored as where you live)."""
    prefix = text[_sentence_start(text, at) : at].strip(" ,")
    greeting = _GREETING.match(prefix + " ")
    prefix = (prefix + " ")[greeting.end() :].strip() if greeting else prefix
    if _ASKED.fullmatch(prefix):
        return True
    end = re.compile(r"[.!?;](?:\s|$)").search(text, at)
    return end is not None and text[end.start()] == "?" and bool(_WH.match(prefix))


def extract(text: str) -> list[Candidate]:
    """Memory candidates in one user utterance (may be none: most turns hold nothing to keep)."""
    if is_chinese(text):
        zh = _extract_zh(text)
        if zh or starts_chinese(text):
            return zh
    t = clean(text)
    m = rules_en.EXPLICIT.match(t)
    explicit = m is not None
    if m:
        t = clean(m.group("fact"))
    out: list[Candidate] = []
    for pattern, kind, key_fmt, importance in rules_en.RULES:
        hit = pattern.search(t)
        if not hit:
            continue
        if _asked(t, hit.start()):
            break  # a question about the fact states none
        groups = {k: clean(v).lower() for k, v in hit.groupdict().items() if v}
        key = key_fmt.format(**groups) if key_fmt else ""
        said = first_person(_sentence_at(t, hit.start()))
        out.append(Candidate(said, kind, key, max(importance, 0.8 if explicit else 0), explicit))
        break
    if explicit and not out:
        out.append(Candidate(first_person(t), Kind.FACT, "", 0.8, True))
    return out


__all__ = [
    "Candidate",
    "Command",
    "extract",
    "first_person",
    "is_chinese",
    "parse_command",
    "redact_secrets",
]
