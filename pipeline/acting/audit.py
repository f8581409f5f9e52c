"""The tool-call audit: an append-only JSONL file in DATA_DIR, each entry chained to the one before
by an HMAC-SHA256 keyed with a secret kept outside the data directory, fsync'd as it is written.

Three records say where the chain ends: the last line itself, a head file beside the log
(`audit.jsonl.head`), and an anchor beside the key (count and last hash, itself keyed). An append
chains only onto a log whose tail agrees with both, so cutting entries off the end cannot be covered
by the next ordinary tool call; verification reports the first line where the chain breaks, and a
log that is shorter than its anchor, or gone while its anchor remains, never verifies. Nothing is
ever repaired or rewritten.

Threat model. This defends against someone who can read and write the data directory but not the
key folder (`$XDG_CONFIG_HOME/twin/`, or `TWIN_AUDIT_KEY_FILE`'s folder): without the key they cannot
recompute the chain after an edit, forge a "confirmed" entry, or hide a deletion, because the anchor
they cannot touch still records how long the log was. It does not defend against root, or anyone
who can write both the data directory and the key folder (the same user account, typically): they
can rewrite the log, the head and the anchor together. It proves what was recorded, not that every
action was recorded by an honest Twin.

Act and sensitive calls get two entries: an intent, fsync'd before the tool runs (no intent, no
run), then the outcome. `entries()` shows one row per call; `records()` every line.

Keys and anchors: pipeline/acting/audit_key.py.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.durable import append_line, atomic_write_text, locked
from models.errors import TwinError
from pipeline.acting.audit_key import (  # noqa: F401 - the audit's public names, re-exported
    KEY_ENV,
    AuditBrokenError,
    AuditError,
    AuditKeyError,
    AuditKeyring,
    AuditWriteError,
    default_key_file,
    entry_mac,
)

GENESIS = "0" * 64


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditCheck:
    ok: bool
    entries: int
    broken_line: int | None = None  # 1-based line number of the first bad entry
    reason: str = ""
    where: str = ""  # what failed when it is no line: "the head record", "the anchor", "the key"


class AuditLog:
    def __init__(self, path: Path, key_file: Path | None = None) -> None:
        self.path = path
        self.head_path = path.with_name(path.name + ".head")
        self.keys = AuditKeyring(path, key_file)
        self.key_file = self.keys.key_file
        self._lock = threading.Lock()

    @property
    def anchor_path(self) -> Path:
        return self.keys.anchor_path

    def _read_head(self) -> dict[str, Any] | None:
        """The head file, or None when absent; anything but an object with seq and hash is broken."""
        try:
            head = json.loads(self.head_path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            raise AuditBrokenError(
                f"the audit head {self.head_path} is unreadable", "keep a copy of it and of the log"
            ) from None
        if not isinstance(head, dict) or not isinstance(head.get("seq"), int):
            raise AuditBrokenError(
                f"the audit head {self.head_path} does not hold an object with a sequence number",
                "keep a copy of it and of the log for inspection",
            )
        return head

    # -- appending ----------------------------------------------------------------------------------

    def _last_line(self) -> bytes | None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return None
        with self.path.open("rb") as f:
            f.seek(max(0, self.path.stat().st_size - 65536))
            data = f.read()
        if not data.endswith(b"\n"):
            raise AuditBrokenError(
                f"the audit log {self.path} ends in an incomplete entry (a torn write or an edit)",
                "run `twin audit --verify`; keep a copy and move the log aside to start a new one",
            )
        return data.splitlines()[-1]

    def _tail(self, key: bytes) -> tuple[int, str]:
        """Where the next entry chains: the last line, but only where the head and the anchor agree.

        One authentic entry past the anchor is a crash between writing a line and its records (its
        key-made hash proves Twin wrote it); anything else is a log that was cut, edited or replaced.
        """
        anchor = self.keys.read_anchor(key)
        head = self._read_head()
        raw = self._last_line()
        hint = "run `twin audit --verify`; keep a copy of the log, its head and anchor for inspection"
        if raw is None:
            if anchor is not None and anchor[0] > 0:
                raise AuditBrokenError(
                    f"the audit log {self.path} is empty or gone, but {anchor[0]} entries were written to it",
                    hint + f"; if you removed the data on purpose, also remove {self.anchor_path}",
                )
            if head is not None and head.get("seq"):
                raise AuditBrokenError(f"the audit log {self.path} is empty but its head is not", hint)
            return 0, GENESIS
        try:
            last = json.loads(raw)
            seq, prev, digest = int(last["seq"]), str(last["prev"]), str(last["hash"])
            authentic = hmac.compare_digest(digest, entry_mac(key, last))
        except (ValueError, KeyError, TypeError, AttributeError):
            authentic, seq, prev, digest = False, -1, "", ""
        if anchor is None:
            raise AuditBrokenError(
                f"the audit log {self.path} has entries but no anchor beside the key {self.key_file}",
                "it was written with another key, moved, or forged; move it aside to start a new log",
            )
        a_seq, a_hash = anchor
        agrees = authentic and (
            (seq, digest) == (a_seq, a_hash) or (seq == a_seq + 1 and prev == a_hash)  # crash recovery
        )
        head_agrees = head is not None and head.get("seq") in (seq, seq - 1)
        if not (agrees and head_agrees):
            raise AuditBrokenError(
                f"the audit log {self.path} ends at entry {seq} but its records say entry {a_seq} "
                "(entries were cut off, edited or replaced); the call was not run",
                hint,
            )
        return seq, digest

    def _set_aside_unkeyed(self) -> None:
        """A log written before the audit was keyed (no key and no anchor has ever existed for it):
        kept beside, renamed, never deleted, and a new keyed log begins. Without this an upgrade
        would block every act and sensitive tool until the user moved the old log by hand. A log
        that ever had an anchor is never set aside: that is tampering, and it stays an error."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        for path in (self.path, self.head_path):
            if path.exists():
                path.rename(path.with_name(f"{path.name}.unkeyed-{stamp}"))
        log.warning("the audit log from before keying was kept as %s.unkeyed-%s", self.path.name, stamp)

    def append(self, **fields: Any) -> dict[str, Any]:
        """Write one entry, fsync'd, then move the head and the anchor. Any failure is an
        AuditError: the caller decides whether its action may still run (an intent: never)."""
        try:
            with self._lock, locked(self.path, f"the audit log {self.path.name}"):
                self.keys.check_place()
                key = self.keys.read()
                if key is None and self._last_line() is not None and not self.anchor_path.exists():
                    self._set_aside_unkeyed()
                if key is None:
                    if self._last_line() is not None or self.anchor_path.exists():
                        raise AuditKeyError(
                            f"the audit key {self.key_file} is missing, but the audit log {self.path} "
                            "already has entries",
                            "restore the key from a backup, or move the log aside to start a new one",
                        )
                    key = self.keys.create()
                seq, prev = self._tail(key)
                entry = {
                    "seq": seq + 1,
                    "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    **fields,
                    "prev": prev,
                }
                entry["hash"] = entry_mac(key, entry)
                append_line(self.path, json.dumps(entry, ensure_ascii=False))  # fsync'd first
                atomic_write_text(self.head_path, json.dumps({"seq": entry["seq"], "hash": entry["hash"]}))
                self.keys.write_anchor(key, entry["seq"], entry["hash"])
                return entry
        except AuditError:
            raise
        except TwinError as exc:  # the log's lock was held too long
            raise AuditWriteError(exc.message, exc.hint) from None
        except OSError as exc:
            raise AuditWriteError(
                f"the audit log {self.path} could not be written ({exc.strerror or exc})",
                "free disk space or fix the permissions of the data directory and the audit key folder",
            ) from None

    # -- reading ------------------------------------------------------------------------------------

    def records(self) -> list[dict[str, Any]]:
        """Every line as written, intents included."""
        out = []
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    rec = None
                out.append(rec if isinstance(rec, dict) else {"unreadable": line[:200]})
        return out

    def entries(self) -> list[dict[str, Any]]:
        """One row per call: its outcome, or its intent alone where no outcome followed (a call that
        started and was never recorded as finished: the row a reader most needs to see)."""
        records = self.records()
        finished = {r.get("key") for r in records if r.get("phase") != "intent" and r.get("key")}
        return [r for r in records if r.get("phase") != "intent" or r.get("key") not in finished]

    def verify(self) -> AuditCheck:
        if not self.path.parent.exists():
            return self._verify()
        with self._lock, locked(self.path, f"the audit log {self.path.name}"):
            return self._verify()

    def _verify(self) -> AuditCheck:
        lines = self.path.read_bytes().split(b"\n") if self.path.exists() else [b""]
        try:
            key = self.keys.read()
        except AuditKeyError as exc:
            return AuditCheck(False, 0, None, exc.message, where="the key")
        if key is None:
            if len(lines) > 1 or lines[0] or self.head_path.exists():
                return AuditCheck(
                    False,
                    0,
                    None,
                    f"the audit key {self.key_file} is missing, so nothing in this log can be verified "
                    "(restore the key; a log that verifies without it would prove nothing)",
                    where="the key",
                )
            return AuditCheck(True, 0)
        prev, n = GENESIS, 0
        if lines[-1] != b"":
            return AuditCheck(False, n, len(lines), "the last entry is incomplete (torn or truncated write)")
        for i, raw in enumerate(lines[:-1], 1):
            try:
                entry = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                return AuditCheck(False, n, i, "entry is not valid JSON")
            if not isinstance(entry, dict) or entry.get("prev") != prev:
                return AuditCheck(
                    False, n, i, "entry does not chain to the previous one (removed or reordered)"
                )
            if entry.get("seq") != i:
                return AuditCheck(False, n, i, f"sequence number {entry.get('seq')} where {i} was expected")
            if not hmac.compare_digest(str(entry.get("hash")), entry_mac(key, entry)):
                if i == 1 and not self.anchor_path.exists():
                    return AuditCheck(
                        False,
                        n,
                        i,
                        "entry was not written with this key (a log from before the audit was keyed, "
                        "one written with another key, or a forgery); move it aside to start a new log",
                    )
                return AuditCheck(
                    False, n, i, "entry was edited (its hash does not match its content and the key)"
                )
            prev, n = entry["hash"], n + 1
        try:
            head = self._read_head()
            anchor = self.keys.read_anchor(key)
        except AuditBrokenError as exc:
            return AuditCheck(False, n, None, exc.message)
        if head is None and n:
            return AuditCheck(False, n, None, "the head record is missing")
        if head is not None and (head.get("seq") != n or head.get("hash") != prev):
            return AuditCheck(
                False,
                n,
                n + 1,
                f"the log ends at entry {n} but the head records entry {head.get('seq')} "
                "(entries were cut off the end)",
            )
        if anchor is None and n:
            return AuditCheck(
                False,
                n,
                None,
                f"no anchor for this log beside the key ({self.anchor_path}): "
                "it was not written with this key",
                where="the anchor",
            )
        if anchor is not None and anchor != (n, prev):
            return AuditCheck(
                False,
                n,
                n + 1 if n < anchor[0] else None,
                f"the log ends at entry {n} but the anchor beside the key records entry {anchor[0]} "
                "(entries were cut off, or the log was replaced or deleted)",
                where="the anchor",
            )
        return AuditCheck(True, n)
