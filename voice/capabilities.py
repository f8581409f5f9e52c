"""The seams: what the conversation engine needs from each voice capability."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .asr import AsrDescriptor, Transcript
from .audio import AudioClip
from .tts import Prosody, TtsDescriptor


class Asr(Protocol):
    descriptor: AsrDescriptor

    def transcribe(
        self, audio: AudioClip, language: str | None = None, vad_filter: bool = True
    ) -> Transcript: ...


class Tts(Protocol):
    descriptor: TtsDescriptor

    @property
    def sample_rate(self) -> int: ...

    def synthesize(self, text: str, prosody: Prosody | None = None) -> Iterator[np.ndarray]: ...


class Vad(Protocol):
    def reset(self) -> None: ...

    def frame_probability(self, frame: np.ndarray) -> float: ...


@dataclass(frozen=True)
class SpeakerMatch:
    name: str  # "unknown" when the identifier abstains
    score: float


@dataclass(frozen=True)
class EmotionEstimate:
    valence: float  # -1..1
    arousal: float  # -1..1
    label: str
    confidence: float


class SpeakerIdentifier(Protocol):
    def identify(self, audio: AudioClip) -> SpeakerMatch: ...


class EmotionEstimator(Protocol):
    def estimate(self, audio: AudioClip, text: str, speaker: str | None) -> EmotionEstimate: ...
