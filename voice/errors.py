"""Typed errors for audio input and the speech models."""

from __future__ import annotations

from models.errors import TwinError


class AudioError(TwinError):
    code = "audio_error"
    exit_code = 2


class AudioDecodeError(AudioError):
    code = "audio_unreadable"


class AudioTooShortError(AudioError):
    code = "audio_too_short"


class AudioTooLongError(AudioError):
    code = "audio_too_long"


class NoSpeechError(AudioError):
    code = "no_speech"


class AudioFormatError(AudioError):
    code = "audio_format"


class AudioWriteError(AudioError):
    code = "audio_write_failed"


class VoiceUnavailableError(TwinError):
    """No TTS voice for the reply's language: the reply is still given as text."""

    code = "voice_unavailable"
