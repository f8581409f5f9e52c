"""Memory: the one object the rest of Twin uses. Writes go to Qdrant first (durable), then to the
in-process index; recall reads the index only, under a hard time budget."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .embedding import Embedder, UseEmbedder
from .index import Partition, rank, terms
from .items import Kind, MemoryInputError, MemoryItem, validate_text
from .policy import Candidate, Command, extract, parse_command, redact_secrets
from .store import MemoryStoreError, QdrantStore
from .timeparse import time_window

HOUSEHOLD = "household"  # items every speaker may hear
# With no speaker identification, the device's user is its owner; a voice that identification
# could not place ("unknown") is a guest, who sees only household items.
DUPLICATE_COSINE = 0.93
# recall()'s relevance floor: a memory line goes into the prompt only if it is this close in meaning
# to the question (or shares a word with it). use-m3 puts a question and a fact in different
# languages further apart than the same pair in one language (median cosine of related pairs 0.40
# across languages, 0.48 within one; unrelated pairs ~0.07 either way), so a question and a memory in
# different scripts (CJK vs Latin) get a lower floor. It was calibrated on 40 facts, each written in
# Chinese and in English, with a question about each in both languages and 20 pieces of small talk a
# language: 0.31 lets through about the same share of unrelated pairs across languages (0.66%) as
# 0.35 does within one (0.61%), and keeps 82% of the related cross-language pairs (0.35 kept 66%).
RECALL_MIN_COSINE = 0.35
RECALL_MIN_COSINE_CROSS_SCRIPT = 0.31
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


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
        self.embedder = embedder or UseEmbedder()
        self.store = QdrantStore(self.embedder.dim, path, url)
        self.items: dict[str, MemoryItem] = {}
        self.parts: dict[str, Partition] = {}
        self._lock = threading.RLock()
        self._last_written: dict[str, str] = {}  # speaker -> id, for "forget that"
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
        speaker = _speaker(speaker)
        kind = Kind(kind)
        vec = self.embedder.embed([text])[0]
        with self._lock:
            when = at if at is not None else time.time()
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

    def add_many(self, items: list[MemoryItem]) -> None:
        """Bulk import: items as given (ids kept), embedded and written in batches."""
        for start in range(0, len(items), 256):
            batch = items[start : start + 256]
            vecs = self.embedder.embed([it.text for it in batch])
            with self._lock:
                self.store.upsert(batch, vecs)
                for it, vec in zip(batch, vecs, strict=True):
                    self._index(it, vec)

    def observe(self, user_text: str, reply: str, speaker: str | None, source: str = "") -> list[MemoryItem]:
        """After a turn, off the voice path: write what the policy says is worth keeping."""
        if parse_command(user_text) is not None:
            return []
        out = []
        for cand in extract(user_text):
            out.append(self._write_candidate(cand, speaker or "owner", source))
        return out

    def _write_candidate(self, cand: Candidate, speaker: str, source: str) -> MemoryItem:
        return self.remember(cand.text, speaker, cand.kind, cand.key, cand.importance, source)

    # -- forgetting ------------------------------------------------------------------------------
    def forget(self, item_ids: list[str]) -> int:
        """Deletes for real: vectors and payload in the store, and the index rows."""
        with self._lock:
            known = [i for i in item_ids if i in self.items]
            self.store.delete(known)
            for i in known:
                item = self.items.pop(i)
                self.parts[item.speaker].remove(i)
            return len(known)

    def forget_about(self, topic: str, speaker: str, min_cosine: float = 0.5) -> int:
        """Everything of this speaker's that is about `topic`: close in meaning, or sharing a word."""
        topic = validate_text(topic)
        who = _speaker(speaker)
        part = self.parts.get(who)
        if part is None or not len(part):
            return 0
        q = self.embedder.embed([topic])[0]
        words = set(terms(topic))
        chosen = []
        for item_id, row in list(part.row_of.items()):
            close = float(part.vecs[row] @ q) >= min_cosine
            if close or words & set(terms(self.items[item_id].text)):
                chosen.append(item_id)
        return self.forget(chosen)

    def forget_all(self, speaker: str) -> int:
        return self.forget([i for i, it in self.items.items() if it.speaker == _speaker(speaker)])

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
        window = time_window(query) if time_aware else None
        now = now or time.time()
        scopes = [_speaker(speaker or "owner")] + ([] if own_only else [HOUSEHOLD])
        with self._lock:
            scoped = []
            for scope in dict.fromkeys(scopes):
                part = self.parts.get(scope)
                if part is None or not len(part):
                    continue
                mask = part.mask(include_history, window)
                if window is not None and not mask.any():
                    mask = part.mask(include_history, None)
                scoped.append((part, mask))
            ranked = rank(scoped, q, query, k, mode, now)
            return [Hit(self.items[i], s) for i, s in ranked if i in self.items]

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
        words = set(terms(query))
        query_cjk = _is_cjk(query)
        relevant = []
        for h in hits:
            part = self.parts[h.item.speaker]
            row = part.row_of.get(h.item.id)
            if row is None:
                continue
            floor = RECALL_MIN_COSINE if _is_cjk(h.item.text) == query_cjk else RECALL_MIN_COSINE_CROSS_SCRIPT
            if float(part.vecs[row] @ q) >= floor or words & set(terms(h.item.text)):
                relevant.append(h.item)
        if relevant and not self._closed:
            with contextlib.suppress(RuntimeError):  # closing: the use count is not worth a write
                self._background.submit(self._mark_used, relevant)
        return [_line(it) for it in relevant]

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
        """Keep memory clean as it grows: episodes older than `episode_days` become one summary per
        speaker and week (the originals are deleted); low-value items unused for `fade_days`
        fade away. Use reinforces: recall refreshes `last_used`, and importance slows the fade."""
        now = now or time.time()
        summarised = faded = 0
        groups: dict[tuple[str, int], list[MemoryItem]] = {}
        for it in list(self.items.values()):
            age_days = (now - it.valid_from) / 86400
            if it.kind == Kind.EPISODE and age_days > episode_days and it.source != "summary":
                week = int(it.valid_from // (7 * 86400))
                groups.setdefault((it.speaker, week), []).append(it)
        for (speaker, week), items in groups.items():
            if len(items) < 2:
                continue
            items.sort(key=lambda it: it.valid_from)
            start = time.strftime("%d %B %Y", time.localtime(week * 7 * 86400))
            text = f"In the week of {start}: " + "; ".join(_lower_first(it.text) for it in items) + "."
            summary = MemoryItem(
                text=text[:2000],
                kind=Kind.EPISODE,
                speaker=speaker,
                source="summary",
                importance=max(it.importance for it in items),
                created=items[0].valid_from,
                valid_from=items[0].valid_from,
                use_count=sum(it.use_count for it in items),
            )
            vec = self.embedder.embed([summary.text])
            with self._lock:
                self.store.upsert([summary], vec)
                self._index(summary, vec[0])
            summarised += self.forget([it.id for it in items])
        for it in list(self.items.values()):
            idle_days = (now - (it.last_used or it.created)) / 86400
            strength = it.importance * (1 + it.use_count)
            if it.current and strength < 0.5 and idle_days > fade_days * (1 + strength):
                faded += self.forget([it.id])
        return {"episodes_summarised": summarised, "faded": faded}

    # -- spoken controls -------------------------------------------------------------------------
    def handle_command(self, text: str, speaker: str | None) -> str | None:
        """'What do you remember about me?', 'forget that', 'forget everything about my old job'.
        Returns the reply to speak, or None when the words are not a memory command."""
        cmd: Command | None = parse_command(text)
        if cmd is None:
            return None
        who = _speaker(speaker or "owner")
        say = _REPLIES.get(cmd.lang, _REPLIES["en"])  # answered in the language it was said in
        if cmd.action == "list":
            mine = [it for it in self.items.values() if it.speaker == who and it.current]
            mine.sort(key=lambda it: (-it.importance, -it.created))
            if not mine:
                return say["list_empty"]
            lines = say["sep"].join(_line(it, cmd.lang) for it in mine[:5])
            more = say["list_more"].format(n=len(mine) - 5) if len(mine) > 5 else ""
            return say["list"].format(lines=lines, more=more)
        if cmd.action == "forget_last":
            last = self._last_written.get(who)
            if last and self.forget([last]):
                del self._last_written[who]
                return say["forgot_last"]
            return say["nothing_last"]
        if cmd.action == "forget_all":
            return say["forgot_all"].format(n=self.forget_all(who))
        n = self.forget_about(cmd.topic, who)
        return (say["forgot_about"] if n else say["nothing_about"]).format(n=n, topic=cmd.topic)

    # -- user control ----------------------------------------------------------------------------
    def list(self, speaker: str | None = None, include_history: bool = False) -> list[MemoryItem]:
        items = [
            it
            for it in self.items.values()
            if (speaker is None or it.speaker == _speaker(speaker)) and (include_history or it.current)
        ]
        return sorted(items, key=lambda it: it.created)

    def export(self, path: Path) -> int:
        """Portable JSON: every item with its full history; written atomically."""
        items = [it.to_payload() for it in self.list(include_history=True)]
        doc = {"format": "twin-memory", "version": 1, "embedder": self.embedder.name, "items": items}
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, ensure_ascii=False, indent=1)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return len(items)

    def import_file(self, path: Path) -> tuple[int, list[tuple[int, str]]]:
        """An export (JSON) or JSONL lines {"id","text","speaker"?,"time"?,"kind"?}. Bad lines are
        reported by line number; the rest are imported; nothing stored is touched."""
        raw = path.read_text(encoding="utf-8", errors="replace")
        errors: list[tuple[int, str]] = []
        items: list[MemoryItem] = []
        if raw.lstrip().startswith("{") and '"format": "twin-memory"' in raw[:200]:
            try:
                doc = json.loads(raw)
            except ValueError as exc:
                raise MemoryInputError(f"{path.name} is not valid JSON: {exc}", "export again") from None
            for n, data in enumerate(doc.get("items", []), 1):
                try:
                    item = MemoryItem.from_payload(data)
                    item.text = validate_text(item.text)
                    items.append(item)
                except (MemoryInputError, ValueError, TypeError) as exc:
                    errors.append((n, str(getattr(exc, "message", exc))))
        else:
            for n, line in enumerate(raw.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    items.append(_from_jsonl(json.loads(line)))
                except ValueError as exc:
                    errors.append((n, f"not valid JSON ({str(exc)[:60]})"))
                except MemoryInputError as exc:
                    errors.append((n, exc.message))
        self.add_many(items)
        return len(items), errors

    def stats(self) -> dict[str, Any]:
        by_speaker: dict[str, int] = {}
        by_kind: dict[str, int] = {}
        for it in self.items.values():
            by_speaker[it.speaker] = by_speaker.get(it.speaker, 0) + 1
            by_kind[it.kind.value] = by_kind.get(it.kind.value, 0) + 1
        return {
            "items": len(self.items),
            "current": sum(it.current for it in self.items.values()),
            "by_speaker": by_speaker,
            "by_kind": by_kind,
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


def _speaker(name: str) -> str:
    name = (name or "").strip().lower()
    if name == "unknown":
        return "guest"
    if not name or len(name) > 64 or not all(ch.isalnum() or ch in "-_. " for ch in name):
        raise MemoryInputError(
            f"invalid speaker name '{name[:40]}'", "use letters, digits, '-', '_' or spaces"
        )
    return name


# handle_command's spoken replies, by the language of the command (policy.Command.lang)
_REPLIES: dict[str, dict[str, str]] = {
    "en": {
        "list": "Here is what I remember: {lines}.{more}",
        "sep": "; ",
        "list_more": " And {n} more things; say 'twin memory list' to see all.",
        "list_empty": "I don't have anything saved about you yet.",
        "forgot_last": "Done, I've forgotten that.",
        "nothing_last": "There was nothing new to forget.",
        "forgot_all": "Done. I've deleted everything I remembered about you, {n} items.",
        "forgot_about": "Done, I've forgotten {n} things about {topic}.",
        "nothing_about": "I had nothing saved about {topic}.",
    },
    "zh": {
        "list": "我记得这些：{lines}。{more}",
        "sep": "；",
        "list_more": "另外还有{n}条，说“twin memory list”可以看全部。",
        "list_empty": "我还没有记下关于你的任何事。",
        "forgot_last": "好的，我已经忘掉了。",
        "nothing_last": "刚才没有新记下的东西可以忘掉。",
        "forgot_all": "好的，我已经删除了关于你的所有记忆，一共{n}条。",
        "forgot_about": "好的，我已经忘掉了关于{topic}的{n}条记忆。",
        "nothing_about": "我没有记下关于{topic}的事。",
    },
}


def _is_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def _line(it: MemoryItem, lang: str = "en") -> str:
    if it.kind != Kind.EPISODE:
        return it.text
    t = time.localtime(it.valid_from)
    if lang == "zh":
        return f"{it.text}（{t.tm_year}年{t.tm_mon}月{t.tm_mday}日）"
    return f"{it.text} ({it.kind.value}, {time.strftime('%a %d %b %Y', t)})"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != "I " else text


def _from_jsonl(data: object) -> MemoryItem:
    if not isinstance(data, dict):
        raise MemoryInputError("each line must be a JSON object", '{"id": "...", "text": "..."}')
    if "id" not in data or "text" not in data:
        raise MemoryInputError("each line needs 'id' and 'text'", '{"id": "m1", "text": "..."}')
    text = validate_text(data["text"])
    when = data.get("time")
    if isinstance(when, str):
        from datetime import datetime

        try:
            when = datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise MemoryInputError(f"bad time '{when}'", "use ISO 8601, e.g. 2026-11-24T10:00:00") from None
    try:
        kind = Kind(data.get("kind") or "fact")
    except ValueError:
        raise MemoryInputError(
            f"unknown kind '{data.get('kind')}'", "use one of: " + ", ".join(k.value for k in Kind)
        ) from None
    t = float(when) if when is not None else time.time()
    return MemoryItem(
        text=redact_secrets(text)[0],
        kind=kind,
        speaker=_speaker(str(data.get("speaker") or "owner")),
        id=str(data["id"]),
        created=t,
        valid_from=t,
        source="import",
    )
