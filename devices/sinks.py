"""Where sound leaves: a buffer (files, tests) or the speaker. Sinks count what was actually played,
so a barge-in keeps only what the user heard."""

from __future__ import annotations

import asyncio

import numpy as np

from .sources import check_device, import_sounddevice


class BufferSink:
    """Collects reply audio; 'played' means handed over (there is no real-time playback)."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []
        self.sample_rate = 0
        self.played_samples = 0

    def begin(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.chunks = []
        self.played_samples = 0

    async def write(self, samples: np.ndarray) -> None:
        self.chunks.append(samples)
        self.played_samples += len(samples)

    def interrupt(self) -> None:
        pass

    def audio(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)


class SpeakerSink(BufferSink):
    """Plays through sounddevice; write() returns when the chunk has been queued to the device."""

    def __init__(self, device: str | int | None = None) -> None:
        super().__init__()
        check_device("output", device)
        self.device = device
        self._stream = None
        self._interrupted = False

    def begin(self, sample_rate: int) -> None:
        super().begin(sample_rate)
        sd = import_sounddevice()
        self._interrupted = False
        if self._stream is None or self._stream.samplerate != sample_rate:
            if self._stream is not None:
                self._stream.close()
            self._stream = sd.OutputStream(
                samplerate=sample_rate, channels=1, dtype="float32", device=self.device
            )
            self._stream.start()

    async def write(self, samples: np.ndarray) -> None:
        step = max(1, self.sample_rate // 10)  # 100 ms pieces, so an interrupt cuts in quickly
        for i in range(0, len(samples), step):
            if self._interrupted:
                return
            piece = samples[i : i + step].astype(np.float32).reshape(-1, 1)
            await asyncio.to_thread(self._stream.write, piece)  # type: ignore[union-attr]
            self.chunks.append(piece[:, 0])
            self.played_samples += len(piece)

    def interrupt(self) -> None:
        self._interrupted = True
        if self._stream is not None:
            self._stream.abort()
            self._stream.start()
