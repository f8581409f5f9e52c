"""Sound <-> text and signals: audio reading, VAD, ASR, TTS, and the seams for speaker and emotion."""

from .asr import Transcript, WhisperAsr
from .audio import SAMPLE_RATE, AudioClip, load_audio, resample, write_wav
from .capabilities import (
    Asr,
    EmotionEstimate,
    EmotionEstimator,
    SpeakerIdentifier,
    SpeakerMatch,
    Tts,
    Vad,
)
from .errors import (
    AudioDecodeError,
    AudioError,
    AudioFormatError,
    AudioTooLongError,
    AudioTooShortError,
    AudioWriteError,
    NoSpeechError,
    VoiceUnavailableError,
)
from .tts import PiperTts, Prosody
from .vad import FRAME, SileroVad, SpeechRegion

__all__ = [
    "FRAME",
    "SAMPLE_RATE",
    "Asr",
    "AudioClip",
    "AudioDecodeError",
    "AudioError",
    "AudioFormatError",
    "AudioTooLongError",
    "AudioTooShortError",
    "AudioWriteError",
    "EmotionEstimate",
    "EmotionEstimator",
    "NoSpeechError",
    "PiperTts",
    "Prosody",
    "SileroVad",
    "SpeakerIdentifier",
    "SpeakerMatch",
    "SpeechRegion",
    "Transcript",
    "Tts",
    "Vad",
    "VoiceUnavailableError",
    "WhisperAsr",
    "load_audio",
    "resample",
    "write_wav",
]
