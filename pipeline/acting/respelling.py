"""Other spellings of a request the words do not settle, one word apart, that a tool's reader would
take: "Resin the timer." -> "Resume the timer.", "Gancel all the timers." -> "Cancel all the timers.".

Whisper tiny.en mishears a command's one key word now and then, and then the words settle no call:
the request went to the planner's model (2-5 s on this CPU), which cannot know the word either. The
respellings are only candidates: the audio decides (pipeline/runtime/rehearing.py), and only a
respelling the ASR finds nearly as likely as what it first wrote is taken.

The words tried are the tools' own (`command_words`: the words of each local tool's cue, topic,
verbs and example), of the families the heard words are about (pipeline/runtime/rehearing.py), each
only in place of a heard word spelled like it (`SIMILAR`).
"""

from __future__ import annotations

import difflib
import re
from functools import cache

from pipeline.acting.routing import routed_tools
from pipeline.tools.base import ToolRegistry

SIMILAR = 0.5  # difflib's ratio between the heard word and a tool's word, at least
MAX_RESPELLINGS = 48  # the closest first; more are not tried
# a word as written, a hyphenated one whole: Whisper writes a word it did not know in pieces
# ("Re-zoom the timer." for "Resume the timer."), and they are one word spoken
_WORD = re.compile(r"[a-z]+(?:['-][a-z]+)*", re.IGNORECASE)


@cache
def _words_of(source: str) -> frozenset[str]:
    """The words of a pattern's source or a request: a pattern's escapes are no letters ("\\btimer"
    is "timer", not "btimer")."""
    return frozenset(re.findall(r"[a-z]{3,}", re.sub(r"\\[a-zA-Z]", " ", source).lower()))


def command_words(registry: ToolRegistry, topics: set[str] | None = None) -> frozenset[str]:
    """The words Twin's own tools are asked with: those of each routed tool's cue, topic and verbs
    patterns and of its example request (three letters or more); with `topics`, only the tools of
    those families (a tool's `topic` pattern names its family)."""
    words: set[str] = set()
    for tool in routed_tools(registry).values():
        if tool.source != "local" or (topics is not None and tool.topic not in topics):
            continue
        words |= _words_of(" ".join((tool.cue, tool.topic, tool.verbs)))
        if tool.example is not None:
            words |= _words_of(tool.example[0])
    return frozenset(words)


def respellings(text: str, words: frozenset[str], limit: int = MAX_RESPELLINGS) -> list[str]:
    """`text` with one word replaced by a tool's word spelled like it, the closest replacements
    first; the rest of the text as written (its case and punctuation: the ASR scores them too)."""
    found: list[tuple[float, str]] = []
    for m in _WORD.finditer(text):
        heard = m.group().lower().replace("-", "")
        match = difflib.SequenceMatcher(b=heard)
        for word in sorted(words):
            if word.rstrip("s") == heard.rstrip("s"):
                continue  # "timer" / "timers": never a word misheard, and Whisper takes either
            match.set_seq1(word)
            if match.real_quick_ratio() < SIMILAR or match.quick_ratio() < SIMILAR:
                continue
            ratio = match.ratio()
            if ratio >= SIMILAR:
                said = word.capitalize() if m.group()[:1].isupper() else word
                found.append((ratio, text[: m.start()] + said + text[m.end() :]))
    found.sort(key=lambda f: -f[0])
    return list(dict.fromkeys(t for _, t in found))[:limit]
