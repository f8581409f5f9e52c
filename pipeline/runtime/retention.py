"""Erasing the records of what was said that live outside memory: the turn traces (`traces.jsonl`,
with the words of every turn; the hub's `conversations.sqlite`) and the reply audio Twin stored
(`DATA_DIR/replies/`, `DATA_DIR/demo/`).

"Forget everything" must reach these too, or "My PIN is 4321" outlives the memory it was taken from.
Audio written to a path the user chose with --output is the user's own file and is left alone.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from models.errors import TwinError


class EraseError(TwinError):
    code = "erase_failed"
    exit_code = 1


TRACE_FILE = "traces.jsonl"
# the hub's conversation across devices and restarts (pipeline/serve/continuity.py), with SQLite's
# write-ahead log and its index beside it
CONVERSATION_FILES = ("conversations.sqlite", "conversations.sqlite-wal", "conversations.sqlite-shm")
AUDIO_DIRS = ("replies", "demo")


def erase_conversation_records(data_dir: Path) -> int:
    """Delete the traces and the stored reply audio under `data_dir`; the number of files removed.

    Also removes a torn temporary copy of the trace file (an interrupted atomic write). Symbolic
    links are removed as links, never followed: erasing never reaches outside the data directory.
    A file that cannot be removed raises EraseError after the others have been removed, so a caller
    never reports an erasure that did not happen.
    """
    data_dir = Path(data_dir).expanduser()
    removed = 0
    failed: list[tuple[Path, OSError]] = []

    def remove_file(path: Path) -> None:
        nonlocal removed
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as exc:
            failed.append((path, exc))

    if data_dir.is_dir():
        for entry in data_dir.iterdir():
            is_trace = entry.name == TRACE_FILE or entry.name.startswith(f".{TRACE_FILE}.")
            is_trace = is_trace or entry.name in CONVERSATION_FILES
            if is_trace and (entry.is_symlink() or not entry.is_dir()):
                remove_file(entry)
        for name in AUDIO_DIRS:
            folder = data_dir / name
            if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
                remove_file(folder)
                continue
            if not folder.is_dir():
                continue
            for root, dirs, files in os.walk(folder, topdown=False, followlinks=False):
                for f in files:
                    remove_file(Path(root) / f)
                for d in dirs:
                    sub = Path(root) / d
                    if sub.is_symlink():
                        remove_file(sub)
                    else:
                        with contextlib.suppress(OSError):  # empty by now, unless a removal failed
                            sub.rmdir()
            with contextlib.suppress(OSError):  # something could not be removed: reported below
                folder.rmdir()
    if failed:
        path, exc = failed[0]
        raise EraseError(
            f"could not erase {path}: {exc.strerror or exc} ({len(failed)} file(s) left, {removed} removed)",
            f"check the permissions under {data_dir}, then ask again",
        )
    return removed
