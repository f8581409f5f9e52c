"""Where sound enters: a clip (as fast as possible, or paced like a live microphone) or a microphone."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice.audio import SAMPLE_RATE, AudioClip
from voice.vad import FRAME

from .errors import AudioDeviceError


@dataclass(frozen=True)
class InputFrame:
    samples: np.ndarray  # FRAME float32 samples at 16 kHz
    position: float  # seconds since the source started
    arrival_t: float | None  # monotonic arrival time; None when not paced in real time
    echo_only: bool = False  # the echo stage found only Twin's own voice in it (pipeline/runtime/echo.py)
    # The device says the user is done at this frame (push-to-talk released, a satellite stopped
    # streaming): the front end ends the open utterance here instead of waiting for silence.
    ends_utterance: bool = False


class ClipSource:
    """Frames of a clip followed by `trailing_silence` seconds of silence. With `realtime`, frames
    are released at the pace a microphone would deliver them."""

    def __init__(self, clip: AudioClip, realtime: bool = False, trailing_silence: float = 1.5) -> None:
        pad = np.zeros(int(trailing_silence * SAMPLE_RATE), np.float32)
        samples = np.concatenate([clip.samples, pad])
        n = len(samples) // FRAME
        self.frames = samples[: n * FRAME].reshape(n, FRAME)
        self.realtime = realtime
        self.position = 0.0  # of the last frame given out: the stream's clock
        self.duration = n * FRAME / SAMPLE_RATE

    async def frames_iter(self) -> AsyncIterator[InputFrame]:
        start = time.monotonic()
        for i, frame in enumerate(self.frames):
            position = self.position = i * FRAME / SAMPLE_RATE
            if self.realtime:
                due = start + position + FRAME / SAMPLE_RATE
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                yield InputFrame(frame, position, time.monotonic())
            else:
                yield InputFrame(frame, position, None)
                if i % 64 == 0:
                    await asyncio.sleep(0)


class FileSource(ClipSource):
    """A recording as the microphone: decoded (any format voice/audio.py reads, resampled to 16 kHz
    mono), then given out frame by frame exactly as the device source does; with `realtime`, at the
    pace a microphone delivers them."""

    def __init__(
        self, path: Path, realtime: bool = False, trailing_silence: float = 1.5, max_seconds: float = 1800.0
    ) -> None:
        from voice.audio import load_audio

        super().__init__(load_audio(path, max_seconds=max_seconds), realtime, trailing_silence)
        self.path = path


def import_sounddevice():
    try:
        import sounddevice as sd
    except OSError as exc:
        raise AudioDeviceError(
            f"the PortAudio library is missing ({exc})",
            "install it (Debian/Ubuntu: sudo apt-get install libportaudio2), or use `twin listen FILE`",
        ) from None
    return sd


def check_device(kind: str, device: str | int | None) -> None:
    sd = import_sounddevice()
    try:
        sd.query_devices(device, kind=kind)
    except (ValueError, sd.PortAudioError) as exc:
        what = "microphone" if kind == "input" else "audio output"
        raise AudioDeviceError(
            f"no {what} available ({exc})",
            "connect one (see `python -m sounddevice` for the list), set audio.input_device/"
            "output_device in config, or run a turn from a file with `twin listen FILE`",
        ) from None


_INVALID_SAMPLE_RATE = -9997  # PortAudio's paInvalidSampleRate
Notify = Callable[[str, str], None]  # (code, message): a device notice for the user and the log


class Reframer:
    """Blocks of a device's own rate -> FRAME-sample frames at 16 kHz (soxr's streaming resampler, no
    seams between blocks); at 16 kHz the blocks are only cut into frames."""

    def __init__(self, rate: int) -> None:
        import soxr

        self.rate = rate
        self._resample = (
            soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32") if rate != SAMPLE_RATE else None
        )
        self._held = np.zeros(0, np.float32)

    def frames(self, block: np.ndarray) -> list[np.ndarray]:
        block = block.astype(np.float32, copy=False)
        if self._resample is not None:
            block = self._resample.resample_chunk(block)
        self._held = np.concatenate([self._held, block])
        n = len(self._held) // FRAME
        out = [self._held[i * FRAME : (i + 1) * FRAME] for i in range(n)]
        self._held = self._held[n * FRAME :]
        return out


class MicrophoneSource:
    """A microphone through sounddevice; `max_seconds` ends the stream after that much audio.

    What a real device does, handled: one that cannot run at 16 kHz is opened at its own rate and
    resampled (a notice says so); one that stops delivering audio (unplugged, its server gone: the
    stream just goes quiet) is noticed after `stall_s`, said (`microphone_lost`) and looked for again
    every second for `reopen_s`; when it is back, listening goes on in the same session
    (`microphone_back`), else an `AudioDeviceError` ends `twin live` (memory, history and the audit
    log are on disk, as after every turn)."""

    hears_playback = True  # in the room with the loudspeaker: the front end cancels Twin's echo
    stall_s = 2.0  # a running stream delivers a frame every 32 ms: this long without one, it is gone
    reopen_s = 15.0  # how long a lost microphone is looked for before giving up

    def __init__(
        self,
        device: str | int | None = None,
        max_seconds: float | None = None,
        on_notice: Notify | None = None,
    ) -> None:
        check_device("input", device)
        self.device = device
        self.max_seconds = max_seconds
        self.on_notice = on_notice

    def _notify(self, code: str, message: str) -> None:
        if self.on_notice is not None:
            self.on_notice(code, message)

    def _open(self, sd, queue: asyncio.Queue[np.ndarray], loop: asyncio.AbstractEventLoop):  # noqa: ANN001
        """An input stream at 16 kHz, or at the device's own rate when it refuses 16 kHz."""

        def callback(indata, frames, time_info, status) -> None:  # runs on PortAudio's thread
            loop.call_soon_threadsafe(_offer, queue, indata[:, 0].copy())

        def stream(rate: int):  # noqa: ANN202
            block = round(FRAME * rate / SAMPLE_RATE)
            return sd.InputStream(
                samplerate=rate,
                channels=1,
                dtype="float32",
                blocksize=block,
                device=self.device,
                callback=callback,
            )

        try:
            return stream(SAMPLE_RATE), SAMPLE_RATE
        except (sd.PortAudioError, ValueError) as first:  # e.g. "Invalid sample rate"
            unopened = AudioDeviceError(
                f"the microphone cannot be opened ({first})",
                "check it is connected (`python -m sounddevice` lists them), or set audio.input_device",
            )
            if _INVALID_SAMPLE_RATE not in first.args[1:2] and "sample rate" not in str(first).lower():
                raise unopened from None  # gone or busy, not a rate it refuses
            try:
                rate = int(sd.query_devices(self.device, kind="input")["default_samplerate"])
            except (sd.PortAudioError, ValueError, KeyError):
                raise unopened from None
            if rate == SAMPLE_RATE:
                raise unopened from None
            try:
                opened = stream(rate)
            except (sd.PortAudioError, ValueError) as exc:
                raise AudioDeviceError(
                    f"the microphone opens neither at 16 kHz ({first}) nor at its own {rate} Hz ({exc})",
                    "choose another device with audio.input_device (`python -m sounddevice` lists them)",
                ) from None
            self._notify("microphone_rate", f"the microphone runs at {rate} Hz; Twin resamples it to 16 kHz")
            return opened, rate

    def _start(self, sd, queue: asyncio.Queue[np.ndarray], loop: asyncio.AbstractEventLoop):  # noqa: ANN001
        """The stream opened (`_open`) and started; the rate it runs at."""
        stream, rate = self._open(sd, queue, loop)
        try:
            stream.start()
        except sd.PortAudioError as exc:
            with contextlib.suppress(Exception):
                stream.close()
            raise AudioDeviceError(
                f"the microphone opened but would not start ({exc})",
                "check it is connected and not held by another program, or set audio.input_device",
            ) from None
        return stream, rate

    async def _reopen(self, sd, queue: asyncio.Queue[np.ndarray], loop: asyncio.AbstractEventLoop):  # noqa: ANN001
        """The microphone found again: a stream that opens and delivers sound (an open that succeeds
        may reach another device that stays silent, e.g. a sink's monitor once the microphone is
        gone: that is not the microphone back). Gives up after `reopen_s` in all."""
        deadline = time.monotonic() + self.reopen_s
        last = "no sound"
        while time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            try:
                stream, rate = self._start(sd, queue, loop)
            except AudioDeviceError as exc:
                last = exc.message
                continue
            wait_s = min(self.stall_s, max(0.1, deadline - time.monotonic()))
            try:
                first = await asyncio.wait_for(queue.get(), wait_s)
            except TimeoutError:
                with contextlib.suppress(Exception):
                    stream.close()
                last = "it opened but gave no sound"
                continue
            return stream, rate, first
        raise AudioDeviceError(
            f"the microphone stopped delivering audio and was not back within {self.reopen_s:.0f} s ({last})",
            "reconnect it and run `twin live` again; what Twin remembers and the conversation are kept",
        )

    async def frames_iter(self) -> AsyncIterator[InputFrame]:
        sd = import_sounddevice()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[np.ndarray] = asyncio.Queue(maxsize=200)
        stream, rate = self._start(sd, queue, loop)
        reframe = Reframer(rate)
        position = 0.0
        try:
            while self.max_seconds is None or position < self.max_seconds:
                try:
                    block = await asyncio.wait_for(queue.get(), self.stall_s)
                except TimeoutError:
                    with contextlib.suppress(Exception):
                        stream.close()
                    self._notify(
                        "microphone_lost",
                        f"no sound from the microphone for {self.stall_s:.0f} s; looking for it again",
                    )
                    stream, rate, block = await self._reopen(sd, queue, loop)
                    reframe = Reframer(rate)
                    self._notify("microphone_back", "the microphone is back; listening again")
                for samples in reframe.frames(block):
                    yield InputFrame(samples, position, time.monotonic())
                    position += FRAME / SAMPLE_RATE
        finally:
            with contextlib.suppress(Exception):
                stream.close()


def _offer(queue: asyncio.Queue[np.ndarray], frame: np.ndarray) -> None:
    if queue.full():  # the loop fell behind: drop the oldest frame rather than grow without bound
        queue.get_nowait()
    queue.put_nowait(frame)
