"""The English write rules: which sayings are worth remembering, as what kind, and in which slot.

A slot key ("daughter.name", "user.lives_in") makes a changed value supersede the old one rather than
sit beside it; the relation names match the Chinese rules' so both languages fill the same slots.
"""

from __future__ import annotations

import re

from .items import Kind

_REL = (
    "daughter|son|wife|husband|partner|girlfriend|boyfriend|mother|mom|mum|father|dad|sister|brother|"
    "friend|best friend|boss|doctor|neighbour|neighbor|grandson|granddaughter|dog|cat|carer|nurse"
)

EXPLICIT = re.compile(
    r"^(?:please\s+)?(?:remember|don'?t forget|note|keep in mind)(?: that)?\s+(?P<fact>.+)$", re.I
)
RULES: list[tuple[re.Pattern[str], Kind, str, float]] = [
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
