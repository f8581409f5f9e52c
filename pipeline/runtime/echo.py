"""The front end's echo stage: microphone frames in, the same frames with Twin's own voice removed
out, before the wake word, the VAD and the barge-in decision hear them.

The far-end reference is what the sink actually plays: the sink calls `played()` with each piece as
it starts to sound (at the TTS rate), and `cut()` when it stops the sound (barge-in, a pause). The
reference is resampled to 16 kHz with a streaming resampler and queued; every microphone frame takes
the same length of reference from the queue, so the playback and its echo stay on one clock (the
microphone's), and silence is fed while nothing plays. The residual delay between a piece reaching
the sink and its echo reaching the microphone (the devices' buffers, the room) is found by AEC3's
own delay estimator.

Frames of 512 samples (the VAD's 32 ms) are processed as 10 ms frames: the cleaned stream runs
exactly 10 ms (160 samples) behind the microphone.

Double talk: the canceller leaves a residue of Twin's voice (measured ERLE ~25 dB), and the VAD,
which hardly cares about level, can take that residue for speech. So while Twin plays (and for the
room's tail after), a frame whose cleaned energy is more than `DOUBLE_TALK_DB` under the
microphone's is marked `echo_only`: what the canceller removed was almost all of it, so no one else
spoke over the echo. A user talking over Twin leaves the cleaned energy near the microphone's (their
voice passes the canceller), within a few dB even when the echo is as loud as they are. The cost: a
user much quieter at the microphone than Twin's own voice (12 dB and more) cannot barge in by voice;
the wake word still can (it hears every cleaned frame).

After a cut (`after_cut`, off by default: the bench's hold modes; the live front end does not hold
yet): when the sink stops the sound (a barge-in, a hold), what it had queued in the device
never sounds, but its reference has already reached the canceller, which goes on subtracting the
echo it expects of it (for the device's delay and the room's tail). The cleaned frame then holds
Twin's voice, inverted, louder than anything the microphone heard: `twin bench duplex` traced frames
keeping +9 to +13 dB right after a hold, voiced for the VAD, which set off hold after hold. So in the
echo tail after a cut, a frame whose cleaned energy is more than `PHANTOM_DB` over the microphone's
is marked `echo_only` too (a voice adds about as much to the microphone as to the cleaned frame);
and the playback that follows a cut settles anew (`playing_s` from 0), as a reply after a silence
does: AEC3 passes Twin's voice for a moment when it restarts, which set off hold after hold.

Holding back the reference (`hold_back_s`): where the sink knows how long its device takes to sound
what it is given, the stage queues each piece's reference that much longer, so the canceller hears
it as it sounds rather than as it is written. A cut (a hold, a barge-in) then drops the reference of
what never sounded with it, and the canceller is not left expecting an echo that never comes. Held
back no more than the device's delay (less is safe: the canceller's own delay estimator finds the
rest; more would give it the reference after its echo).

Settling: for each frame while Twin sounds, `kept_db` (the cleaned energy over the microphone's) and
`playing_s` (how long the playback has sounded since it began after a silence longer than the echo
tail) are what the barge-in onset reads (hands_free.BargeInOnset): for a moment after a reply begins,
AEC3 finds the echo path anew and passes much of the echo.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque

import numpy as np

from devices.sources import InputFrame
from voice.capabilities import EchoCanceller, Resampler
from voice.errors import AudioFormatError
from voice.vad import FRAME


class _Fifo:
    """Samples queued in order; take() pads with silence when fewer are queued."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._pieces: deque[np.ndarray] = deque()
        self.size = 0

    def put(self, samples: np.ndarray) -> None:
        if len(samples):
            self._pieces.append(samples)
            self.size += len(samples)
        while self.size > self.limit and self._pieces:  # never consumed (no microphone): drop the oldest
            self.size -= len(self._pieces.popleft())

    def take(self, n: int) -> np.ndarray:
        out = np.zeros(n, np.float32)
        got = 0
        while got < n and self._pieces:
            head = self._pieces[0]
            k = min(n - got, len(head))
            out[got : got + k] = head[:k]
            got += k
            if k == len(head):
                self._pieces.popleft()
            else:
                self._pieces[0] = head[k:]
        self.size -= got
        return out

    def clear(self) -> None:
        self._pieces.clear()
        self.size = 0


@dataclasses.dataclass
class EchoStats:
    frames: int = 0  # microphone frames cleaned
    echo_frames: int = 0  # of which playback was sounding
    echo_only_frames: int = 0  # frames marked as Twin's voice alone (see DOUBLE_TALK_DB)
    seconds: float = 0.0  # time spent in the canceller

    @property
    def ms_per_frame(self) -> float:
        return 1000 * self.seconds / self.frames if self.frames else 0.0


# How far under the microphone's energy a frame's cleaned energy must fall, while Twin plays, to be
# Twin's voice alone. Fixed from the canceller's figures (a residue ~25 dB down; a user as loud as
# the echo leaves ~-3 dB), not tuned on a test set.
DOUBLE_TALK_DB = 18.0
PHANTOM_DB = 6.0  # after a cut: cleaned energy this far over the microphone's is the canceller's own
ECHO_TAIL_S = 0.5  # the room and the devices' buffers still sound Twin's voice after the reference ends


class EchoStage:
    """Feed `played()`/`cut()` from the playback side and `clean()` from the microphone side, on one
    thread (the event loop): the canceller is not thread-safe."""

    def __init__(
        self,
        canceller: EchoCanceller,
        max_reference_s: float = 60.0,
        double_talk_db: float | None = DOUBLE_TALK_DB,
        hold_back_s: float = 0.0,
        after_cut: bool = False,
    ) -> None:
        self.canceller = canceller
        self.double_talk_db = double_talk_db  # None: no double-talk check (the bench's control)
        d = canceller.descriptor
        self.rate, self.step = d.sample_rate, d.frame_samples
        self._reference = _Fifo(int(max_reference_s * self.rate))
        self.hold_back_s = hold_back_s  # the device's delay, where known (see the module's docstring)
        self.after_cut = after_cut  # the checks after a cut (see the module's docstring); off live today
        self._resamplers: dict[int, Resampler] = {}
        self.stats = EchoStats()
        self.reset()

    def reset(self) -> None:
        """A new stream: forget the echo path, the queued playback and the partial frames."""
        self.canceller.reset()
        self._reference.clear()
        self._resamplers.clear()
        self._near = np.zeros(0, np.float32)
        self._far = np.zeros(0, np.float32)
        self._out = np.zeros(self.step, np.float32)  # the stage's fixed 10 ms latency
        self._since_far = 1 << 30  # microphone frames since the reference last sounded
        self._began = 0  # the frame at which the playback began to sound after a silence
        self._since_cut = 1 << 30  # microphone frames since the sink last stopped the sound
        self._cut_since = False
        self.kept_db: float | None = None  # the last frame's cleaned energy over the microphone's (dB)
        self.playing_s: float | None = None  # how long the playback has sounded since it began (see clean)
        self.stats = EchoStats()

    # -- the playback side (devices/sinks.py's PlaybackTap) ---------------------------------------

    def played(self, samples: np.ndarray, sample_rate: int) -> None:
        """A piece of playback has started to sound (at the sink's own rate)."""
        resampler = self._resamplers.get(sample_rate)
        if resampler is None:
            resampler = self._resamplers[sample_rate] = self.canceller.reference_resampler(sample_rate)
        if self.hold_back_s > 0 and self._reference.size == 0 and self._since_far > 0:
            # playback begins after a silence: it sounds once the device's buffer has filled
            self._reference.put(np.zeros(int(round(self.hold_back_s * self.rate)), np.float32))
        self._reference.put(resampler.push(samples))

    def cut(self) -> None:
        """The sink stopped the sound: what was queued will never reach the room."""
        self._reference.clear()
        self._resamplers.clear()
        self._since_cut = 0
        self._cut_since = True  # the playback that follows settles anew (a hold let go, the next reply)

    @property
    def playing(self) -> bool:
        return self._reference.size > 0

    # -- the microphone side -----------------------------------------------------------------------

    def clean(self, frame: InputFrame) -> InputFrame:
        samples = frame.samples
        if not isinstance(samples, np.ndarray) or samples.shape != (FRAME,):
            raise AudioFormatError(
                f"the echo stage takes microphone frames of {FRAME} samples at {self.rate} Hz; got "
                f"{getattr(samples, 'shape', type(samples).__name__)}",
                "open the microphone at 16 kHz mono with 512-sample blocks (devices/sources.py)",
            )
        t0 = time.perf_counter()
        far = self._reference.take(FRAME)
        self.stats.frames += 1
        self.stats.echo_frames += bool(np.any(far))
        self._near = np.concatenate([self._near, samples.astype(np.float32, copy=False)])
        self._far = np.concatenate([self._far, far])
        n = len(self._near) // self.step
        cleaned = [self._out]
        for i in range(n):
            part = slice(i * self.step, (i + 1) * self.step)
            cleaned.append(self.canceller.process(self._near[part], self._far[part]))
        self._near, self._far = self._near[n * self.step :], self._far[n * self.step :]
        out = np.concatenate(cleaned)
        self._out = out[FRAME:]
        tail = ECHO_TAIL_S * self.rate
        if np.any(far):
            anew = self.after_cut and self._cut_since
            if self._since_far * FRAME > tail or anew:  # begins after a silence (or, `after_cut`, a cut):
                self._began = self.stats.frames  # the canceller finds the echo path anew
                self._cut_since = False
            self._since_far = 0
        else:
            self._since_far += 1
        self._since_cut += 1
        echo_only = False
        self.kept_db = self.playing_s = None
        if self._since_far * FRAME <= tail:  # Twin sounds (or its room's tail)
            self.playing_s = (self.stats.frames - self._began) * FRAME / self.rate
            near = float(np.dot(samples, samples))
            left = float(np.dot(out[:FRAME], out[:FRAME]))
            self.kept_db = 10 * float(np.log10((left + 1e-12) / (near + 1e-12)))
            if self.double_talk_db is not None:
                echo_only = left < near * 10 ** (-self.double_talk_db / 10)
                if self.after_cut and self._since_cut * FRAME <= tail:  # the echo of what never sounded
                    echo_only = echo_only or left > near * 10 ** (PHANTOM_DB / 10)
        self.stats.echo_only_frames += echo_only
        self.stats.seconds += time.perf_counter() - t0
        return dataclasses.replace(frame, samples=out[:FRAME], echo_only=echo_only)

    # -- wiring ------------------------------------------------------------------------------------

    @classmethod
    def listen_to(cls, sink: object, canceller: EchoCanceller) -> EchoStage:
        """A stage fed with what `sink` plays (a sink without taps gives no reference: the stage
        then only suppresses noise)."""
        stage = cls(canceller)
        taps = getattr(sink, "taps", None)
        if isinstance(taps, list):
            taps.append(stage)
        return stage

    def stop_listening(self, sink: object) -> None:
        taps = getattr(sink, "taps", None)
        if isinstance(taps, list) and self in taps:
            taps.remove(self)
