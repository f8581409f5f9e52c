"""Where sound enters: a clip (as fast as possible, or paced like a live microphone) or a microphone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
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


class MicrophoneSource:
    """A microphone through sounddevice; `max_seconds` ends the stream after that much audio."""

    hears_playback = True  # in the room with the loudspeaker: the front end cancels Twin's echo

    def __init__(self, device: str | int | None = None, max_seconds: float | None = None) -> None:
        check_device("input", device)
        self.device = device
        self.max_seconds = max_seconds

    async def frames_iter(self) -> AsyncIterator[InputFrame]:
        sd = import_sounddevice()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[np.ndarray] = asyncio.Queue(maxsize=200)

        def callback(indata, frames, time_info, status) -> None:  # runs on PortAudio's thread
            loop.call_soon_threadsafe(_offer, queue, indata[:, 0].copy())

        stream = sd.InputStream(
            samplerate=SAMPLE_RATE,
            channels=1,
            dtype="float32",
            blocksize=FRAME,
            device=self.device,
            callback=callback,
        )
        position = 0.0
        with stream:
            while self.max_seconds is None or position < self.max_seconds:
                samples = await queue.get()
                yield InputFrame(samples, position, time.monotonic())
                position += FRAME / SAMPLE_RATE


def _offer(queue: asyncio.Queue[np.ndarray], frame: np.ndarray) -> None:
    if queue.full():  # the loop fell behind: drop the oldest frame rather than grow without bound
        queue.get_nowait()
    queue.put_nowait(frame)
