"""Every event in Twin, as frozen dataclasses with a monotonic timestamp and a delivery class: the
contract between stages. The front end turns audio frames (AudioFrame, with the VAD's speech
probability) into SpeechStarted / SpeechPaused / SpeechResumed / Utterance; a turn emits the rest.

- system events (interrupt) jump queues;
- data events (audio, transcripts, reply text and audio) are ordered and dropped on interruption;
- control events (turn start/end, speech start/end) are ordered and never dropped.
Streams are start/chunk/stop triplets. Per-stage latency is read from these timestamps.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from enum import Enum
from typing import Any, ClassVar

import numpy as np

from voice.audio import AudioClip


class Delivery(Enum):
    SYSTEM = "system"
    DATA = "data"
    CONTROL = "control"


def now() -> float:
    return time.monotonic()


@dataclass(frozen=True, kw_only=True)
class Event:
    delivery: ClassVar[Delivery] = Delivery.CONTROL
    turn_id: int = 0
    t: float = field(default_factory=now)

    def to_record(self) -> dict[str, Any]:
        """A JSON-safe view for traces: arrays are summarised, not stored."""
        out: dict[str, Any] = {"event": type(self).__name__}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, AudioClip):
                value = value.samples
            if isinstance(value, np.ndarray):
                out[f.name + "_samples"] = int(value.shape[-1])
            elif is_dataclass(value) and not isinstance(value, type):
                out[f.name] = {
                    k: v for k, v in asdict(value).items() if isinstance(v, str | int | float | bool)
                }
            elif isinstance(value, str | int | float | bool) or value is None:
                out[f.name] = value
            else:
                out[f.name] = repr(value)
        return out


# -- system ----------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Interrupt(Event):
    """The user barged in: stop speaking now, drop queued reply data."""

    delivery: ClassVar[Delivery] = Delivery.SYSTEM
    reason: str = "barge-in"


# -- control ---------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class SpeechStarted(Event):
    """The endpointer heard the user start (a barge-in while Twin speaks)."""

    position: float  # seconds into the input stream


@dataclass(frozen=True, kw_only=True)
class SpeechPaused(Event):
    """A short silence inside an utterance: the end may be near. `audio` is what the utterance will
    hold if the user says nothing more (`voiced` identifies that version), so a turn can start now."""

    audio: AudioClip
    voiced: int


@dataclass(frozen=True, kw_only=True)
class SpeechResumed(Event):
    """Speech went on after a pause: anything started on the pause's audio is stale."""

    position: float


@dataclass(frozen=True, kw_only=True)
class Utterance(Event):
    """One finished user utterance, the endpointer's output. `speech_end_t` is when the speech truly
    ended, `endpoint_t` when the endpoint was decided (both monotonic): their gap is the wait."""

    audio: AudioClip
    start: float  # seconds into the stream
    end: float  # true end of speech
    speech_end_t: float
    endpoint_t: float
    voiced: int = 0  # voiced frames; equal to a SpeechPaused's when nothing was said after it


@dataclass(frozen=True, kw_only=True)
class SpeechEnded(Event):
    """Endpoint decided. `speech_end_t` is when the user's speech truly ended (monotonic clock)."""

    position: float
    speech_end_t: float
    duration: float


@dataclass(frozen=True, kw_only=True)
class TurnStarted(Event):
    mode: str = "voice"  # voice | text


@dataclass(frozen=True, kw_only=True)
class TurnEnded(Event):
    status: str = "completed"  # completed | interrupted | cancelled | failed | no_speech
    detail: str = ""


# -- data ------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class AudioFrame(Event):
    """One frame of input, with the VAD's speech probability. `arrival_t` is when it arrived (live);
    None when fed faster than real time (files): the speech end is then back-computed."""

    delivery: ClassVar[Delivery] = Delivery.DATA
    samples: np.ndarray
    position: float
    speech_prob: float = 0.0
    arrival_t: float | None = None


@dataclass(frozen=True, kw_only=True)
class AsrStarted(Event):
    delivery: ClassVar[Delivery] = Delivery.DATA
    audio_seconds: float


@dataclass(frozen=True, kw_only=True)
class TranscriptReady(Event):
    delivery: ClassVar[Delivery] = Delivery.DATA
    text: str
    language: str
    speaker: str | None = None  # the enrolled name; None when unknown (see VoiceHeard)
    # what the ASR first wrote, when a second hearing respelled one word of a command
    # (pipeline/runtime/rehearing.py), and how much less likely the audio found the respelling
    reheard_from: str | None = None
    reheard_below: float | None = None


@dataclass(frozen=True, kw_only=True)
class PartialTranscript(Event):
    """The words of the open utterance so far, re-decoded while the user speaks (pipeline/runtime/
    partials.py); turn_id 0: no turn exists yet. `at_pause`: decoded after the utterance's last
    speech frame, so it holds every word said before this silence."""

    delivery: ClassVar[Delivery] = Delivery.DATA
    text: str
    language: str
    position: float  # stream time of the last frame decoded
    audio_s: float
    voiced: int
    at_pause: bool
    decode_ms: float


@dataclass(frozen=True, kw_only=True)
class VoiceHeard(Event):
    """Who spoke and how they sound, from the voice beside ASR: the turn's style follows from it."""

    delivery: ClassVar[Delivery] = Delivery.DATA
    speaker: str | None  # enrolled name, or None
    guest: bool  # voices are enrolled and this is none of them
    emotion: str
    confidence: float
    voices: int  # voices heard lately (the car: others may be listening)


@dataclass(frozen=True, kw_only=True)
class LlmRequested(Event):
    delivery: ClassVar[Delivery] = Delivery.DATA
    backend: str
    prompt_messages: int


@dataclass(frozen=True, kw_only=True)
class ReplyTextStart(Event):
    delivery: ClassVar[Delivery] = Delivery.DATA


@dataclass(frozen=True, kw_only=True)
class ReplyTextChunk(Event):
    delivery: ClassVar[Delivery] = Delivery.DATA
    text: str


@dataclass(frozen=True, kw_only=True)
class ReplyTextStop(Event):
    delivery: ClassVar[Delivery] = Delivery.DATA
    text: str
    tokens: int = 0


@dataclass(frozen=True, kw_only=True)
class SentenceReady(Event):
    delivery: ClassVar[Delivery] = Delivery.DATA
    text: str
    index: int


@dataclass(frozen=True, kw_only=True)
class ReplyAudioStart(Event):
    delivery: ClassVar[Delivery] = Delivery.DATA
    sample_rate: int


@dataclass(frozen=True, kw_only=True)
class ReplyAudioChunk(Event):
    delivery: ClassVar[Delivery] = Delivery.DATA
    samples: np.ndarray
    sentence: str
    index: int


@dataclass(frozen=True, kw_only=True)
class ReplyAudioStop(Event):
    delivery: ClassVar[Delivery] = Delivery.DATA


@dataclass(frozen=True, kw_only=True)
class Notice(Event):
    """Something the user should be told besides the reply (e.g. no voice for this language)."""

    delivery: ClassVar[Delivery] = Delivery.DATA
    code: str
    message: str


class EventQueue:
    """An async queue with the three delivery classes: system events first; an Interrupt drops the
    queued data events of its turn (control events stay, in order)."""

    def __init__(self) -> None:
        self._system: deque[Event] = deque()
        self._ordered: deque[Event] = deque()
        self._ready = asyncio.Event()
        self.dropped = 0

    def put(self, event: Event) -> None:
        if event.delivery is Delivery.SYSTEM:
            self._system.append(event)
            if isinstance(event, Interrupt):
                before = len(self._ordered)
                self._ordered = deque(
                    e
                    for e in self._ordered
                    if not (e.delivery is Delivery.DATA and e.turn_id == event.turn_id)
                )
                self.dropped += before - len(self._ordered)
        else:
            self._ordered.append(event)
        self._ready.set()

    async def get(self) -> Event:
        while not (self._system or self._ordered):
            self._ready.clear()
            await self._ready.wait()
        return self._system.popleft() if self._system else self._ordered.popleft()

    def __len__(self) -> int:
        return len(self._system) + len(self._ordered)
