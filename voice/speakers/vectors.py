"""Geometry of voice embeddings shared by the encoders, the calibration and the registry: every
comparison is a cosine between unit vectors."""

from __future__ import annotations

import numpy as np


def unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def two_voice_score(partials: np.ndarray) -> float:
    """How different the two most separable groups of windows are (1 - cosine of their centroids,
    from a 2-means split). One voice stays below ~0.2; two voices in one clip go well above."""
    if len(partials) < 4:
        return 0.0
    sims = partials @ partials.T
    i, j = np.unravel_index(np.argmin(sims), sims.shape)
    centres = np.stack([partials[i], partials[j]])
    labels = np.zeros(len(partials), int)
    for _ in range(10):
        labels = np.argmax(partials @ centres.T, axis=1)
        if labels.min() == labels.max():
            return 0.0
        centres = np.stack([unit(partials[labels == k].mean(0)) for k in (0, 1)])
    if min(np.sum(labels == 0), np.sum(labels == 1)) < 2:
        return 0.0
    return float(1.0 - centres[0] @ centres[1])
