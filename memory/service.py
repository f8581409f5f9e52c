"""Memory: the one object the rest of Twin uses. Writes go to Qdrant first (durable), then to the
in-process index; recall reads the index only, under a hard time budget."""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from . import commands, confirm, consolidation, forgetting, portable
from .embedding import Embedder, UseEmbedder
from .forgetting import ForgetPlan, Receipt
from .index import Partition, rank
from .items import Kind, MemoryInputError, MemoryItem, as_line, check_time, validate_text
from .keys import key_text
from .policy import extract, parse_command, redact_secrets
from .relevance import about
from .speakers import HOUSEHOLD, speaker_scope
from .store import MemoryDiskFullError, MemoryStoreError, QdrantStore
from .timeparse import as_of_window, asks_history, time_windows, without_as_of

DUPLICATE_COSINE = 0.93


class MemoryImportStopped(MemoryStoreError):
    """An import that stopped partway: says how many items did get in, so the user knows where
    it stands ("imported 167 of 200; the disk is full"). Running the same import again is safe:
    the items already in are reported as conflicts, the rest are added."""

    def __init__(self, done: int, total: int, cause: MemoryStoreError) -> None:
        self.code = cause.code
        why = "the disk is full" if isinstance(cause, MemoryDiskFullError) else cause.message
        super().__init__(
            f"imported {done} of {total}; {why}", f"{cause.hint}; then run the same import again"
        )
        self.done = done
        self.total = total
        self.errors: list[tuple[int, str]] = []


@dataclass(frozen=True)
class Hit:
    item: MemoryItem
    score: float


_OPEN: dict[str, tuple[Memory, int]] = {}
_OPEN_LOCK = threading.Lock()


class Memory:
    @classmethod
    def open(cls, path: Path | None, url: str | None = None) -> Memory:
        """One Memory per store per process (the embedded store admits one client): sessions in
        the same process share it; each open() needs a close()."""
        key = url or str(Path(path or ".").resolve())
        with _OPEN_LOCK:
            if key in _OPEN:
                mem, refs = _OPEN[key]
                _OPEN[key] = (mem, refs + 1)
                return mem
            mem = cls(path, url)
            mem._key = key
            _OPEN[key] = (mem, 1)
            return mem

    def __init__(self, path: Path | None, url: str | None = None, embedder: Embedder | None = None) -> None:
        self._key: str | None = None
        path = Path(path) if path is not None else None
        # deletion receipts live beside the store, in DATA_DIR/receipts (the store is DATA_DIR/memory)
        self.receipts: Path | None = path.parent / "receipts" if path is not None else None
        self.embedder = embedder or UseEmbedder()
        self.store = QdrantStore(self.embedder.dim, path, url)
        self.items: dict[str, MemoryItem] = {}
        self.parts: dict[str, Partition] = {}
        self._lock = threading.RLock()
        self._last_written: dict[str, str] = {}  # speaker -> id, for "forget that"
        self._next: dict[str, str] = {}  # a turn's id -> the turn whose key holds its words
        self._closed = False
        self._background = ThreadPoolExecutor(1, thread_name_prefix="twin-memory-use")
        atexit.register(self._close_store)  # an error exit still closes the store cleanly
        for item, vec in self.store.scan():
            self._index(item, vec)

    # -- writing ---------------------------------------------------------------------------------
    def remember(
        self,
        text: str,
        speaker: str = "owner",
        kind: Kind | str = Kind.FACT,
        key: str = "",
        importance: float = 0.5,
        source: str = "",
        at: float | None = None,
        item_id: str | None = None,
        device: str = "",
    ) -> MemoryItem:
        text = validate_text(text)
        text, _ = redact_secrets(text)
        speaker = speaker_scope(speaker)
        kind = Kind(kind)
        vec = self.embedder.embed([text])[0]
        with self._lock:
            when = check_time(at, "at") if at is not None else time.time()  # no NaN/1e300 stored
            dup = self._duplicate(text, vec, speaker, kind, key, when)
            if dup is not None:
                dup.use_count += 1
                dup.importance = min(1.0, dup.importance + 0.1)
                dup.last_used = time.time()
                self.store.set_payload(dup)
                self.parts[speaker].update(dup)
                return dup
            item = MemoryItem(
                text=text,
                kind=kind,
                speaker=speaker,
                key=key,
                importance=importance,
                source=source,
                created=when,
                valid_from=when,
                device=device,
            )
            if item_id:
                item.id = item_id
            old = self._current_for_key(speaker, key) if key else None
            self.store.upsert([item], vec[None, :])
            self._index(item, vec)
            if old is not None:  # a changed fact: the old value stays as history
                old.valid_to = when
                old.superseded_by = item.id
                self.store.set_payload(old)
                self.parts[speaker].update(old)
            self._last_written[speaker] = item.id
            return item

    def add_many(self, items: list[MemoryItem], batch_size: int = 256) -> int:
        """Bulk import: items as given (ids kept), embedded and written in batches. A write that
        fails raises MemoryImportStopped saying how many were written before it."""
        done = 0
        given = {it.id: it for it in items}
        for start in range(0, len(items), batch_size):
            batch = items[start : start + batch_size]
            vecs = self.embedder.embed([key_text(it, self._before(it, given)) for it in batch])
            with self._lock:
                try:
                    self.store.upsert(batch, vecs)
                except MemoryStoreError as exc:
                    raise MemoryImportStopped(done, len(items), exc) from None
                for it, vec in zip(batch, vecs, strict=True):
                    self._index(it, vec)
            done += len(batch)
        return done

    def observe(self, user_text: str, reply: str, speaker: str | None, source: str = "") -> list[MemoryItem]:
        """After a turn, off the voice path: write what the policy says is worth keeping."""
        if parse_command(user_text) is not None:
            return []
        who = speaker or "owner"
        return [self.remember(c.text, who, c.kind, c.key, c.importance, source) for c in extract(user_text)]

    # -- forgetting ------------------------------------------------------------------------------
    def forget(self, item_ids: list[str]) -> int:
        """Deletes for real: vectors and payload in the store, and the index rows. Housekeeping's
        own step (consolidation); a deletion a person asks for goes plan_forget -> their yes ->
        carry_out, which calls this and leaves a receipt."""
        with self._lock:
            known = [i for i in item_ids if i in self.items]
            self.store.delete(known)
            for i in known:
                item = self.items.pop(i)
                self.parts[item.speaker].remove(i)
            self._unlink(set(known))
            return len(known)

    def _unlink(self, gone: set[str]) -> None:
        """The turns whose key held a forgotten turn's words (memory/keys.py) are embedded again
        from their own words, so nothing of what was forgotten stays in a vector."""
        later = [self.items.get(self._next.pop(i, "")) for i in gone]
        after = [replace(it, follows="") for it in later if it is not None and it.follows in gone]
        if not after:
            return
        vecs = self.embedder.embed([key_text(it, None) for it in after])
        self.store.upsert(after, vecs)  # stored first: the index never runs ahead of the store
        for it, vec in zip(after, vecs, strict=True):
            self.items[it.id] = it
            self.parts[it.speaker].add(it, vec)

    def _before(self, item: MemoryItem, given: dict[str, MemoryItem]) -> MemoryItem | None:
        """The turn whose words are part of `item`'s key: the one it follows, in the same scope."""
        if not item.follows:
            return None
        before = given.get(item.follows) or self.items.get(item.follows)
        return before if before is not None and before.speaker == item.speaker else None

    def plan_forget(
        self,
        speaker: str,
        *,
        about: str | None = None,
        everything: bool = False,
        ids: list[str] | None = None,
        last: bool = False,
        lang: str = "en",
    ) -> ForgetPlan:
        """What a forget request would delete, deleting nothing (memory/forgetting.py `plan`). Every
        deletion a person asks for goes plan -> their yes -> `carry_out`."""
        return forgetting.plan(self, speaker, about, everything, ids, last, lang)

    def plan_command(self, text: str, speaker: str | None) -> ForgetPlan | None:
        """The plan for a spoken forget command ("forget everything about my old job"), or None when
        the words are not one. Nothing is deleted here."""
        return commands.plan(self, text, speaker)

    def carry_out(self, plan: ForgetPlan, who: str, at: float | None = None) -> Receipt:
        """Delete what `plan` showed, then write the receipt (memory/forgetting.py `carry_out`)."""
        return forgetting.carry_out(self, plan, who, at)

    # -- recall ----------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        speaker: str | None,
        k: int = 5,
        include_history: bool = False,
        now: float | None = None,
        mode: str = "hybrid",
        own_only: bool = False,
        time_aware: bool = True,
        query_vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """Dense + BM25 fused into one score (memory/index.py `rank`), with importance and recency
        as small priors. A speaker sees their own items and the household's, never another's."""
        query = validate_text(query)
        q = self.embedder.embed([query])[0] if query_vector is None else query_vector
        now = now or time.time()
        today = datetime.fromtimestamp(now).astimezone()
        windows = time_windows(query, today) if time_aware else []
        # "where did I live in 2023?": the facts that held then, superseded since or not (a day's
        # window, "on 3 March 2023", is the narrower question and wins)
        as_of = as_of_window(query, today) if time_aware and not windows else None
        if as_of is not None:
            windows = [as_of]
        # "where did I live before?": superseded values are searched too, the best of them first
        past_first = time_aware and asks_history(query)
        include_history = include_history or past_first
        scopes = [speaker_scope(speaker or "owner")] + ([] if own_only else [HOUSEHOLD])
        with self._lock:
            scoped = []
            for name in dict.fromkeys(scopes):
                part = self.parts.get(name)
                if part is None or not len(part):
                    continue
                # the first window that holds something ("on 3 November": this year's, else an
                # earlier year's), else no time filter at all
                masks = (part.mask(include_history, w, as_of is not None) for w in windows)
                mask = next((m for m in masks if m.any()), None)
                if mask is None:
                    mask = part.mask(include_history, None)
                scoped.append((part, mask))
            ranked = rank(scoped, q, query, k, mode, now)
            if past_first:
                past = rank([(p, m & ~p.current[: p.n]) for p, m in scoped], q, query, 1, mode, now)
                if past:
                    ranked = past + [r for r in ranked if r[0] != past[0][0]][: k - 1]
            return [Hit(self.items[i], s) for i, s in ranked if i in self.items]

    def warm(self) -> None:
        """Load the sentence encoder now (its first use takes ~0.7 s here), not in a turn's recall."""
        self.embedder.embed(["warm up"])

    def recall(self, query: str, speaker: str | None, budget_s: float = 0.05) -> list[str]:
        """The engine's seam: a few memory lines for the prompt, only ones that are about the
        question (close in meaning, or sharing a word with it). The caller enforces the budget
        (it runs this on a worker thread and stops waiting); use is recorded after the fact."""
        try:
            query = validate_text(query)
        except MemoryInputError:
            return []
        q = self.embedder.embed([query])[0]  # once: for ranking and for the relevance floor
        hits = self.search(query, speaker, k=4, query_vector=q)
        # an as-of question's year is the window's part: the relevance check reads the rest
        plain = without_as_of(query) if as_of_window(query) is not None else query
        q_about = q if plain == query or not plain else self.embedder.embed([plain])[0]
        relevant = about(plain or query, q_about, [(h.item, self._vector(h.item)) for h in hits])
        if relevant and not self._closed:
            with contextlib.suppress(RuntimeError):  # closing: the use count is not worth a write
                self._background.submit(self._mark_used, relevant)
        return [as_line(it) for it in relevant]

    def _mark_used(self, items: list[MemoryItem]) -> None:
        """Use reinforces: recency for ranking and fading. Off the recall path, outside the lock."""
        now = time.time()
        with self._lock:
            live = [it for it in items if it.id in self.items]
            for it in live:
                it.use_count += 1
                it.last_used = now
                self.parts[it.speaker].update(it)
        for it in live:
            with contextlib.suppress(MemoryStoreError, OSError):  # a use count is not worth failing for
                self.store.set_payload(it)

    # -- consolidation ---------------------------------------------------------------------------
    def consolidate(
        self, now: float | None = None, episode_days: float = 30.0, fade_days: float = 90.0
    ) -> dict[str, int]:
        """Old episodes become weekly summaries, unused trivia fades (memory/consolidation.py)."""
        return consolidation.consolidate(self, now, episode_days, fade_days)

    # -- spoken controls -------------------------------------------------------------------------
    def write_request(self, text: str, speaker: str | None, source: str = "") -> str | None:
        """'Remember that my sister Anna lives in Lisbon': written now, and the reply says what was
        kept ("I'll remember that your sister Anna lives in Lisbon."), or why nothing was. None when
        the words are no request to remember (memory/confirm.py)."""
        return confirm.remember(self, text, speaker, source)

    def handle_command(self, text: str, speaker: str | None) -> str | None:
        """'What do you remember about me?', 'forget that', 'forget everything about my old job'.
        Returns the reply to speak, or None when the words are not a memory command."""
        return commands.answer(self, text, speaker)

    # -- user control ----------------------------------------------------------------------------
    def list(self, speaker: str | None = None, include_history: bool = False) -> list[MemoryItem]:
        items = [
            it
            for it in self.items.values()
            if (speaker is None or it.speaker == speaker_scope(speaker)) and (include_history or it.current)
        ]
        return sorted(items, key=lambda it: it.created)

    def export(self, path: Path) -> int:
        """Portable JSON: every item with its full history; written atomically (memory/portable.py)."""
        return portable.write_export(Path(path), self.list(include_history=True), self.embedder.name)

    def import_file(self, path: Path, batch_size: int = 64) -> tuple[int, list[tuple[int, str]]]:
        """An export or JSONL lines; conflicts and bad lines reported, nothing stored is touched
        (memory/portable.py `import_into`)."""
        return portable.import_into(self, Path(path), batch_size)

    def stats(self) -> dict[str, Any]:
        items = list(self.items.values())
        return {
            "items": len(items),
            "current": sum(it.current for it in items),
            "by_speaker": dict(Counter(it.speaker for it in items)),
            "by_kind": dict(Counter(it.kind.value for it in items)),
            "stored": self.store.count(),
            "embedder": self.embedder.name,
        }

    def close(self) -> None:
        with _OPEN_LOCK:
            if self._key is not None and self._key in _OPEN:
                mem, refs = _OPEN[self._key]
                if refs > 1:
                    _OPEN[self._key] = (mem, refs - 1)
                    return
                del _OPEN[self._key]
        self._close_store()

    def _close_store(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._background.shutdown(wait=True)  # pending use marks land before the store closes
        self.store.close()

    # -- internals -------------------------------------------------------------------------------
    def _index(self, item: MemoryItem, vec: np.ndarray) -> None:
        part = self.parts.get(item.speaker)
        if part is None:
            part = self.parts[item.speaker] = Partition(self.embedder.dim)
        self.items[item.id] = item
        part.add(item, vec)
        if item.follows:
            self._next[item.follows] = item.id

    def _vector(self, item: MemoryItem) -> np.ndarray | None:
        part = self.parts[item.speaker]
        row = part.row_of.get(item.id)
        return None if row is None else part.vecs[row]

    def _duplicate(
        self, text: str, vec: np.ndarray, speaker: str, kind: Kind, key: str, when: float
    ) -> MemoryItem | None:
        """The same fact said again; an episode repeats only if it is the same day's event."""
        part = self.parts.get(speaker)
        if part is None or not len(part):
            return None
        for row, score in part.dense(vec, part.mask(False, None), 3):
            it = self.items.get(part.ids[row])
            if not it or it.kind != kind or it.key != key or (score < DUPLICATE_COSINE and it.text != text):
                continue
            if kind == Kind.EPISODE and abs(it.valid_from - when) > 12 * 3600:
                continue
            return it
        return None

    def _current_for_key(self, speaker: str, key: str) -> MemoryItem | None:
        return next(
            (it for it in self.items.values() if it.speaker == speaker and it.key == key and it.current), None
        )
