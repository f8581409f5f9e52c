"""Pseudonyms for what leaves the device: names of people and places Twin knows from memory (and the
speaker's own name) become placeholders (PERSON_1, PLACE_1) in a remote request, and the remote
reply gets them back, piece by piece as it streams, before anything is spoken.

Names are taken from memory items: capitalised words that are not a sentence's ordinary first word.
A word after "in", "to", "from", "at", "near" or in a place slot ("lives_in") is a place; the rest
are people. A placeholder the remote model invents (PERSON_9, never given) is said as "someone".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_PLACE_BEFORE = {"in", "to", "from", "at", "near", "around", "visiting", "visit", "into"}
_PLACE_KEYS = ("lives_in", "address", "going_to", "from", "city", "home")
# Capitalised words that are no one's name: sentence starters, pronouns, days and months.
_COMMON_WORDS = """
i i'm i've i'll i'd my me we our you your he she they it his her their the a an this that these those
there here what when where who why how which yes no please remember note today tomorrow yesterday monday
tuesday wednesday thursday friday saturday sunday january february march april may june july august
september october november december mr mrs ms dr and but or so if on in at to from for with by of is are
was were be been has have had do does did not never always every ok okay
"""
_COMMON = frozenset(_COMMON_WORDS.split())
_WORD = re.compile(r"\b[A-Z][\w'-]*[A-Za-z]\b|\b[A-Z]\b")
_TOKEN = re.compile(r"\b(PERSON|PLACE)_(\d+)\b", re.IGNORECASE)
# A stream's tail that may still become a placeholder: held back until the next piece decides.
_PARTIAL = re.compile(
    r"(?:P(?:E(?:R(?:S(?:O(?:N(?:_\d*)?)?)?)?)?|L(?:A(?:C(?:E(?:_\d*)?)?)?)?)?)$", re.IGNORECASE
)


def names_in(text: str, key: str = "") -> list[tuple[str, str]]:
    """(name, "PERSON" | "PLACE") for each capitalised word of `text` that reads as a name."""
    found: list[tuple[str, str]] = []
    for m in _WORD.finditer(text):
        word = m.group(0)
        bare = word.removesuffix("'s")
        if bare.lower() in _COMMON or len(bare) < 2:
            continue
        before = text[: m.start()].split()
        prev = before[-1].lower().strip(",;:") if before else ""
        place = prev in _PLACE_BEFORE or any(k in key for k in _PLACE_KEYS)
        found.append((bare, "PLACE" if place else "PERSON"))
    return found


class Pseudonyms:
    """One turn's mapping: name -> placeholder on the way out, placeholder -> name on the way back."""

    def __init__(self, names: Iterable[tuple[str, str]] = ()) -> None:
        self.forward: dict[str, str] = {}
        self.back: dict[str, str] = {}
        counts = {"PERSON": 0, "PLACE": 0}
        for name, kind in names:
            if name in self.forward or name.upper().startswith(("PERSON_", "PLACE_")):
                continue
            counts[kind] += 1
            token = f"{kind}_{counts[kind]}"
            self.forward[name] = token
            self.back[token] = name
        # longest first, so "Anna Maria" is replaced before "Anna"
        alts = sorted(self.forward, key=len, reverse=True)
        self._pattern = re.compile(r"\b(" + "|".join(map(re.escape, alts)) + r")\b") if alts else None

    def __len__(self) -> int:
        return len(self.forward)

    def hide(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self.forward[m.group(1)], text)

    def hide_messages(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        return [m | {"content": self.hide(m["content"])} for m in messages]

    def restore(self, text: str) -> str:
        def back(m: re.Match[str]) -> str:
            token = f"{m.group(1).upper()}_{m.group(2)}"
            return self.back.get(token, "someone" if token.startswith("PERSON") else "somewhere")

        return _TOKEN.sub(back, text)

    def restorer(self) -> StreamRestorer:
        return StreamRestorer(self)


class StreamRestorer:
    """Restores placeholders in a stream whose pieces may split one ("PER" + "SON_1")."""

    def __init__(self, pseudonyms: Pseudonyms) -> None:
        self.p = pseudonyms
        self.held = ""

    def feed(self, piece: str) -> str:
        text = self.held + piece
        m = _PARTIAL.search(text)
        # a held tail must start a word: "STOP" ends in "P" but is no placeholder's start
        cut = (
            m.start() if m and m.group(0) and (m.start() == 0 or not text[m.start() - 1].isalnum()) else None
        )
        if cut is None:
            self.held = ""
            return self.p.restore(text)
        self.held = text[cut:]
        return self.p.restore(text[:cut])

    def flush(self) -> str:
        text, self.held = self.held, ""
        return self.p.restore(text)
