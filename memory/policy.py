"""What is worth remembering from a turn, and the spoken memory commands.

Rules, not an LLM, decide writes: they are predictable, run in microseconds off the voice path, and
never invent a fact. Explicit requests are always written; stable personal facts ("my daughter's
name is Lily", "I live in Leeds") fill slots so a changed value supersedes the old one; chit-chat
is not written; secrets are never stored in plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .items import Kind

_REL = (
    "daughter|son|wife|husband|partner|girlfriend|boyfriend|mother|mom|mum|father|dad|sister|brother|"
    "friend|best friend|boss|doctor|neighbour|neighbor|grandson|granddaughter|dog|cat|carer|nurse"
)
_SECRET = re.compile(
    r"\b(pin|pin code|password|passcode|passphrase|cvv|security code|card number|social security|"
    r"bank details|account number)\b",
    re.IGNORECASE,
)
_LONG_DIGITS = re.compile(r"(?:\d[ -]?){8,}")


@dataclass(frozen=True)
class Candidate:
    text: str
    kind: Kind
    key: str = ""
    importance: float = 0.5
    explicit: bool = False


@dataclass(frozen=True)
class Command:
    action: str  # list | forget_last | forget_about | forget_all
    topic: str = ""


def _clean(s: str) -> str:
    return s.strip().rstrip(".!?").strip()


def redact_secrets(text: str) -> tuple[str, bool]:
    """Replace anything that looks like a secret value; True when something was redacted."""
    if _SECRET.search(text):
        head = _SECRET.split(text, maxsplit=1)[0] + _SECRET.search(text).group(0)  # type: ignore[union-attr]
        return f"{_clean(head)} is set (the value is never stored)", True
    if _LONG_DIGITS.search(text):
        return _LONG_DIGITS.sub("[number not stored]", text), True
    return text, False


_COMMANDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bwhat do you (?:remember|know) about me\b", re.I), "list"),
    (re.compile(r"\bforget (?:that|it|what i just said)\b", re.I), "forget_last"),
    (re.compile(r"\bforget everything(?: you know)?(?: about me)?\s*$", re.I), "forget_all"),
    (
        re.compile(r"\bforget (?:everything |all )?(?:about |that )?(?P<topic>my .+|about .+)$", re.I),
        "forget_about",
    ),
]


def parse_command(text: str) -> Command | None:
    t = _clean(text)
    for pattern, action in _COMMANDS:
        m = pattern.search(t)
        if m:
            topic = m.groupdict().get("topic") or ""
            return Command(action, re.sub(r"^(about|my)\s+", "", topic, flags=re.I).strip())
    return None


_EXPLICIT = re.compile(
    r"^(?:please\s+)?(?:remember|don'?t forget|note|keep in mind)(?: that)?\s+(?P<fact>.+)$", re.I
)
_RULES: list[tuple[re.Pattern[str], Kind, str, float]] = [
    (
        re.compile(
            rf"\bmy (?P<rel>{_REL})(?:'s name| is called|'s called| is named)\s*(?:is\s+)?(?P<v>[\w' -]+)",
            re.I,
        ),
        Kind.PERSON,
        "{rel}.name",
        0.8,
    ),
    (re.compile(r"\bmy name is (?P<v>[\w' -]+)", re.I), Kind.PERSON, "user.name", 0.9),
    (
        re.compile(rf"\bi have an? (?P<rel>{_REL}) (?:called|named) (?P<v>[\w' -]+)", re.I),
        Kind.PERSON,
        "{rel}.name",
        0.7,
    ),
    (re.compile(r"\bi live in (?P<v>.+)", re.I), Kind.FACT, "user.lives_in", 0.7),
    (re.compile(r"\bi(?:'m| am) allergic to (?P<v>.+)", re.I), Kind.FACT, "user.allergy.{v}", 0.9),
    (re.compile(r"\bi work (?:as|at|for) (?P<v>.+)", re.I), Kind.FACT, "user.job", 0.6),
    (
        re.compile(
            r"\bmy (?P<attr>favou?rite [a-z]+|birthday|job|address|phone number|email) is (?P<v>.+)", re.I
        ),
        Kind.FACT,
        "user.{attr}",
        0.6,
    ),
    (re.compile(r"\bi (?:really )?(?:like|love|enjoy|prefer) (?P<v>.+)", re.I), Kind.PREFERENCE, "", 0.5),
    (re.compile(r"\bi (?:don'?t like|hate|dislike|can'?t stand) (?P<v>.+)", re.I), Kind.PREFERENCE, "", 0.5),
    (
        re.compile(
            r"\bevery (?:morning|evening|day|night|week|monday|tuesday|wednesday|thursday|friday|"
            r"saturday|sunday)\b.*\bi\b.+",
            re.I,
        ),
        Kind.ROUTINE,
        "",
        0.5,
    ),
    (
        re.compile(
            r"\b(?:today|yesterday|this morning|last night|this week)\b.*\bi (?:went|visited|met|saw|had|did|"
            r"started|finished|bought|called)\b.+",
            re.I,
        ),
        Kind.EPISODE,
        "",
        0.4,
    ),
    (
        re.compile(
            r"\bi (?:went|visited|met|saw|had|started|finished|bought|called) .+\b(?:today|yesterday|"
            r"this morning|last night)\b",
            re.I,
        ),
        Kind.EPISODE,
        "",
        0.4,
    ),
    (
        re.compile(
            r"\bi(?:'m| am| feel| have been feeling) (?:so |really |very )?(?P<v>sad|lonely|anxious|"
            r"worried|stressed|down|depressed|scared|upset|tired|exhausted)\b",
            re.I,
        ),
        Kind.EMOTION,
        "",
        0.6,
    ),
]


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
    return out[:1].upper() + out[1:]


def extract(text: str) -> list[Candidate]:
    """Memory candidates in one user utterance (may be none: most turns hold nothing to keep)."""
    t = _clean(text)
    m = _EXPLICIT.match(t)
    explicit = m is not None
    if m:
        t = _clean(m.group("fact"))
    out: list[Candidate] = []
    for pattern, kind, key_fmt, importance in _RULES:
        hit = pattern.search(t)
        if not hit:
            continue
        groups = {k: _clean(v).lower() for k, v in hit.groupdict().items() if v}
        key = key_fmt.format(**groups) if key_fmt else ""
        out.append(Candidate(first_person(t), kind, key, max(importance, 0.8 if explicit else 0), explicit))
        break
    if explicit and not out:
        out.append(Candidate(first_person(t), Kind.FACT, "", 0.8, True))
    return out
