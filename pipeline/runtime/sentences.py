"""Cut a streaming reply into speakable pieces as early as is natural.

The first piece may end at a clause break (comma, colon, semicolon, dash) or just before a word
where a speaker would breathe ("because", "which", ...) once it has a few words, so the first audio
starts sooner; later pieces end at sentence ends. A composed reply (a tool's result, known whole)
may also end its first piece before an aside in brackets ("Timer set for 5 minutes (rings at
21:44)."): its synthesis takes time in proportion to its length (~40 ms a second of speech here).
"""

from __future__ import annotations

import re

_ABBREV = {"mr", "mrs", "ms", "dr", "st", "vs", "etc", "e.g", "i.e", "approx", "no", "jr", "sr", "prof"}
_SENTENCE_END = re.compile(r"([.!?…]+[\"')\]]*)(\s+)")
_CLAUSE_END = re.compile(r"([,;:]|\s[-–—])(\s+)")
# Words before which a speaker naturally takes a breath: the first piece may end just before one.
_BREATH = re.compile(
    r"\s(?=(?:because|and|but|which|that|so|when|while|if|or|since|although|though|unless|until|"
    r"where|who|after|before|as)\s)",
    re.IGNORECASE,
)


_ASIDE = re.compile(r"\s(?=\()")


class SentenceSplitter:
    def __init__(self, first_clause_words: int = 3, max_words: int = 28, composed: bool = False) -> None:
        self.first_clause_words = first_clause_words
        self.max_words = max_words
        self.composed = composed  # the whole text is known: an aside may end the first piece too
        self._buf = ""
        self._emitted = 0

    def feed(self, text: str) -> list[str]:
        self._buf += text
        out: list[str] = []
        while True:
            piece = self._take()
            if piece is None:
                break
            out.append(piece)
        return out

    def flush(self) -> list[str]:
        rest = self._buf.strip()
        self._buf = ""
        if rest:
            self._emitted += 1
            return [rest]
        return []

    def _take(self) -> str | None:
        buf = self._buf
        if self.composed and self._emitted == 0:
            end = _SENTENCE_END.search(buf)
            for m in _ASIDE.finditer(buf):
                early = end is None or m.start() < end.start()
                if early and len(buf[: m.start()].split()) >= self.first_clause_words:
                    return self._cut(m.start())
        for m in _SENTENCE_END.finditer(buf):
            head = buf[: m.end(1)]
            if _is_abbreviation(head):
                continue
            return self._cut(m.end())
        words = len(buf.split())
        if (self._emitted == 0 and words >= self.first_clause_words) or words >= self.max_words:
            for m in _CLAUSE_END.finditer(buf):
                if len(buf[: m.start()].split()) >= self.first_clause_words:
                    return self._cut(m.end())
        if self._emitted == 0 and words > self.first_clause_words:
            for m in _BREATH.finditer(buf):
                if len(buf[: m.start()].split()) >= self.first_clause_words:
                    return self._cut(m.start())
        if "\n" in buf.strip():
            idx = buf.index("\n", len(buf) - len(buf.lstrip()))
            return self._cut(idx + 1)
        return None

    def _cut(self, end: int) -> str | None:
        piece, self._buf = self._buf[:end].strip(), self._buf[end:]
        if not piece:
            return None
        self._emitted += 1
        return piece


def _is_abbreviation(head: str) -> bool:
    word = head.rstrip(".!?…\"')]").split()[-1:] if head.strip() else []
    return bool(word) and word[0].lower().strip("(") in _ABBREV and head.rstrip().endswith(".")
