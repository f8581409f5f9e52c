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

# "(hey) (Twin,) (please) (can you) (please) remember (that|this:) ...": an explicit request to keep
# something. Not one when a question word or the voice follows the verb ("remember what I said?",
# "remember my voice"); "remember to ..." is kept as said (the planner may also make it a reminder).
_LEAD = (
    r"^(?:(?:hey|ok|okay|so|and|also|oh|now)[ ,]+)*(?:twin[ ,]+)?(?:please[ ,]+)?"
    r"(?:(?:can|could|will|would) you\s+|i (?:want|need|would like|'d like) you to\s+|"
    r"make sure (?:you|to)\s+)?(?:please\s+)?"
)
_VERB = (
    r"remember|memori[sz]e|don['\u2019]?t (?:ever )?forget|do not forget|never forget|note|keep in mind|"
    r"commit to memory|(?:store|save|keep|put)(?: (?:it|this|that))? (?:in|into) (?:your )?memory"
)
_NOT_A_FACT = r"(?!(?:what|when|where|who|whom|whose|how|why|which|if|whether|me|my voice|our voices?)\b)"
EXPLICIT = re.compile(
    rf"{_LEAD}(?P<verb>{_VERB})(?:\s+for me)?(?:\s+(?:that|this))?\s*[:,]?\s+{_NOT_A_FACT}(?P<fact>.+)$",
    re.I,
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
    # "my daughter (Mia) is allergic to peanuts": someone close's allergy, one slot per thing
    (
        re.compile(rf"\bmy (?P<rel>{_REL})(?:,?\s+[A-Z][\w'-]*,?)?\s+is allergic to (?P<v>.+)", re.I),
        Kind.PERSON,
        "{rel}.allergy.{v}",
        0.9,
    ),
    # "my wife Anna loves jazz", "my son works at the bakery": what someone close likes, does, is
    (
        re.compile(
            rf"\bmy (?P<rel>{_REL})(?:,?\s+[A-Z][\w'-]*,?)?\s+(?:loves|likes|enjoys|hates|works|"
            r"lives|studies|plays|speaks|drinks|eats|can'?t eat|cannot eat|doesn'?t eat|was born|is an?|"
            r"is (?:coming|visiting|arriving|staying|moving|getting married|having)|"
            r"is \d+)\b.*",
            re.I,
        ),
        Kind.PERSON,
        "",
        0.6,
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
