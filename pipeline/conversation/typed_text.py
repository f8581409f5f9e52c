"""Typed words as speech recognition would have written them: contractions typed without their
apostrophe ("whats the date", "im out of milk") get it back, so a typed turn reaches the same readers
and cues as a spoken one (Whisper always writes "what's"; the tools' cues and readers expect it).

Only words that are not English words without the apostrophe are restored: "its", "well", "were",
"wed", "id", "ill", "hell", "shell", "wont" and "lets" stay as typed.
"""

from __future__ import annotations

import re

_CONTRACTIONS = """what's who's where's when's how's why's that's there's here's it'll don't doesn't didn't
can't couldn't shouldn't wouldn't isn't aren't wasn't weren't haven't hasn't hadn't mustn't needn't
i'm i've you're you've you'd you'll they're they've they'd they'll we've she's he's"""
_RESTORED = {w.replace("'", ""): w for w in _CONTRACTIONS.split()}
_WORD = re.compile(r"\b(" + "|".join(sorted(_RESTORED, key=len, reverse=True)) + r")\b", re.I)


def restore_apostrophes(text: str) -> str:
    """`text` with apostrophe-less contractions restored, keeping the typed case of each letter
    ("Whats" -> "What's", "IM" -> "I'M")."""

    def put_back(m: re.Match[str]) -> str:
        typed = m.group(0)
        word = _RESTORED[typed.lower()]
        cut = word.index("'")
        return typed[:cut] + "'" + typed[cut:]

    return _WORD.sub(put_back, text)
