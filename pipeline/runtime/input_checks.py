"""What the microphone's own sound says about the device: clipping (the input gain too high, or the
user right at the microphone). Heard on every frame for a few microseconds; said at most once in a
while, as a notice (`twin live` prints it; `--json` logs it as a `device` event)."""

from __future__ import annotations

from collections import deque

import numpy as np

FULL_SCALE = 0.99  # a sample this close to full scale is taken for clipped
CLIPPED_SHARE = 0.01  # a frame is clipped when this share of its samples is at full scale


class ClippingWatch:
    """True from `hear` when, of the last `window` frames, at least `frames` were clipped and nothing
    was said about it in the last `quiet_s` seconds of the stream."""

    def __init__(self, window: int = 31, frames: int = 5, quiet_s: float = 30.0) -> None:
        self.recent: deque[bool] = deque(maxlen=window)
        self.frames = frames
        self.quiet_s = quiet_s
        self._said_at: float | None = None

    def hear(self, samples: np.ndarray, position: float) -> bool:
        clipped = float(np.mean(np.abs(samples) >= FULL_SCALE)) >= CLIPPED_SHARE if len(samples) else False
        self.recent.append(clipped)
        if sum(self.recent) < self.frames:
            return False
        if self._said_at is not None and position - self._said_at < self.quiet_s:
            return False
        self._said_at = position
        return True


CLIPPING_NOTICE = "the microphone is clipping (too loud): lower its input gain, or speak further from it"
