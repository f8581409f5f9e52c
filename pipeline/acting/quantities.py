"""Quantities as people say them, read into digits for the word layer of routing and for the tools
whose arguments the words state plainly: "fifteen percent of eighty" is "15 percent of 80", "twenty
six miles" is "26 miles", "two point five kilos" is "2.5 kilos", "a hundred and ten" is "110".

An ASR writes small numbers as words and larger ones as digits; the tools' cues ("a number, an
operator, a number"; "a number and a unit") are written for digits, so without this a spoken sum or
a bare quantity reaches no tool. Only whole runs of number words are replaced; a lone "one" that is
not a quantity ("which one", "no one") stays a word.
"""

from __future__ import annotations

import re
from functools import cache

from persona.spoken import number_words

_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
# "one", "a", "an" alone stay words ("which one", "a cup"); next to a number word they count
_WEAK = frozenset({"one", "a", "an"})


@cache
def _units() -> dict[str, int]:
    words = number_words(99)
    out = {w: i for i, w in enumerate(words) if "-" not in w}
    out.update({w.replace("-", " "): i for i, w in enumerate(words) if "-" in w})
    return out


@cache
def _run() -> re.Pattern[str]:
    """A run of number words: "twenty six", "twenty-six", "a hundred and ten", "two point five"."""
    names = sorted({w for w in _units() if " " not in w} | set(_SCALES) | {"a", "an"}, key=len, reverse=True)
    word = r"(?:" + "|".join(names) + r")"
    return re.compile(
        rf"\b{word}(?:(?:[\s-]+|\s+and\s+){word})*(?:\s+point(?:\s+(?:zero|one|two|three|four|five|six|"
        rf"seven|eight|nine))+)?\b",
        re.IGNORECASE,
    )


def _value(words: list[str]) -> int | None:
    units = _units()
    total, current, seen = 0, 0, False
    for w in words:
        if w in ("a", "an"):
            current = max(current, 1)
            continue
        if w == "and":
            continue
        if w in _SCALES:
            total += max(current, 1) * _SCALES[w]
            current, seen = 0, True
        elif w in units:
            if current % 100 and units[w] < 10 and current % 10 == 0 and current >= 20:
                current += units[w]  # "twenty six"
            elif current and units[w] >= 10 and current % 100 == 0:
                current += units[w]  # "a hundred ten"
            elif current:
                return None  # "one two": not one number
            else:
                current = units[w]
            seen = True
    return total + current if seen else None


_DIGITS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6"}
_DIGITS.update({"seven": "7", "eight": "8", "nine": "9"})


def _replace(m: re.Match[str]) -> str:
    text = m.group(0)
    whole, _, frac = text.lower().partition(" point ")
    words = [w for w in re.split(r"[\s-]+", whole) if w]
    lead = ""
    if words and words[0] in ("a", "an") and words[1:2] and words[1] not in _SCALES:
        lead, words = text[: len(words[0]) + 1], words[1:]  # "a twenty minute walk": keep the "a"
    if all(w in _WEAK or w == "and" for w in words) and not frac:
        return text  # "a", "one" alone: not a quantity by itself
    value = _value(words)
    if value is None:
        return text
    out = str(value)
    if frac:
        out += "." + "".join(_DIGITS[w] for w in frac.split())
    return lead + out


def with_digits(text: str) -> str:
    """`text` with its runs of number words written as digits."""
    return _run().sub(_replace, text)
