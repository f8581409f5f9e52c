"""One device's session in the hub: its own `Twin` over the hub's shared models, its microphone
(`StreamSource`), its playback (`DeviceSink`) and the outbox of typed items the wire side (a
Wyoming satellite or a browser) turns into its protocol's messages."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from devices.sources import InputFrame
from pipeline.events import (
    Event,
    EventQueue,
    ReplyTextStop,
    TranscriptReady,
    TurnEnded,
    TurnStarted,
)
from pipeline.runtime.session import Twin
from pipeline.runtime.turn import TurnResult
from voice.audio import SAMPLE_RATE
from voice.vad import FRAME

from .errors import AudioFormatError, DeviceFloodingError
from .registry import Device

if TYPE_CHECKING:
    from .hub import Hub

# What a device sends: 16 kHz, 16-bit, mono PCM (every Wyoming satellite's default microphone format).
MIC_RATE, MIC_WIDTH, MIC_CHANNELS = SAMPLE_RATE, 2, 1
MAX_QUEUED_S = 30.0  # microphone audio waiting for the VAD before frames are dropped (overload)
SHUTDOWN_GRACE_S = 20.0  # a turn under way when the hub stops may finish this long, then is cancelled
PLAYED_GRACE_S = 0.5  # a ring is heard once the device says `played`, or its length and this have passed
# A client sends a handful of messages that are not audio a turn (a browser's start, end, played; a
# satellite's audio-start/stop, played, ping, run-pipeline); a link sending more than this many in
# one second is flooding: a typed error, its session closed, the other devices untouched.
MAX_CONTROL_PER_S = 50
DROP_LOG_EVERY_S = 1.0  # while a device's audio is dropped, `audio_dropped` is logged at most this often


class ControlRate:
    """One link's count of messages that are not audio, over the last second (audio has its own
    bound, the session's queue). `count` raises `DeviceFloodingError` past `limit`."""

    def __init__(self, what: str, hint: str, limit: int = MAX_CONTROL_PER_S) -> None:
        self.what, self.hint, self.limit = what, hint, limit
        self._times: list[float] = []

    def count(self) -> None:
        now = time.monotonic()
        self._times = [t for t in self._times if now - t < 1.0]
        self._times.append(now)
        if len(self._times) > self.limit:
            raise DeviceFloodingError(
                f"{self.what} sent over {self.limit} control messages in a second", self.hint
            )


# -- what a session sends to its device (the adapter turns these into protocol events) -------------
@dataclass(frozen=True)
class SayTranscript:
    text: str
    language: str


@dataclass(frozen=True)
class SayReplyText:
    text: str


@dataclass(frozen=True)
class AudioOpen:
    rate: int


@dataclass(frozen=True)
class AudioData:
    pcm: bytes  # 16-bit mono little-endian at the rate of the AudioOpen before it
    rate: int


@dataclass(frozen=True)
class AudioClose:
    pass


@dataclass(frozen=True)
class TimerNote:
    """A timer of this device's started, was updated (paused, resumed, time added), was cancelled,
    or finished (rings now)."""

    event: str  # started | updated | cancelled | finished
    id: str
    seconds: int = 0  # started: its length; updated: the seconds left
    name: str = ""
    active: bool = True  # updated: False while paused


Outgoing = SayTranscript | SayReplyText | AudioOpen | AudioData | AudioClose | TimerNote


class StreamSource:
    """A device's microphone as Twin's FrameSource: PCM pushed by the wire side, cut into the VAD's
    512-sample frames, stamped with their arrival time (a live, real-time source)."""

    def __init__(self) -> None:
        self._q: asyncio.Queue[InputFrame | None] = asyncio.Queue()
        self._rest = np.zeros(0, np.float32)
        self._frames = 0
        self.dropped = 0
        self.closed = False

    def push(self, pcm: bytes, arrival_t: float | None = None) -> None:
        if self.closed:
            return
        arrival_t = time.monotonic() if arrival_t is None else arrival_t
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], "<i2").astype(np.float32) / 32768.0
        buf = np.concatenate([self._rest, samples])
        n = len(buf) // FRAME
        for i in range(n):
            frame = buf[i * FRAME : (i + 1) * FRAME]
            position = self._frames * FRAME / SAMPLE_RATE
            self._frames += 1
            if self._q.qsize() * FRAME / SAMPLE_RATE > MAX_QUEUED_S:
                self.dropped += 1  # the hub is behind: drop, never grow without bound
                continue
            self._q.put_nowait(InputFrame(frame, position, arrival_t))
        self._rest = buf[n * FRAME :]

    def end_utterance(self, arrival_t: float | None = None) -> None:
        """The device says the user is done (push-to-talk released, a satellite's `audio-stop`): the
        audio not yet a whole frame goes out as the last frame (filled up with zeros: at most one
        32 ms frame, no silence window), marked so the front end ends the open utterance at it."""
        if self.closed:
            return
        frame = np.zeros(FRAME, np.float32)
        frame[: len(self._rest)] = self._rest
        self._rest = np.zeros(0, np.float32)
        position = self._frames * FRAME / SAMPLE_RATE
        self._frames += 1
        arrival_t = time.monotonic() if arrival_t is None else arrival_t
        self._q.put_nowait(InputFrame(frame, position, arrival_t, ends_utterance=True))

    @property
    def frames_in(self) -> int:
        """The frames this source has given the front end (or dropped): the device's audio cut into
        512-sample frames, plus one per `end_utterance`."""
        return self._frames

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._q.put_nowait(None)

    async def frames_iter(self) -> AsyncIterator[InputFrame]:
        while (frame := await self._q.get()) is not None:
            yield frame


class DeviceSink:
    """Twin's Sink for a device: reply audio goes to the outbox as 16-bit PCM, as it is produced."""

    def __init__(self, send: Callable[[Outgoing], None]) -> None:
        self._send = send
        self.sample_rate = 0
        self.played_samples = 0
        self.open = False

    def begin(self, sample_rate: int) -> None:
        if self.open:
            self._send(AudioClose())
        self.sample_rate = sample_rate
        self.played_samples = 0
        self.open = True
        self._send(AudioOpen(sample_rate))

    async def write(self, samples: np.ndarray) -> None:
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        step = 2 * 1024  # 1024 samples a chunk, as Home Assistant sends them
        for i in range(0, len(pcm), step):
            self._send(AudioData(pcm[i : i + step], self.sample_rate))
        self.played_samples += len(samples)

    def interrupt(self) -> None:
        self.close()

    def close(self) -> None:
        if self.open:
            self.open = False
            self._send(AudioClose())


class TurnWatch(EventQueue):
    """An observer that also notes each turn's task: a turn emits its events from its own task, so
    the session can cancel the turns under way when its device goes away (the live loop's own
    cancellation does not reach turns it already started).

    (Who may hear a turn, for the permission layer, is the session's own: `Twin._run` sets
    `TURN_COMPANY` from the device's profile and the voices the turn heard.)"""

    def __init__(self) -> None:
        super().__init__()
        self.turns: set[asyncio.Task[Any]] = set()

    def put(self, event: Event) -> None:
        if isinstance(event, TurnStarted):
            task = asyncio.current_task()
            if task is not None:
                self.turns = {t for t in self.turns if not t.done()} | {task}
        super().put(event)

    def turns_running(self) -> list[asyncio.Task[Any]]:
        return [t for t in self.turns if not t.done()]

    def cancel_turns(self) -> list[asyncio.Task[Any]]:
        live = [t for t in self.turns if not t.done()]
        for t in live:
            t.cancel()
        return live


@dataclass
class SessionStats:
    turns: int = 0
    failed: int = 0
    started: float = field(default_factory=time.monotonic)
    last_turn: dict[str, Any] = field(default_factory=dict)
    results: list[TurnResult] = field(default_factory=list)


class DeviceSession:
    """One device's Twin and its streams. `feed` takes the microphone; `outbox` holds what to send."""

    def __init__(self, hub: Hub, device: Device, twin: Twin) -> None:
        self.hub = hub
        self.device = device
        self.twin = twin
        self.source = StreamSource()
        self.outbox: asyncio.Queue[Outgoing] = asyncio.Queue()
        self.sink = DeviceSink(self.outbox.put_nowait)
        self.stats = SessionStats()
        self.state = "idle"
        self._task: asyncio.Task[Any] | None = None
        self._observer: asyncio.Task[None] | None = None
        self._events = TurnWatch()
        self.in_turn = False  # heard words, reply not finished
        self.played = asyncio.Event()  # the device said it played what it was sent (`played`)
        self._drop_logged_at = -DROP_LOG_EVERY_S

    # -- the microphone -----------------------------------------------------------------------------
    def feed(self, pcm: bytes, rate: int, width: int, channels: int) -> None:
        """One chunk of the device's microphone. Another format than 16 kHz 16-bit mono is a typed
        error: the session is closed rather than Twin hearing noise."""
        if (rate, width, channels) != (MIC_RATE, MIC_WIDTH, MIC_CHANNELS):
            raise AudioFormatError(
                f"device {self.device.name} sent audio at {rate} Hz, {8 * width}-bit, {channels} channel(s)",
                "set the satellite's microphone to 16000 Hz, 16-bit, mono (--mic-command-rate 16000 "
                "--mic-command-width 2 --mic-command-channels 1)",
            )
        self.push_audio(pcm)

    def push_audio(self, pcm: bytes) -> None:
        """Microphone PCM into the session's bounded queue. A device that sends faster than the hub
        hears (far faster than real time, a flood) has the overflow dropped and counted, and the
        drops are logged as they happen (`audio_dropped`, at most once a second), not only when the
        session closes."""
        before = self.source.dropped
        self.source.push(pcm)
        if self.source.dropped != before:
            now = time.monotonic()
            if now - self._drop_logged_at >= DROP_LOG_EVERY_S:
                self._drop_logged_at = now
                self.hub.log.event(
                    "audio_dropped",
                    "warning",
                    device=self.device.name,
                    frames_dropped=self.source.dropped,
                    seconds_dropped=round(self.source.dropped * FRAME / SAMPLE_RATE, 1),
                    queued_s=MAX_QUEUED_S,
                )

    # -- announcements ----------------------------------------------------------------------------------
    def idle(self) -> bool:
        """No turn under way (heard words or a reply being made), nobody speaking, and no
        announcement playing."""
        fe = self.twin.front_end
        busy = self.in_turn or bool(self._events.turns_running()) or fe.alert_playing or fe.hearing
        return not busy and not self.twin.asker.waiter.waiting

    def barge_in(self) -> int:
        """The user took the floor on the device (push-to-talk pressed while Twin answers): the
        reply under way is interrupted as a spoken barge-in would (its audio stops, the turn ends
        `interrupted`), so the next words are heard. A ring or an announcement is not cut. Returns
        how many turns were interrupted."""
        if not self.in_turn:
            return 0
        running = self._events.turns_running()
        for task in running:
            self.twin.interrupt(task, self.sink)
        return len(running)

    def device_played(self) -> None:
        """The device reports that it has played what it was sent (a satellite's Wyoming `played`,
        the page's `played`)."""
        self.played.set()

    async def ring(self, text: str, note: TimerNote | None = None) -> bool:
        """Say `text` on this device (a timer's ring, an announcement) once no turn is under way: as
        reply audio, like an answer. Then, as Home Assistant does for an announcement, wait until
        the device says `played`, or for the audio's length and half a second (a satellite that
        never says it). False when the session closed before that (the caller keeps the item due
        and rings it elsewhere)."""
        while self.state == "listening" and not self.idle():
            await asyncio.sleep(0.1)
        if self.state != "listening":
            return False
        self.played.clear()
        if note is not None:
            self.outbox.put_nowait(note)
            self.hub.log.event("timer_told", device=self.device.name, note=note.event, id=note.id)
        fe = self.twin.front_end
        fe.alert_playing = True  # the live loop's own flag for its announcements: no barge-in on it
        try:
            result = await self.twin.announce(text, self.sink)
        finally:
            fe.alert_playing = False
        self.sink.close()
        self._on_turn(result)
        sent_s = self.sink.played_samples / self.sink.sample_rate if self.sink.sample_rate else 0.0
        if result.status == "completed" and sent_s:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + sent_s + PLAYED_GRACE_S
            while self.state == "listening" and not self.played.is_set() and loop.time() < deadline:
                await asyncio.sleep(0.05)
        return result.status == "completed" and self.state == "listening"

    # -- running --------------------------------------------------------------------------------------
    def start(self) -> None:
        self.state = "listening"
        self.twin.observers.append(self._events)
        self._observer = asyncio.create_task(self._observe())
        self._task = asyncio.create_task(self._live())

    async def _live(self) -> None:
        log = self.hub.log
        try:
            await self.twin.live(self.source, self.sink, self._on_turn, on_error=self._on_error)
        except Exception as exc:  # the loop itself failed: this device only
            log.error("session_failed", exc, device=self.device.name)
        finally:
            self.sink.close()

    def _on_turn(self, result: TurnResult) -> None:
        try:
            self._record_turn(result)
        except Exception as exc:  # a bug in the record must not stop the device's loop
            self.hub.log.error("turn_record_failed", exc, device=self.device.name)

    def _record_turn(self, result: TurnResult) -> None:
        self.sink.close()
        self.in_turn = False
        self.stats.turns += 1
        t = result.timings_ms
        self.stats.last_turn = {"turn": result.turn_id, "status": result.status, "timings_ms": t}
        self.stats.results.append(result)
        del self.stats.results[:-50]
        self.hub.log.event(
            "turn",
            device=self.device.name,
            profile=self.device.profile,
            turn=result.turn_id,
            mode=result.mode,
            status=result.status,
            transcript=result.transcript,
            reply=result.heard,
            voice_to_voice_ms=t.get("voice_to_voice"),
            timings_ms=t,
        )

    def _on_error(self, exc: BaseException) -> None:
        self.sink.close()
        self.in_turn = False
        self.stats.failed += 1
        self.hub.log.error("turn_failed", exc, device=self.device.name)

    async def _observe(self) -> None:
        while True:
            event = await self._events.get()
            if isinstance(event, TranscriptReady):
                self.hub.log.event("transcript", device=self.device.name, turn=event.turn_id, text=event.text)
                if event.text:
                    self.in_turn = True
                    self.outbox.put_nowait(SayTranscript(event.text, event.language))
            elif isinstance(event, ReplyTextStop) and event.text:
                self.outbox.put_nowait(SayReplyText(event.text))
            elif isinstance(event, TurnEnded):
                self.sink.close()

    async def _abort_turns(self) -> None:
        aborted = self._events.cancel_turns()
        if aborted:
            await asyncio.wait(aborted, timeout=5.0)
            self.hub.log.event("turns_aborted", "warning", device=self.device.name, turns=len(aborted))

    async def close(self, reason: str, graceful: bool, error: BaseException | None = None) -> None:
        """Stop taking audio. `graceful`: the turn under way finishes (within the grace) and its
        memory is written; otherwise it is cancelled now. Either way what was stored stays stored."""
        if self.state in ("closing", "closed"):
            return  # another path is closing it (revocation, a fault, the hub stopping)
        self.state = "closing"
        self.source.close()
        if not graceful:
            await self._abort_turns()
        if self._task is not None:
            if not graceful:
                self._task.cancel()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), SHUTDOWN_GRACE_S if graceful else 5.0)
            except (TimeoutError, asyncio.CancelledError):
                await self._abort_turns()
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task
        if self._observer is not None:
            self._observer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._observer
        with contextlib.suppress(ValueError):
            self.twin.observers.remove(self._events)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.twin.flush_memory, 10.0)
        self.state = "closed"
        fields: dict[str, Any] = {"device": self.device.name, "reason": reason, "turns": self.stats.turns}
        if self.source.dropped:
            fields["frames_dropped"] = self.source.dropped
        if error is not None:
            self.hub.log.error("session_closed", error, **fields)
        else:
            self.hub.log.event("session_closed", **fields)
