"""One turn: its events, what was said and heard, and the stage timings read from the event log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from pipeline.events import (
    AsrStarted,
    Event,
    EventQueue,
    LlmRequested,
    ReplyAudioChunk,
    ReplyTextChunk,
    ReplyTextStop,
    SentenceReady,
    SpeechEnded,
    TranscriptReady,
)


@dataclass
class TurnRecorder:
    """A turn's event log: every event it emits, delivered to the observers as it happens."""

    turn_id: int
    mode: str  # voice | text | alert
    observers: list[EventQueue] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def emit(self, cls: type[Event], **kwargs: Any) -> Event:
        event = cls(turn_id=self.turn_id, **kwargs)
        self.events.append(event)
        for q in self.observers:
            q.put(event)
        return event

    def first(self, cls: type[Event]) -> Any:
        return next((e for e in self.events if isinstance(e, cls)), None)


@dataclass
class TurnResult:
    turn_id: int
    mode: str
    status: str
    transcript: str
    language: str
    reply: str  # everything generated, in spoken form
    heard: str  # what the user actually heard (differs when interrupted)
    audio: np.ndarray
    sample_rate: int
    events: list[Event]
    notice: str = ""
    audio_path: str = ""

    @property
    def timings_ms(self) -> dict[str, float | None]:
        return stage_timings(self.events)


def trace_record(result: TurnResult, extra: dict | None = None) -> dict[str, Any]:
    """What `twin trace` shows of one turn: its words, reply, stage timings and every event."""
    events = result.events
    return {
        "turn_id": result.turn_id,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": result.mode,
        "status": result.status,
        "heard_from_user": result.transcript,
        "reply": result.reply,
        "timings_ms": result.timings_ms | (extra or {}),
        "events": [
            e.to_record() | {"t_ms": round((e.t - events[0].t) * 1000, 1)}
            for e in sorted(events, key=lambda e: e.t)
        ],
    }


def _ms(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round((b - a) * 1000, 1)


def stage_timings(events: list[Event]) -> dict[str, float | None]:
    def first(cls: type[Event]) -> Any:
        return next((e for e in events if isinstance(e, cls)), None)

    end = first(SpeechEnded)
    asr = first(AsrStarted)
    transcript = first(TranscriptReady)
    llm = first(LlmRequested)
    token = first(ReplyTextChunk)
    stop = first(ReplyTextStop)
    sentence = first(SentenceReady)
    audio = first(ReplyAudioChunk)
    t = lambda e: e.t if e is not None else None  # noqa: E731
    return {
        "vad": _ms(end.speech_end_t, end.t) if end else None,  # endpointing delay after speech
        "asr": _ms(t(asr), t(transcript)),
        "llm_first_token": _ms(t(llm), t(token)),
        "llm_total": _ms(t(llm), t(stop)),
        "tts_first_audio": _ms(t(sentence), t(audio)),
        "voice_to_voice": _ms(end.speech_end_t, t(audio)) if end else None,
    }
