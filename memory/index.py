"""The in-process retrieval index over one speaker's memories: dense vectors and BM25, both
answered with numpy in a few milliseconds at 100k items.

Qdrant (memory/store.py) is the durable store and the source of truth; this index is rebuilt from
it on open. Qdrant's local mode scans filtered queries in Python (~100 ms at 10k), so speaker
scoping and time windows are done here, per speaker partition, instead.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict

import numpy as np

from .items import MemoryItem

_WORD = re.compile(r"[a-z0-9]+|[\u4e00-\u9fff]", re.IGNORECASE)
_STOP_WORDS = (
    "a an the and or but of to in on at for with is are was were be been am i me my mine you your it its "
    "this that what which who whom do does did have has had about from by as so not no yes please"
)
_STOP = frozenset(_STOP_WORDS.split(" "))


def terms(text: str) -> list[str]:
    """Lower-cased words; Chinese as single characters plus bigrams (no word segmenter needed)."""
    raw = [t.lower() for t in _WORD.findall(text)]
    out = [_stem(t) for t in raw if t not in _STOP and (len(t) > 1 or "\u4e00" <= t <= "\u9fff")]
    han = [t for t in raw if "\u4e00" <= t <= "\u9fff"]
    out += [a + b for a, b in zip(han, han[1:], strict=False)]
    return out


def _stem(word: str) -> str:
    """A light suffix strip, enough for "lives"/"live" or "walked"/"walk" to meet."""
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


class Partition:
    """One speaker's items. Rows are append-only; deletes clear the `alive` flag."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.ids: list[str] = []
        self.row_of: dict[str, int] = {}
        self.vecs = np.zeros((0, dim), np.float32)
        self.alive = np.zeros(0, bool)
        self.current = np.zeros(0, bool)
        self.time = np.zeros(0, np.float64)  # valid_from
        self.importance = np.zeros(0, np.float32)
        self.last_used = np.zeros(0, np.float64)
        self.doc_len = np.zeros(0, np.float32)
        self.postings: dict[str, list[int]] = defaultdict(list)
        self._posting_arrays: dict[str, np.ndarray] = {}
        self.n = 0

    def _grow(self, need: int) -> None:
        cap = len(self.alive)
        if need <= cap:
            return
        new = max(need, int(cap * 1.5) + 64)

        def grow(a: np.ndarray) -> np.ndarray:
            out = np.zeros((new, *a.shape[1:]), a.dtype)
            out[:cap] = a
            return out

        self.vecs = grow(self.vecs)
        for name in ("alive", "current", "time", "importance", "last_used", "doc_len"):
            setattr(self, name, grow(getattr(self, name)))

    def add(self, item: MemoryItem, vec: np.ndarray) -> None:
        if item.id in self.row_of:
            self.remove(item.id)
        self._grow(self.n + 1)
        row = self.n
        self.n += 1
        self.ids.append(item.id)
        self.row_of[item.id] = row
        self.vecs[row] = vec
        self.alive[row] = True
        self.update(item)
        words = terms(item.text)
        self.doc_len[row] = len(words)
        for w in words:
            self.postings[w].append(row)
            self._posting_arrays.pop(w, None)

    def update(self, item: MemoryItem) -> None:
        row = self.row_of[item.id]
        self.current[row] = item.current
        self.time[row] = item.valid_from
        self.importance[row] = item.importance
        self.last_used[row] = item.last_used or item.created

    def remove(self, item_id: str) -> None:
        row = self.row_of.pop(item_id, None)
        if row is not None:
            self.alive[row] = False

    def __len__(self) -> int:
        return len(self.row_of)

    def mask(self, include_history: bool, window: tuple[float, float] | None) -> np.ndarray:
        m = self.alive[: self.n].copy()
        if not include_history:
            m &= self.current[: self.n]
        if window is not None:
            t = self.time[: self.n]
            m &= (t >= window[0]) & (t < window[1])
        return m

    def dense(self, q: np.ndarray, mask: np.ndarray, k: int) -> list[tuple[int, float]]:
        scores = self.vecs[: self.n] @ q
        return _top(np.where(mask, scores, -np.inf), k)

    def bm25(
        self, query: str, mask: np.ndarray, k: int, k1: float = 1.2, b: float = 0.75
    ) -> list[tuple[int, float]]:
        words = set(terms(query))
        if not words or not self.n:
            return []
        live = max(1, int(self.alive[: self.n].sum()))
        avg = float(self.doc_len[: self.n][self.alive[: self.n]].mean()) if live else 1.0
        scores = np.zeros(self.n, np.float32)
        for w in words:
            rows = self._rows(w)
            if rows is None:
                continue
            uniq, tf = np.unique(rows, return_counts=True)
            df = int(self.alive[uniq].sum())
            if not df:
                continue
            idf = math.log(1 + (live - df + 0.5) / (df + 0.5))
            dl = self.doc_len[uniq]
            scores[uniq] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / max(avg, 1e-6)))
        scores = np.where(mask & (scores > 0), scores, -np.inf)
        return _top(scores, k)

    def _rows(self, word: str) -> np.ndarray | None:
        if word not in self.postings:
            return None
        arr = self._posting_arrays.get(word)
        if arr is None:
            arr = self._posting_arrays[word] = np.asarray(self.postings[word], np.int64)
        return arr


def _top(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    finite = np.isfinite(scores)
    n = int(finite.sum())
    if n == 0:
        return []
    k = min(k, n)
    idx = np.argpartition(-scores, k - 1)[:k]
    idx = idx[np.argsort(-scores[idx])]
    return [(int(i), float(scores[i])) for i in idx if np.isfinite(scores[i])]
