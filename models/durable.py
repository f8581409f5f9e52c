"""Writes that survive a crash: one helper for every file Twin must never leave torn.

A temp file beside the target, written, flushed and fsync'd, then renamed over it: after a kill -9
the target holds either the old content or the new, never half of each. Private (0600) unless asked
otherwise: user data lives in one private directory. Kept in `models` because every package may use
it and `models` depends on none of them.

`locked()` makes a store's read-modify-write one writer at a time across processes (a CLI command
beside a running `twin live`): an flock on a lock file beside the store, held only for that write.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from models.errors import TwinError

LOCK_TIMEOUT_S = 5.0


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o600) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, mode: int = 0o600) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def atomic_write_json(path: Path, doc: Any, indent: int | None = None, mode: int = 0o600) -> None:
    atomic_write_text(path, json.dumps(doc, ensure_ascii=False, indent=indent), mode)


def atomic_write_lines(path: Path, lines: Iterable[str], mode: int = 0o600) -> None:
    atomic_write_text(path, "".join(line + "\n" for line in lines), mode)


def atomic_concat(parts: list[Path], target: Path, on_block: Callable[[bytes], None] | None = None) -> None:
    """Join `parts` into `target` in order, atomically; `on_block` sees each block (a checksum)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.part.")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as fh:
                    for block in iter(lambda fh=fh: fh.read(1 << 22), b""):
                        if on_block is not None:
                            on_block(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def append_line(path: Path, line: str) -> None:
    """Append one line and fsync it (an append-only log): a crash may tear only the last line."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def spool(folder: Path, record: dict[str, Any]) -> Path:
    """One record as its own JSON file in `folder` (an outbox, the orders): written atomically, named
    by time so a reader drains them in order."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}.json"
    atomic_write_json(path, record)
    return path


class DamagedStateError(ValueError):
    """A state file that is not a JSON object; callers turn it into their own typed error."""


class JsonState:
    """A small JSON document with a lock: read-modify-write under `update()`. A damaged file raises
    `damaged(path, why)` and is left as it is (never overwritten by the next update)."""

    def __init__(
        self, path: Path, default: dict[str, Any], damaged: Callable[[Path, str], Exception] | None = None
    ) -> None:
        self.path = path
        self.default = default
        self._damaged = damaged or (lambda p, why: DamagedStateError(f"{p} is damaged ({why})"))
        self._lock = threading.Lock()

    def read(self) -> dict[str, Any]:
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return json.loads(json.dumps(self.default))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise self._damaged(self.path, str(exc)) from None
        if not isinstance(state, dict):
            raise self._damaged(self.path, "not a JSON object")
        return state

    def update(self, fn: Callable[[dict[str, Any]], Any]) -> Any:
        with self._lock:
            state = self.read()
            out = fn(state)
            atomic_write_json(self.path, state, indent=1)
            return out


class StoreBusyError(TwinError):
    """Another process held a store's lock for longer than a write takes: reported, never waited on
    forever, so a hung writer cannot freeze the turn that wants the same store."""

    code = "store_busy"
    exit_code = 1


def lock_path(store: Path) -> Path:
    """The lock file beside a store (a file or a spool folder): `contacts.json.lock`, `outbox.lock`."""
    return store.with_name(store.name + ".lock")


@contextlib.contextmanager
def locked(store: Path, what: str = "", timeout_s: float | None = None) -> Iterator[None]:
    """Hold `store`'s cross-process lock for one read-modify-write.

    flock, not a lock file's existence: the kernel drops it when its holder dies, so a crash never
    leaves a store locked. Each call opens its own descriptor, so two threads of one process exclude
    each other too. Polls rather than blocks, to give up after `timeout_s` with a typed error.
    """
    timeout_s = LOCK_TIMEOUT_S if timeout_s is None else timeout_s
    path = lock_path(store)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"{what or store} is being written by another Twin process "
                        f"(its lock {path} was held for over {timeout_s:g} s)",
                        "try again in a moment; if it persists, stop the other twin command or `twin live`",
                    ) from None
                time.sleep(0.01)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
