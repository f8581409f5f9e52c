"""The user's words for speech recognition: what they add (`twin vocabulary add`) and the names Twin
already knows (contacts, enrolled people, list names, places and people from memory).

They become Whisper's previous-text prompt (voice/asr.py), which makes those spellings likely when
they are said. The prompt is short on purpose: a long list of names makes Whisper write names it did
not hear (measured: `twin bench asr`), so at most `PROMPT_MAX_ENTRIES` entries and
`PROMPT_MAX_CHARS` characters go in, ranked: the user's own words first (the latest added first),
then contacts, enrolled people, list names, names from memory. `twin vocabulary list` says which
entries are in the prompt and why the others are not.

Stored in DATA_DIR/vocabulary.json, private, written atomically under a cross-process lock.
This module reads the other stores' files directly (it belongs to `voice`, which knows nothing of
the tool layer): contacts.json, tools/lists.json, speakers/*.json.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.durable import DamagedStateError, JsonState, locked
from models.errors import BadInputError, TwinError

FILE = "vocabulary.json"
MAX_WORD_CHARS = 60  # a name or a phrase, not a paragraph
MAX_STORED = 5000  # beyond this `add` refuses: only the first few dozen can bias recognition anyway
PROMPT_MAX_ENTRIES = 24
PROMPT_MAX_CHARS = 240  # ~60-80 Whisper tokens: a third of what the decoder allows for a prompt

SOURCES = ("vocabulary", "contact", "person", "list", "memory")  # the ranking, best first


class VocabularyError(BadInputError):
    code = "vocabulary_bad_input"


class VocabularyDamagedError(TwinError):
    code = "vocabulary_damaged"
    exit_code = 5


@dataclass(frozen=True)
class Entry:
    text: str
    source: str  # one of SOURCES
    added: float = 0.0


@dataclass(frozen=True)
class Selection:
    """What goes in the prompt and what does not, with the reason."""

    used: tuple[Entry, ...]
    over_cap: tuple[Entry, ...]  # ranked below the cap
    other_script: tuple[Entry, ...]  # not Latin script, and the model is English-only

    def prompt(self) -> str:
        return prompt_text([e.text for e in self.used])


def prompt_text(words: list[str]) -> str:
    """The prompt Whisper sees: the names as a comma-separated list, ended like a sentence."""
    return (", ".join(words) + ".") if words else ""


_CONTROL = re.compile(r"[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_word(raw: str) -> str:
    """One entry as stored: NFC, no control or direction characters, single spaces. Raises
    VocabularyError for what cannot be a word (empty, only punctuation, too long)."""
    text = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", raw)).split())
    if not text:
        raise VocabularyError("an empty word cannot be added", 'give the word or name, e.g. "EcoBee"')
    if not any(c.isalnum() for c in text):
        raise VocabularyError(
            f"{text!r} has no letters or digits", "add a name or word as it is spelled, e.g. Saoirse"
        )
    if len(text) > MAX_WORD_CHARS:
        raise VocabularyError(
            f"'{text[:20]}...' is {len(text)} characters; an entry is at most {MAX_WORD_CHARS}",
            "add names and short phrases one by one, not sentences",
        )
    return text


def is_latin(text: str) -> bool:
    """Whether every letter is Latin script (what an English-only Whisper model can write)."""
    return all(unicodedata.name(c, "").startswith("LATIN") for c in text if c.isalpha())


class Vocabulary:
    """The words the user added, in DATA_DIR/vocabulary.json."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE
        self.state = JsonState(self.path, {"words": []}, _damaged)

    def entries(self) -> list[Entry]:
        words = self.state.read().get("words", [])
        if not isinstance(words, list):
            raise _damaged(self.path, "'words' is not a list")
        out = []
        for w in words:
            if isinstance(w, dict) and isinstance(w.get("text"), str):
                out.append(Entry(w["text"], "vocabulary", float(w.get("added") or 0.0)))
        return out

    def add(self, words: Iterable[str], now: float | None = None) -> tuple[list[str], list[str]]:
        """Add each word (all checked before any is stored); returns (added, already there)."""
        clean = [clean_word(w) for w in words]
        if not clean:
            raise VocabularyError("no words given", "e.g. twin vocabulary add EcoBee 'Mood Lighting'")
        stamp = time.time() if now is None else now
        added: list[str] = []
        present: list[str] = []

        def put(s: dict[str, Any]) -> None:
            have = {str(w.get("text", "")).casefold() for w in s.setdefault("words", [])}
            for i, word in enumerate(clean):
                if word.casefold() in have:
                    present.append(word)
                    continue
                have.add(word.casefold())
                added.append(word)
                s["words"].append({"text": word, "added": stamp - i * 1e-6})  # in the order given
            if len(s["words"]) > MAX_STORED:
                raise VocabularyError(
                    f"the vocabulary would hold {len(s['words'])} entries; it keeps at most {MAX_STORED}",
                    f"remove some first (`twin vocabulary remove WORD`); only the latest "
                    f"{PROMPT_MAX_ENTRIES} of your words bias recognition anyway",
                )

        with locked(self.path, "the vocabulary"):
            self.state.update(put)
        return added, present

    def remove(self, words: Iterable[str]) -> tuple[list[str], list[str]]:
        """Remove each word (any case); returns (removed, not found)."""
        wanted = [" ".join(unicodedata.normalize("NFC", w).split()) for w in words]
        removed: list[str] = []
        missing: list[str] = []

        def drop(s: dict[str, Any]) -> None:
            kept = s.setdefault("words", [])
            for word in wanted:
                before = len(kept)
                kept[:] = [w for w in kept if str(w.get("text", "")).casefold() != word.casefold()]
                (removed if len(kept) < before else missing).append(word)

        with locked(self.path, "the vocabulary"):
            self.state.update(drop)
        return removed, missing


def _damaged(path: Path, why: str) -> Exception:
    return VocabularyDamagedError(
        f"{path} is damaged ({why}); it was left as it is",
        "fix or move the file away (a fresh one starts empty); nothing else was changed",
    )


# -- the names Twin already knows --------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # another store's damage is that store's to report, not recognition's


def known_names(data_dir: Path) -> list[Entry]:
    """Contacts, enrolled people and list names, from their stores' files."""
    data_dir = Path(data_dir)
    out: list[Entry] = []
    contacts = _read_json(data_dir / "contacts.json")
    if isinstance(contacts, dict) and isinstance(contacts.get("contacts"), dict):
        out += [Entry(n, "contact") for n in contacts["contacts"] if isinstance(n, str)]
    speakers = data_dir / "speakers"
    for path in sorted(speakers.glob("*.json")) if speakers.is_dir() else []:
        doc = _read_json(path)
        if isinstance(doc, dict) and isinstance(doc.get("name"), str):
            out.append(Entry(doc["name"], "person"))
    lists = _read_json(data_dir / "tools" / "lists.json")
    if isinstance(lists, dict) and isinstance(lists.get("lists"), dict):
        out += [Entry(f"{n} list", "list") for n in lists["lists"] if isinstance(n, str)]
    return out


_PROPER = re.compile(r"\b[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)*")
_NOT_NAMES = {"I", "I'm", "My", "The", "A", "An", "We", "He", "She", "They", "It", "Our", "Her", "His"}


def names_from_memory(items: Iterable[tuple[str, str]]) -> list[Entry]:
    """Names and places in remembered people and places: (text, slot key) pairs from memory, e.g.
    ("My daughter is called Saoirse", "daughter.name"), ("I live in Dún Laoghaire", "user.lives_in")."""
    out: list[Entry] = []
    for text, key in items:
        if not (key.endswith(".name") or key in ("user.lives_in", "user.job") or key.startswith("person")):
            continue
        for match in _PROPER.finditer(text):
            words = [w for w in match.group(0).split() if w not in _NOT_NAMES]
            if words:
                out.append(Entry(" ".join(words), "memory"))
    return out


def select(entries: Iterable[Entry], multilingual: bool) -> Selection:
    """Rank and cap: the user's words first (latest added first), then each other source in
    SOURCES order; duplicates (any case) once; non-Latin entries only for a multilingual model."""
    rank = {s: i for i, s in enumerate(SOURCES)}
    ordered = sorted(entries, key=lambda e: (rank.get(e.source, len(rank)), -e.added))
    seen: set[str] = set()
    used: list[Entry] = []
    over: list[Entry] = []
    other: list[Entry] = []
    chars = 0
    for e in ordered:
        try:
            text = clean_word(e.text)
        except VocabularyError:
            continue
        if text.casefold() in seen:
            continue
        seen.add(text.casefold())
        e = Entry(text, e.source, e.added)
        if not multilingual and not is_latin(text):
            other.append(e)
        elif len(used) < PROMPT_MAX_ENTRIES and chars + len(text) + 2 <= PROMPT_MAX_CHARS:
            used.append(e)
            chars += len(text) + 2
        else:
            over.append(e)
    return Selection(tuple(used), tuple(over), tuple(other))


class VocabularyPrompt:
    """The prompt voice/asr.py asks for on each utterance. Gathered again only when one of the
    stores' files changed (a few stat calls), so a word added while `twin live` runs counts from
    the next utterance. `memory` gives (text, key) pairs; None: no names from memory. Names from
    memory are read again at most every `MEMORY_REFRESH_S`."""

    MEMORY_REFRESH_S = 60.0

    def __init__(self, data_dir: Path, memory: Callable[[], Iterable[tuple[str, str]]] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.memory = memory
        self._key: tuple[Any, ...] | None = None
        self._cache: dict[bool, Selection] = {}
        self._memory_read = float("-inf")
        self._from_memory: list[Entry] = []

    def _stamp(self) -> tuple[Any, ...]:
        paths = [
            self.data_dir / FILE,
            self.data_dir / "contacts.json",
            self.data_dir / "tools" / "lists.json",
        ]
        speakers = self.data_dir / "speakers"
        stamps: list[Any] = []
        for p in [*paths, speakers]:
            try:
                st = os.stat(p)
                stamps.append((st.st_mtime_ns, st.st_size))
            except OSError:
                stamps.append(None)
        return tuple(stamps)

    def entries(self) -> list[Entry]:
        try:
            mine = Vocabulary(self.data_dir).entries()
        except (VocabularyDamagedError, DamagedStateError):
            mine = []  # reported by `twin vocabulary list`; recognition goes on without it
        if self.memory is not None:
            # memory changed while read, or is closing: keep the names read last time
            with contextlib.suppress(RuntimeError, OSError, TwinError):
                self._from_memory = names_from_memory(list(self.memory()))
        return mine + known_names(self.data_dir) + self._from_memory

    def selection(self, multilingual: bool) -> Selection:
        stamp = self._stamp()
        now = time.monotonic()
        if self.memory is not None and now - self._memory_read >= self.MEMORY_REFRESH_S:
            self._memory_read = now
            stamp = stamp + (now,)
        elif self._key is not None and self.memory is not None:
            stamp = stamp + (self._key[-1],)
        if stamp != self._key:
            self._cache.clear()
            self._key = stamp
        if multilingual not in self._cache:
            self._cache[multilingual] = select(self.entries(), multilingual)
        return self._cache[multilingual]

    def prompt(self, multilingual: bool) -> str:
        return self.selection(multilingual).prompt()
