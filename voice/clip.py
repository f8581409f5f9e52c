"""The audio every voice capability takes: kept apart from the decoders in audio.py, so the seams
(capabilities.py) can name it without importing an audio library's adapter."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class AudioClip:
    samples: np.ndarray  # float32, mono, in [-1, 1]
    sample_rate: int = SAMPLE_RATE
    source: str = ""

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    def slice(self, start_s: float, end_s: float) -> AudioClip:
        a = max(0, int(start_s * self.sample_rate))
        b = min(len(self.samples), int(end_s * self.sample_rate))
        return AudioClip(self.samples[a:b], self.sample_rate, self.source)
