"""The seams: what the conversation engine needs from each voice capability.

Only Protocols and the plain data that crosses them live here, and this module imports no adapter:
the adapters (asr, tts, vad, speakers, emotion) import it, so a caller can name a capability
without loading the library behind it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .clip import AudioClip

# -- speech recognition ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    language_probability: float
    duration: float
    segments: tuple[str, ...] = field(default_factory=tuple)
    rejected: int = 0  # segments dropped by the phantom-text gates


@dataclass(frozen=True)
class AsrDescriptor:
    name: str
    languages: tuple[str, ...]
    streaming: bool = False
    local: bool = True
    device: str = "cpu"


class Asr(Protocol):
    descriptor: AsrDescriptor

    def transcribe(
        self, audio: AudioClip, language: str | None = None, vad_filter: bool = True, lead: str = ""
    ) -> Transcript:
        """`lead`: a word this call's recognition should favour first (the wake name while a
        live loop listens for it); a model with no prompt may ignore it."""
        ...


# -- speech synthesis ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prosody:
    """How to speak: the knobs a style policy turns (piper's SynthesisConfig)."""

    length_scale: float = 1.0  # >1 slower
    noise_scale: float | None = None
    noise_w_scale: float | None = None
    volume: float = 1.0


@dataclass(frozen=True)
class TtsDescriptor:
    name: str
    languages: tuple[str, ...]
    sample_rate: int
    streaming: bool = True  # sentence by sentence
    local: bool = True
    device: str = "cpu"


class Tts(Protocol):
    descriptor: TtsDescriptor

    @property
    def sample_rate(self) -> int: ...

    def synthesize(self, text: str, prosody: Prosody | None = None) -> Iterator[np.ndarray]:
        """One chunk of audio per sentence, as each is ready."""
        ...

    def synthesize_all(self, text: str, prosody: Prosody | None = None) -> np.ndarray:
        """All of `text` as one array (one sentence of a streamed reply, or a short aside)."""
        ...


# -- voice activity --------------------------------------------------------------------------------


class Vad(Protocol):
    def reset(self) -> None:
        """Forget the stream's state (a new live session)."""
        ...

    def frame_probability(self, frame: np.ndarray) -> float:
        """Speech probability of the next frame of a stream."""
        ...

    def probabilities(self, samples: np.ndarray) -> np.ndarray:
        """Speech probability of every frame of a whole recording."""
        ...


# -- who is speaking -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeakerMatch:
    name: str  # "unknown" when the identifier abstains
    score: float


@dataclass(frozen=True)
class EmbedderDescriptor:
    name: str
    dim: int
    local: bool = True
    expected_ms_per_3s: float = 105.0


@dataclass(frozen=True)
class SpeechEmbedding:
    """One clip's voice: the utterance embedding, its partial (windowed) embeddings and how much
    speech it held, so callers can refuse clips that are too short or hold two voices."""

    vector: np.ndarray
    partials: np.ndarray
    speech_seconds: float


class SpeakerEmbedder(Protocol):
    descriptor: EmbedderDescriptor

    def embed(self, audio: AudioClip) -> SpeechEmbedding: ...


class SpeakerIdentifier(Protocol):
    def identify(self, audio: AudioClip) -> SpeakerMatch: ...


# -- how they sound --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmotionEstimate:
    valence: float  # -1..1
    arousal: float  # -1..1
    label: str
    confidence: float


class EmotionModel(Protocol):
    """A user-supplied classifier: label -> probability for one clip."""

    def predict(self, audio: AudioClip) -> dict[str, float]: ...


class EmotionEstimator(Protocol):
    def estimate(self, audio: AudioClip, text: str, speaker: str | None) -> EmotionEstimate: ...


# -- waking ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WakeWordDescriptor:
    name: str  # the model's id, e.g. "okay_nabu"
    phrase: str  # what the user says, e.g. "Okay Nabu"
    languages: tuple[str, ...]
    licence: str  # the model file's licence, from its package
    local: bool = True


class WakeWord(Protocol):
    """An acoustic wake word run on every frame of the stream, before anything else hears it."""

    descriptor: WakeWordDescriptor
    phrase: str  # what is said ("Okay Nabu"), for the second look
    peak: float  # the highest score in the last frame given to `detect`

    @property
    def resting(self) -> bool:
        """After a detection, until the same utterance can no longer fire again."""
        ...

    def reset(self) -> None:
        """Forget the stream's state (a new live session)."""
        ...

    def detect(self, frame: np.ndarray) -> bool:
        """Feed the next frame of a stream (float32, 16 kHz, any length); True on the frame where
        the wake word is heard (once per utterance of it)."""
        ...


# -- echo cancellation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EchoDescriptor:
    name: str
    sample_rate: int  # both the microphone and the reference frames
    frame_samples: int  # one processing frame (WebRTC's 10 ms)
    noise_suppression: bool
    local: bool = True


class EchoCanceller(Protocol):
    """Removes what the loudspeaker played (the far end, Twin's own voice) from the microphone."""

    descriptor: EchoDescriptor

    def reset(self) -> None:
        """Forget the echo path it has learnt (a new live session)."""
        ...

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        """One frame of the microphone (`near`) and of the playback heard at the same time (`far`),
        both float32 of descriptor.frame_samples at descriptor.sample_rate: the microphone frame
        with the echo of `far` removed. Raises AudioFormatError on any other shape or type."""
        ...

    def reference_resampler(self, sample_rate: int) -> Resampler:
        """A streaming resampler from the playback's rate to descriptor.sample_rate."""
        ...


class Resampler(Protocol):
    def push(self, samples: np.ndarray) -> np.ndarray:
        """The next piece of a stream, resampled (state carries over between pieces)."""
        ...
