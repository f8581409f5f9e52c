"""Acoustic echo cancellation with WebRTC's audio processing module (AEC3 + noise suppression +
high-pass filter), through LiveKit's maintained binding (`livekit.rtc.AudioProcessingModule`), and
the streaming resampler (soxr) that brings the playback reference to the microphone's rate.

The one module that imports `livekit` and `soxr`. Why this binding (README, "Echo cancellation and
full duplex"): on the same echo scenarios it cancelled 3-10 dB more than pywebrtc-audio 0.2.0 at the
same cost (~0.06 ms per 10 ms frame), webrtc-noise-gain has no echo canceller, and
webrtc-audio-processing 0.1.3 does not build on Python 3.11.
"""

from __future__ import annotations

import numpy as np

from .capabilities import EchoDescriptor
from .clip import SAMPLE_RATE
from .errors import AudioFormatError

FRAME_10MS = SAMPLE_RATE // 100  # WebRTC processes 10 ms frames: 160 samples at 16 kHz


def _int16(samples: np.ndarray) -> bytearray:
    return bytearray(np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16).tobytes())


def _check(name: str, frame: np.ndarray, n: int) -> None:
    if not isinstance(frame, np.ndarray) or frame.ndim != 1 or frame.shape[0] != n:
        shape = getattr(frame, "shape", type(frame).__name__)
        raise AudioFormatError(
            f"the echo canceller takes {name} frames of {n} mono samples (10 ms at {SAMPLE_RATE} Hz); "
            f"got {shape}",
            "feed it through pipeline/runtime/echo.py's EchoStage, which frames the stream",
        )
    if not np.issubdtype(frame.dtype, np.floating):
        raise AudioFormatError(
            f"the echo canceller takes float samples in [-1, 1]; got {frame.dtype}",
            "convert int16 audio with samples / 32768",
        )


class WebRtcEchoCanceller:
    """One APM per stream. Not thread-safe: one caller feeds it frame by frame."""

    def __init__(self, noise_suppression: bool = True, stream_delay_ms: int = 0) -> None:
        self.descriptor = EchoDescriptor(
            name="webrtc-aec3 (livekit 1.2.0)",
            sample_rate=SAMPLE_RATE,
            frame_samples=FRAME_10MS,
            noise_suppression=noise_suppression,
        )
        self.stream_delay_ms = stream_delay_ms
        self.reset()

    def reset(self) -> None:
        from livekit import rtc

        self._rtc = rtc
        self._apm = rtc.AudioProcessingModule(
            echo_cancellation=True,
            noise_suppression=self.descriptor.noise_suppression,
            high_pass_filter=True,
            auto_gain_control=False,  # the VAD and ASR see the level as it is; AGC would lift the echo too
        )
        # AEC3 estimates the delay between playback and microphone itself; this is only a hint.
        self._apm.set_stream_delay_ms(self.stream_delay_ms)

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        n = self.descriptor.frame_samples
        _check("microphone", near, n)
        _check("reference", far, n)
        rtc = self._rtc
        self._apm.process_reverse_stream(rtc.AudioFrame(_int16(far), SAMPLE_RATE, 1, n))
        frame = rtc.AudioFrame(_int16(near), SAMPLE_RATE, 1, n)
        self._apm.process_stream(frame)  # in place
        return np.frombuffer(frame.data, dtype=np.int16).astype(np.float32) / 32768.0

    def reference_resampler(self, sample_rate: int) -> SoxrStream:
        return SoxrStream(sample_rate, SAMPLE_RATE)


class SoxrStream:
    """soxr's streaming resampler: pieces of one stream keep their filter state across calls, so the
    reference has no seams where a sink's pieces meet."""

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        if not isinstance(src_rate, int) or src_rate < 8000 or src_rate > 384_000:
            raise AudioFormatError(
                f"cannot resample playback at {src_rate!r} Hz for the echo canceller",
                "play audio at a rate between 8 and 384 kHz (Piper voices are 16 or 22.05 kHz)",
            )
        import soxr

        self.src_rate, self.dst_rate = src_rate, dst_rate
        self._stream = None if src_rate == dst_rate else soxr.ResampleStream(src_rate, dst_rate, 1, "float32")

    def push(self, samples: np.ndarray) -> np.ndarray:
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        if self._stream is None:
            return x
        return self._stream.resample_chunk(x)
