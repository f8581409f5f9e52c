"""The audit log's key and anchor, kept outside the data directory (pipeline/acting/audit.py says
why): the HMAC key, created once and private, and per log an anchor recording how many entries were
written and the last one's hash, itself keyed."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from models.durable import atomic_write_text
from models.errors import TwinError

KEY_ENV = "TWIN_AUDIT_KEY_FILE"


class AuditError(TwinError):
    code = "audit_error"
    exit_code = 5


class AuditBrokenError(AuditError):
    code = "audit_broken"


class AuditKeyError(AuditError):
    """The key is missing, unreadable or inside the data directory: nothing can be proven."""

    code = "audit_key"


class AuditWriteError(AuditError):
    """An entry could not be written: the call it was for does not run."""

    code = "audit_unwritable"


def default_key_file() -> Path:
    """Outside DATA_DIR on purpose: whoever can edit the data must not be able to re-key the chain."""
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "twin" / "audit.key"


def canonical(body: Any) -> bytes:
    return json.dumps(body, sort_keys=True, ensure_ascii=False).encode()


def entry_mac(key: bytes, entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hmac.new(key, canonical(body), hashlib.sha256).hexdigest()


class AuditKeyring:
    """The key for one log and that log's anchor."""

    def __init__(self, path: Path, key_file: Path | None = None) -> None:
        self.path = path
        self.key_file = key_file or default_key_file()

    @property
    def anchor_path(self) -> Path:
        """One anchor per log (several data directories may share one key), named by the log's path."""
        name = hashlib.sha256(str(self.path.resolve()).encode()).hexdigest()[:32]
        return self.key_file.parent / "audit-anchors" / f"{name}.json"

    def check_place(self) -> None:
        data = self.path.parent.resolve()
        if self.key_file.resolve().is_relative_to(data):
            raise AuditKeyError(
                f"the audit key {self.key_file} is inside the data directory {data}",
                f"point {KEY_ENV} at a file outside it; anyone who can edit the data could re-key the log",
            )

    def read(self) -> bytes | None:
        try:
            key = bytes.fromhex(self.key_file.read_text().strip())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise AuditKeyError(
                f"the audit key {self.key_file} cannot be read ({exc})",
                "restore it from a backup; without it the audit log cannot be verified",
            ) from None
        if len(key) < 32:
            raise AuditKeyError(f"the audit key {self.key_file} is too short", "restore it from a backup")
        return key

    def create(self) -> bytes:
        """Created once, 0600 in a 0700 folder; `link` makes a race between two processes pick one."""
        folder = self.key_file.parent
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".audit-key.", dir=folder)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
                os.link(tmp, self.key_file)
        finally:
            Path(tmp).unlink(missing_ok=True)
        key = self.read()
        assert key is not None
        return key

    def _anchor_mac(self, key: bytes, seq: int, last: str) -> str:
        body = canonical(["anchor", str(self.path.resolve()), seq, last])
        return hmac.new(key, body, hashlib.sha256).hexdigest()

    def read_anchor(self, key: bytes) -> tuple[int, str] | None:
        """(count, last hash) as the key folder recorded it; None where no entry was ever written."""
        try:
            doc = json.loads(self.anchor_path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise AuditBrokenError(
                f"the audit anchor {self.anchor_path} is unreadable ({exc})",
                "keep a copy of it and of the log for inspection",
            ) from None
        if (
            not isinstance(doc, dict)
            or not isinstance(doc.get("seq"), int)
            or not isinstance(doc.get("hash"), str)
            or not hmac.compare_digest(
                str(doc.get("mac", "")), self._anchor_mac(key, doc["seq"], doc["hash"])
            )
        ):
            raise AuditBrokenError(
                f"the audit anchor {self.anchor_path} was not written with this key",
                "keep a copy of it and of the log for inspection",
            )
        return doc["seq"], doc["hash"]

    def write_anchor(self, key: bytes, seq: int, last: str) -> None:
        self.anchor_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        mac = self._anchor_mac(key, seq, last)
        doc = {"log": str(self.path.resolve()), "seq": seq, "hash": last, "mac": mac}
        atomic_write_text(self.anchor_path, json.dumps(doc))
