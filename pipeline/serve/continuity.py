"""The conversation across devices and restarts: what each speaker said lately and what Twin replied,
in DATA_DIR/conversations.sqlite (SQLite, WAL), so "where were we?" asked in the kitchen after a turn
in the car (or after the hub was stopped, even with kill -9) still knows.

Bounded per speaker (the last `keep` turns, the size of the model's history window); a guest's
turns ("unknown") are never stored nor handed to another device. "Forget everything" erases the
file with the turn traces (pipeline/runtime/retention.py). A connection is opened per operation:
nothing holds the file open, so an erasure takes effect at once.

Each device's `Twin` gets a `SpeakerThread`: before a turn it puts the speaker's latest turns into
the device's conversation (only when another device or an earlier run added some, so the model's
cached prompt prefix stays put within one device's dialogue); after the turn it stores the turn.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.acting.permissions import GUEST

log = logging.getLogger(__name__)

FILE = "conversations.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    speaker TEXT NOT NULL,
    device TEXT NOT NULL,
    at REAL NOT NULL,
    context TEXT NOT NULL,
    user TEXT NOT NULL,
    assistant TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_by_speaker ON turns (speaker, seq);
"""


class ConversationStore:
    def __init__(self, data_dir: Path, keep: int) -> None:
        self.path = Path(data_dir) / FILE
        self.keep = keep

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10.0)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL: a committed turn survives a killed process
            conn.executescript(_SCHEMA)
            with conn:
                yield conn
        finally:
            conn.close()

    def append(self, speaker: str, device: str, context: str, user: str, assistant: str) -> int:
        """Store one turn; older turns of the speaker beyond `keep` are deleted. Its sequence number."""
        with self._db() as db:
            seq = db.execute(
                "INSERT INTO turns (speaker, device, at, context, user, assistant) VALUES (?,?,?,?,?,?)",
                (speaker, device, time.time(), context, user, assistant),
            ).lastrowid
            db.execute(
                "DELETE FROM turns WHERE speaker = ? AND seq NOT IN "
                "(SELECT seq FROM turns WHERE speaker = ? ORDER BY seq DESC LIMIT ?)",
                (speaker, speaker, self.keep),
            )
        return int(seq or 0)

    def latest(self, speaker: str) -> int:
        """The sequence number of the speaker's last stored turn (0: none)."""
        with self._db() as db:
            row = db.execute("SELECT MAX(seq) FROM turns WHERE speaker = ?", (speaker,)).fetchone()
        return int(row[0] or 0)

    def turns(self, speaker: str) -> list[dict[str, Any]]:
        """The speaker's stored turns, oldest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT seq, device, at, context, user, assistant FROM turns WHERE speaker = ? "
                "ORDER BY seq DESC LIMIT ?",
                (speaker, self.keep),
            ).fetchall()
        keys = ("seq", "device", "at", "context", "user", "assistant")
        return [dict(zip(keys, row, strict=True)) for row in reversed(rows)]

    def last_device(self, speaker: str) -> str | None:
        """Where the speaker last had a turn (None: nowhere that is remembered)."""
        with self._db() as db:
            row = db.execute(
                "SELECT device FROM turns WHERE speaker = ? ORDER BY seq DESC LIMIT 1", (speaker,)
            ).fetchone()
        return row[0] if row else None

    def thread(self, device: str, on_resume: Any = None) -> SpeakerThread:
        return SpeakerThread(self, device, on_resume)


class SpeakerThread:
    """One device's link to the store (`Twin.continuity`). A store that cannot be read or written is
    logged and the turn goes on with the device's own history: continuity never fails a reply."""

    def __init__(self, store: ConversationStore, device: str, on_resume: Any = None) -> None:
        self.store = store
        self.device = device
        self.on_resume = on_resume  # called with (speaker, turns, devices) when history is put in
        self.speaker: str | None = None  # whose turns the device's conversation holds
        self.seen = 0  # the store's last turn that is in it
        self._turn_speaker: str | None = None

    def resume(self, conversation: Any, speaker: str) -> None:
        """Before a turn by `speaker`: their latest turns, from any device, into `conversation`."""
        self._turn_speaker = speaker
        if speaker == GUEST:
            return
        try:
            latest = self.store.latest(speaker)
            if speaker == self.speaker and latest == self.seen:
                return  # nothing new elsewhere: the device's own history is the speaker's
            turns = self.store.turns(speaker) if latest else []
        except (sqlite3.Error, OSError) as exc:
            log.warning("conversation store unreadable: %s", exc)
            return
        history: list[dict[str, str]] = []
        for t in turns:
            history += [
                {"role": "system", "content": t["context"]},
                {"role": "user", "content": t["user"]},
                {"role": "assistant", "content": t["assistant"]},
            ]
        if turns or speaker != self.speaker:
            conversation.history = history
        self.speaker, self.seen = speaker, latest
        if turns and self.on_resume is not None:
            self.on_resume(speaker, len(turns), sorted({t["device"] for t in turns}))

    def record(self, context: str, user: str, assistant: str) -> None:
        """After the turn (it is in the device's conversation already): into the store."""
        speaker = self._turn_speaker or "owner"
        self.speaker = speaker
        if speaker == GUEST:
            return
        try:
            self.seen = self.store.append(speaker, self.device, context, user, assistant)
        except (sqlite3.Error, OSError) as exc:
            log.warning("conversation store unwritable: %s", exc)
