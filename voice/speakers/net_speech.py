"""How many seconds of a clip are speech, as a speech detector hears it: the encoders' own trimming
(webrtcvad, energy-based) keeps music, tones and steady noise whole, so enrolment and adaptation ask
a neural VAD (silero-vad, through the `Vad` Protocol) instead. A private VAD instance: the live
stream's VAD keeps its state."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from ..audio import SAMPLE_RATE, AudioClip, resample
from ..capabilities import Vad

SPEECH_PROBABILITY = 0.5  # silero's own default threshold
FRAME_SECONDS = 512 / SAMPLE_RATE


class NetSpeech:
    """`seconds(clip)`: the seconds of frames the VAD scores as speech. Thread-safe; the VAD is made
    on first use."""

    def __init__(self, make_vad: Callable[[], Vad]) -> None:
        self._make = make_vad
        self._vad: Vad | None = None
        self._lock = threading.Lock()

    def seconds(self, clip: AudioClip) -> float:
        samples = clip.samples
        if clip.sample_rate != SAMPLE_RATE:
            samples = resample(samples, clip.sample_rate, SAMPLE_RATE)
        samples = np.asarray(samples, np.float32)
        with self._lock:
            if self._vad is None:
                self._vad = self._make()
            probs = self._vad.probabilities(samples)
        return float(np.sum(probs >= SPEECH_PROBABILITY)) * FRAME_SECONDS

    __call__ = seconds
