"""The spoken-name wake heard again: Whisper tiny.en often writes the name "Twin" said by a voice
it does not know as another word or drops it ("When, what is the date today?", "win what time is
it?", "What is the date today?"), and the utterance was then dropped as not addressed to Twin.

When the words do not begin with the name, the readings that would (the first one or two words
replaced by the name when they are spelled like it, or the name put before them) are read against
the same audio with the words as heard (`WhisperAsr.phrase_log_probs`, one encoder pass and one
teacher-forced alignment pass, ~0.1 s). The best is taken when the ASR finds it nearly as likely as
what it wrote: its tokens' summed log-probability at most `MARGIN` nats under the heard words' (a
sum, not a mean: a name put before a long sentence that does not hold it costs its own tokens, not
a share of the sentence's). `MARGIN` was chosen on the DEV voices of `python -m bench.name_wake`,
which reports a TEST set and real recordings apart.

Only the spoken-name wake asks; nothing of an utterance that is still not addressed is kept.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pipeline.acting.respelling import SIMILAR  # one "spelled like it" for a tool's word and the name
from pipeline.runtime.hands_free import words_of

MAX_S = 8.0  # longer audio is read as it was heard
MARGIN = 1.0  # nats (summed over the tokens) under the heard words, at most


@dataclass(frozen=True)
class NameHeard:
    text: str  # the reading taken, beginning with the name
    heard: str  # what the ASR first wrote
    below: float  # its summed log-probability under the heard words' (negative: less likely)


def _letters(words: list[str]) -> str:
    return "".join(ch for w in words for ch in w.casefold() if ch.isalnum())


def readings(text: str, name: str) -> list[str]:
    """The readings of `text` that begin with `name`, with a comma after it and without: its first
    one or two words replaced by the name where they are spelled like it ("When," "to win"), and the
    name put before it all. None where the words already begin with the name or with a longer word
    that holds it ("Twins", "Twinkle")."""
    said = text.strip()
    words = said.split()
    key = _letters(name.split())
    if not words or not key:
        return []
    first = _letters(words[:1])
    if first.startswith(key) or words_of(said).startswith(words_of(name)):
        return []
    rests: list[str] = []
    for k in (1, 2):
        if len(words) <= k:
            break
        if difflib.SequenceMatcher(None, _letters(words[:k]), key).ratio() >= SIMILAR:
            rests.append(" ".join(words[k:]).lstrip(" ,.!?;:-"))
    # the name put before it all (a name Whisper dropped): "What is ..." -> "Twin, what is ..."
    rests.append(said if re.match(r"^I\b", said) else said[:1].lower() + said[1:])
    # with the comma Whisper writes after a name and without it, as it wrote "When what is ...": a
    # comma token the heard words lack would count against the name
    found = [f"{name}{mark} {rest}" for rest in rests for mark in (",", "")]
    return list(dict.fromkeys(found))


class NameHearing:
    """`read`: the ASR's `phrase_log_probs` (samples, phrases, total) -> scores."""

    def __init__(self, read: Callable[..., list[float]], name: str, margin: float = MARGIN) -> None:
        self.read = read
        self.name = name
        self.margin = margin

    def scores(self, samples: np.ndarray, text: str) -> tuple[float, list[tuple[float, str]]]:
        """The heard words' summed log-probability and each reading's, best first ([] when none)."""
        found = readings(text, self.name) if len(samples) <= MAX_S * 16_000 else []
        if not found:
            return 0.0, []
        scores = self.read(samples, [text, *found], total=True)
        return scores[0], sorted(zip(scores[1:], found, strict=True), key=lambda s: -s[0])

    def heard(self, samples: np.ndarray, text: str) -> NameHeard | None:
        """The reading that begins with the name, when the audio supports it nearly as well as the
        words first written; else None (not addressed). Blocking: run on the ASR's worker."""
        heard, ranked = self.scores(samples, text)
        if not ranked or ranked[0][0] < heard - self.margin:
            return None
        best, reading = ranked[0]
        return NameHeard(reading, text, round(best - heard, 3))
