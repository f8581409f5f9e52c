"""Durable storage on Qdrant: embedded (a local folder) by default, a Qdrant server by URL when one
machine is outgrown. Every item's payload holds the whole item, so the store alone can rebuild
everything else."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .items import MemoryError_, MemoryInputError, MemoryItem

COLLECTION = "memories"
_NS = uuid.UUID("6c1f6a52-3f0e-4c39-9d0f-4f7b2b0e8a11")


class MemoryStoreError(MemoryError_):
    code = "memory_store"


class MemoryDiskFullError(MemoryStoreError):
    """The disk is full: nothing more can be written, but forgetting still works (deleting needs
    no new space in the store, and a receipt that cannot be written is reported, not fatal)."""

    code = "memory_disk_full"


FREE_SPACE_HINT = "free disk space (`twin memory forget ...` still works and frees some), then try again"


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC/EDQUOT from the OS, or SQLite's own words for it (the embedded store)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return "disk is full" in str(exc).lower() or "no space left" in str(exc).lower()


def write_error(exc: BaseException, doing: str) -> MemoryStoreError:
    """A typed error for a failed write, saying what was being done."""
    if is_disk_full(exc):
        return MemoryDiskFullError(f"cannot {doing}: the disk is full", FREE_SPACE_HINT)
    return MemoryStoreError(
        f"cannot {doing}: {type(exc).__name__}: {str(exc)[:160]}",
        "check the data folder's disk and permissions",
    )


def make_private(folder: Path) -> None:
    """The store's files 0600 and folders 0700: the embedded store creates them with the process
    umask (0644/0755), and they hold what a person said about their life."""
    with contextlib.suppress(OSError):
        os.chmod(folder, 0o700)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(root, name), 0o700)
        for name in files:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(root, name), 0o600)


def point_id(item_id: str) -> str:
    """Qdrant point ids are UUIDs; imported items keep their own ids in the payload."""
    try:
        return str(uuid.UUID(item_id))
    except ValueError:
        return str(uuid.uuid5(_NS, item_id))


class QdrantStore:
    def __init__(self, dim: int, path: Path | None = None, url: str | None = None) -> None:
        from qdrant_client import QdrantClient, models

        self.models = models
        self.dim = dim
        # One call at a time on the client, and none after close: the embedded store's SQLite
        # connection must never be used from two threads at once or once it is closed.
        self._lock = threading.RLock()
        self._closed = False
        where = url or str(path)
        try:
            if url:
                self.client = QdrantClient(url=url, timeout=5)
            else:
                assert path is not None
                path.mkdir(parents=True, exist_ok=True, mode=0o700)
                self.client = QdrantClient(path=str(path))
            if not self.client.collection_exists(COLLECTION):
                self.client.create_collection(
                    COLLECTION, vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE)
                )
            if not url:
                self._tune_local_storage()
                assert path is not None
                make_private(path)
        except RuntimeError as exc:
            if "already accessed" in str(exc):
                raise MemoryStoreError(
                    f"the memory store {where} is in use by another Twin process",
                    "stop the other twin (e.g. `twin live`), or set memory.url to a Qdrant server",
                ) from None
            raise self._corrupt(where, exc) from None
        except MemoryStoreError:
            raise
        except Exception as exc:  # qdrant raises many types for unreadable storage or an unreachable server
            if url:
                raise MemoryStoreError(
                    f"cannot reach the Qdrant server at {url}: {exc}",
                    "check memory.url and that the server runs; remove memory.url to use the local store",
                ) from None
            raise self._corrupt(where, exc) from None

    def _tune_local_storage(self) -> None:
        """The embedded store commits each point in its own SQLite transaction with a full fsync
        (~18 ms a point here). WAL journaling with synchronous=NORMAL keeps every commit safe from
        a killed process (kill -9 loses nothing: see the tests) and makes writes ~10x faster; only
        a power cut could lose the last few. Reaches into qdrant-client's local internals (pinned
        version); if they change, the store simply keeps its slower defaults."""
        try:
            conn = self.client._client.collections[COLLECTION].storage.storage  # type: ignore[union-attr]
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        except (AttributeError, KeyError, TypeError):
            pass

    @staticmethod
    def _corrupt(where: str, exc: Exception) -> MemoryStoreError:
        return MemoryStoreError(
            f"the memory store {where} cannot be opened ({type(exc).__name__}: {str(exc)[:120]})",
            "move that folder aside and run `twin memory import` with your last `twin memory export`",
        )

    def upsert(self, items: list[MemoryItem], vectors: np.ndarray) -> None:
        points = [
            self.models.PointStruct(id=point_id(it.id), vector=vec.tolist(), payload=it.to_payload())
            for it, vec in zip(items, vectors, strict=True)
        ]
        try:
            with self._open():
                self.client.upsert(COLLECTION, points=points, wait=True)
        except (OSError, sqlite3.Error) as exc:
            raise write_error(exc, "write to the memory store") from None

    def set_payload(self, item: MemoryItem) -> None:
        try:
            with self._open():
                self.client.overwrite_payload(
                    COLLECTION, payload=item.to_payload(), points=[point_id(item.id)], wait=True
                )
        except (OSError, sqlite3.Error) as exc:
            raise write_error(exc, "update the memory store") from None

    def delete(self, item_ids: list[str]) -> None:
        if item_ids:
            try:
                with self._open():
                    self.client.delete(
                        COLLECTION,
                        points_selector=self.models.PointIdsList(points=[point_id(i) for i in item_ids]),
                        wait=True,
                    )
            except (OSError, sqlite3.Error) as exc:
                raise write_error(exc, "delete from the memory store") from None

    def scan(self, batch: int = 1000) -> Iterator[tuple[MemoryItem, np.ndarray]]:
        offset = None
        while True:
            points, offset = self.client.scroll(
                COLLECTION, limit=batch, offset=offset, with_payload=True, with_vectors=True
            )
            for p in points:
                try:
                    item = MemoryItem.from_payload(p.payload or {})
                except MemoryInputError:  # written before values were checked: list it, repaired
                    item = MemoryItem.repaired(p.payload or {})
                yield item, np.asarray(p.vector, np.float32)
            if offset is None:
                break

    def count(self) -> int:
        with self._open():
            return self.client.count(COLLECTION).count

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self.client.close()

    @contextlib.contextmanager
    def _open(self) -> Iterator[None]:
        with self._lock:
            if self._closed:
                raise MemoryStoreError("the memory store is closed", "open it again (restart twin)")
            yield
