"""Where sound leaves: a buffer (files, tests) or the speaker. Sinks count what was actually played,
so a barge-in keeps only what the user heard."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from .errors import AudioDeviceError
from .sources import check_device, import_sounddevice


class PlaybackTap(Protocol):
    """Hears what the sink plays as it starts to sound, and when the sound is cut (the echo
    canceller's far-end reference: pipeline/runtime/echo.py)."""

    def played(self, samples: np.ndarray, sample_rate: int) -> None: ...

    def cut(self) -> None: ...


class BufferSink:
    """Collects reply audio; 'played' means handed over (there is no real-time playback).

    Every sink can be paused (the user started talking over Twin: hold the reply until we know
    whether it was a backchannel) and resumed; `timeline` keeps every piece played in the session
    with its start on `clock` (seconds: the input stream's position when one is given), so a file
    run can write what Twin would have played, where it would have played it."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self.chunks: list[np.ndarray] = []
        self.sample_rate = 0
        self.played_samples = 0
        self.timeline: list[tuple[float, int, np.ndarray]] = []  # (start s, sample rate, samples)
        start = time.monotonic()
        self.clock = clock or (lambda: time.monotonic() - start)
        self._running = asyncio.Event()
        self._running.set()
        self.taps: list[PlaybackTap] = []

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def begin(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.chunks = []
        self.played_samples = 0
        self._running.set()

    async def write(self, samples: np.ndarray) -> None:
        await self._running.wait()
        self._played(samples)

    def _played(self, samples: np.ndarray) -> None:
        self.chunks.append(samples)
        self.played_samples += len(samples)
        self.timeline.append((self.clock(), self.sample_rate, samples))
        for tap in self.taps:
            tap.played(samples, self.sample_rate)

    def pause(self) -> None:
        self._running.clear()
        for tap in self.taps:
            tap.cut()

    def resume(self) -> None:
        self._running.set()

    def interrupt(self) -> None:
        self._running.set()
        for tap in self.taps:
            tap.cut()

    def audio(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)

    def session_audio(self, sample_rate: int, until: float = 0.0) -> np.ndarray:
        """Everything played in the session on one track at `sample_rate`, each piece at its time
        (or right after the piece before it), at least `until` seconds long."""
        from voice.audio import resample

        pieces: list[tuple[int, np.ndarray]] = []
        cursor = 0
        for start, rate, samples in self.timeline:
            audio = (
                resample(samples.astype(np.float32), rate, sample_rate) if rate != sample_rate else samples
            )
            at = max(cursor, round(start * sample_rate))
            pieces.append((at, audio))
            cursor = at + len(audio)
        out = np.zeros(max(cursor, round(until * sample_rate)), np.float32)
        for at, audio in pieces:
            out[at : at + len(audio)] = audio
        return out


class PacedSink(BufferSink):
    """Plays in real time without a device: each 50 ms piece takes 50 ms, so a reply is still
    playing while the user speaks over it (a file replayed with --realtime, barge-in tests)."""

    piece_s = 0.05

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        super().__init__(clock)
        self._interrupted = False

    def begin(self, sample_rate: int) -> None:
        super().begin(sample_rate)
        self._interrupted = False

    async def write(self, samples: np.ndarray) -> None:
        step = max(1, round(self.sample_rate * self.piece_s))
        for i in range(0, len(samples), step):
            await self._running.wait()
            if self._interrupted:
                return
            piece = samples[i : i + step]
            self._played(piece)
            await asyncio.sleep(len(piece) / self.sample_rate)

    def interrupt(self) -> None:
        self._interrupted = True
        super().interrupt()


class SpeakerSink(BufferSink):
    """Plays through sounddevice; write() returns when the chunk has been queued to the device."""

    stuck_s = 3.0  # a 100 ms piece not taken in this long: the device is stuck

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
            await self._running.wait()
            if self._interrupted:
                return
            piece = samples[i : i + step].astype(np.float32).reshape(-1, 1)
            stream = self._stream
            try:
                # a device takes a 100 ms piece within its buffer's time; one that takes nothing for
                # `stuck_s` is stuck (a hung driver, a server gone): the reply is given up, said so
                await asyncio.wait_for(asyncio.to_thread(stream.write, piece), self.stuck_s)  # type: ignore[union-attr]
            except TimeoutError:
                self._give_up(stream)
                raise AudioDeviceError(
                    f"the speaker took no sound for {self.stuck_s:.0f} s; that reply was not played",
                    "check the output device (`python -m sounddevice` lists them); Twin opens it again "
                    "for the next reply",
                ) from None
            self._played(piece[:, 0])

    def _give_up(self, stream: object) -> None:
        """A stuck stream is aborted (its blocked write returns) and dropped: the next reply opens
        the device afresh (`begin`)."""
        with contextlib.suppress(Exception):
            stream.abort()  # type: ignore[attr-defined]
        with contextlib.suppress(Exception):
            stream.close()  # type: ignore[attr-defined]
        if self._stream is stream:
            self._stream = None

    def pause(self) -> None:
        """Stop the sound now (what is queued in the device is dropped); the reply waits."""
        super().pause()
        self._cut()

    def interrupt(self) -> None:
        self._interrupted = True
        super().interrupt()
        self._cut()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop()  # lets what is queued play out
            self._stream.close()
            self._stream = None

    def _cut(self) -> None:
        if self._stream is not None:
            self._stream.abort()
            self._stream.start()
