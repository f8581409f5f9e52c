"""Streaming partial transcripts: the words of the open utterance while the user is still speaking.

No streaming ASR model ships here, so the growing buffer is re-decoded by the one ASR model
(faster-whisper tiny.en through `voice/asr.py`) on its own worker: never a second model, never more
than one decode in flight (a decode due while one runs is skipped, and the next frame asks again).

- **Cadence:** while the user speaks, every `every_ms` of new speech.
- **Edge:** after `edge_ms` of silence that follows new speech, everything so far. If this silence
  becomes the pause that ends the turn, its words are then known ~130 ms before the pause itself is
  noticed (160 ms), and before the speculative turn starts speaker ID, recall and the model.
- **Cap:** an utterance longer than `max_s` gets no more partials (re-decoding it all would cost
  more than it gives); its turn transcribes it as before.

A partial decoded after the last speech frame of a pause covers every word said before that
pause (`at_pause`; `covering`). It feeds:

- the end-of-turn verdict (`PauseJudge.expect(..., early)`, pipeline/runtime/turn_end.py): P(end)
  is scored on those words at once, instead of after the speculative turn's own ASR and speaker
  ID, so the verdict lands inside the endpointer's window;
- with `reuse`, the speculative turn's transcript (`after`): the words are decoded once, and the
  turn's intent (fast path, tool routing, memory recall) and the model start that much earlier.

Recordings fed faster than real time wait for each decode (`hear` returns it to be awaited), so
`twin live --input FILE --json` shows the same partials on every run. Each partial is a
`PartialTranscript` event to the session's observers and an entry in the front end's `partials`.
Config `[partials]` (pipeline/config.py, `PartialsConfig`); `enabled = false` turns it all off.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from pipeline.events import PartialTranscript
from pipeline.runtime.endpointing import Endpointer
from pipeline.runtime.prefill import PromptPrefill
from voice.audio import SAMPLE_RATE
from voice.capabilities import Transcript

if TYPE_CHECKING:
    from pipeline.config import PartialsConfig
    from pipeline.runtime.session import Twin

T = TypeVar("T")


@dataclass(frozen=True)
class Partial:
    """One re-decode of the open utterance."""

    serial: int  # the endpointer's utterance
    voiced: int  # speech frames the decoded audio holds
    silence: int  # silent frames at its end (0: decoded mid-speech)
    transcript: Transcript
    position: float  # stream time of its last frame
    audio_s: float
    decode_ms: float

    @property
    def text(self) -> str:
        return self.transcript.text


class PartialTranscriber:
    """Re-decodes the endpointer's open utterance at a bounded cadence (see the module's text)."""

    def __init__(
        self,
        transcribe: Callable[[np.ndarray], Transcript],
        pool: Executor,
        every_ms: int = 600,
        edge_ms: int = 32,
        max_s: float = 12.0,
        pause_frames: int = 5,
        on_partial: Callable[[Partial], None] | None = None,
    ) -> None:
        self.transcribe = transcribe
        self.pool = pool
        self.every_frames = Endpointer.frames_for(every_ms)
        self.edge_frames = Endpointer.frames_for(edge_ms)
        self.max_samples = int(max_s * SAMPLE_RATE)
        self.pause_frames = pause_frames  # a pause always gets a partial with all of its words
        # a short gap mid-phrase starts an edge decode only after this much new speech
        self.edge_min_frames = Endpointer.frames_for(200)
        self.on_partial = on_partial
        self.latest: Partial | None = None
        self.decodes = 0
        self._serial = -1
        self._started = 0  # voiced frames of the current utterance the last decode held
        self._inflight: asyncio.Future[Partial | None] | None = None
        self._inflight_key: tuple[int, int, int] | None = None  # (serial, voiced, silence)

    def hear(self, ep: Endpointer) -> asyncio.Future[Partial | None] | None:
        """After each frame the endpointer took: start a decode when one is due and none is in
        flight. Returns the decode started (a caller feeding a recording faster than real time awaits
        it), else None."""
        if not ep.in_speech:
            return None
        if ep.serial != self._serial:
            self._serial, self._started = ep.serial, 0
        if self._inflight is not None and not self._inflight.done():
            return None
        new = ep.voiced - self._started
        if new <= 0:
            return None
        silence = ep.silence
        if silence == 0:
            due = new >= self.every_frames
        else:
            # A silence's first frame starts an edge decode only after enough new speech (a short gap
            # between words is no pause); from the next frame on, any new speech does. The last
            # decode missed those words (it began before they were said, and may have run into the
            # silence): their decode must not wait for the pause to be noticed (160 ms), which, with
            # the decode's own ~150 ms, held a third of the home commands' answers ~100 ms later.
            due = silence >= self.edge_frames and (
                new >= self.edge_min_frames or silence >= min(self.edge_frames + 1, self.pause_frames)
            )
        if not due:
            return None
        samples = ep.heard_so_far()
        if len(samples) > self.max_samples or not len(samples):
            return None
        self._started = ep.voiced
        key = (ep.serial, ep.voiced, silence)
        self._inflight_key = key
        self._inflight = asyncio.ensure_future(self._decode(samples, key, ep.position))
        self.decodes += 1
        return self._inflight

    async def _decode(
        self, samples: np.ndarray, key: tuple[int, int, int], position: float
    ) -> Partial | None:
        t0 = time.monotonic()
        try:
            tr = await asyncio.get_running_loop().run_in_executor(self.pool, self.transcribe, samples)
        except Exception:  # noqa: BLE001 - a partial is a hint: the turn transcribes on its own
            return None
        serial, voiced, silence = key
        partial = Partial(
            serial,
            voiced,
            silence,
            tr,
            position,
            round(len(samples) / SAMPLE_RATE, 3),
            round((time.monotonic() - t0) * 1000, 1),
        )
        self.latest = partial
        if self.on_partial is not None:
            self.on_partial(partial)
        return partial

    def covering(self, voiced: int) -> Awaitable[Transcript | None] | None:
        """The words of the current utterance's pause after `voiced` speech frames, from a partial
        decoded after its last speech frame: done, or still in flight (awaitable either way; None
        from it when the decode failed). None when no such partial exists or is coming."""
        latest = self.latest
        if latest is not None and (latest.serial, latest.voiced) == (self._serial, voiced) and latest.silence:
            return _done(latest.transcript)
        key, inflight = self._inflight_key, self._inflight
        if inflight is not None and key is not None and key[:2] == (self._serial, voiced) and key[2]:
            return _words(inflight)
        return None


async def _done(tr: Transcript) -> Transcript | None:
    return tr


async def _words(inflight: asyncio.Future[Partial | None]) -> Transcript | None:
    partial = await asyncio.shield(inflight)  # a cancelled turn leaves the decode to others awaiting it
    return partial.transcript if partial is not None else None


def after_partial(
    early: Awaitable[Transcript | None], make: Callable[[Transcript | None], Awaitable[T]]
) -> Awaitable[T]:
    """`make(words)` once the pause's partial has its words (the turn then skips its own ASR);
    `make(None)` when the decode failed, so the turn transcribes as before. A shared decode."""
    shared = asyncio.ensure_future(early)

    async def run() -> T:
        tr = None
        with contextlib.suppress(Exception):
            tr = await asyncio.shield(shared)
        return await make(tr)

    return run()


def share(early: Awaitable[Transcript | None] | None) -> asyncio.Future[Transcript | None] | None:
    """One future for the words of a pause, awaited by both the verdict and the turn."""
    return None if early is None else asyncio.ensure_future(early)


def attach(
    twin: Twin, ep: Endpointer, heard_log: list[dict] | None = None, quiet: bool = False
) -> PartialTranscriber | None:
    """Partials for one live run of `twin` (config `[partials]`), or None when off. Each one is a
    `PartialTranscript` event to the session's observers and an entry in `heard_log` (the front
    end's `partials`, in `twin live --input FILE --json`). With `quiet` (the spoken-name wake: an
    utterance may not be addressed to Twin, and nothing of one that is not may be kept) neither:
    the words still feed the verdict and the turn, which drops them if the name is missing."""
    cfg: PartialsConfig = twin.cfg.partials
    if not cfg.enabled or twin.naive:
        return None
    a = twin.cfg.asr
    asr = twin.c.asr
    prefill = PromptPrefill(twin, twin.c.pools.llm, twin.c.llm) if cfg.prefill else None

    def transcribe(samples: np.ndarray) -> Transcript:
        # the wake name leads the prompt while this session's loop listens for it
        return asr.transcribe(samples, a.language, a.vad_filter, lead=twin.asr_lead)

    def heard(p: Partial) -> None:
        if quiet:
            return
        event = PartialTranscript(
            text=p.text,
            language=p.transcript.language,
            position=p.position,
            audio_s=p.audio_s,
            voiced=p.voiced,
            at_pause=p.silence > 0,
            decode_ms=p.decode_ms,
        )
        for q in list(twin.observers):
            q.put(event)  # the end-of-turn judge's score is queued on the model's thread first
        # mid-speech only: a pause's own words are read by the turn's prompt, in the same evaluation
        # as the reply's header, right behind the judge's score on the model's thread
        read = prefill is not None and not p.silence and prefill.offer(p.text, p.transcript.language)
        if heard_log is not None:
            heard_log.append(
                {
                    "position_s": round(p.position, 3),
                    "text": p.text,
                    "at_pause": p.silence > 0,
                    "audio_s": p.audio_s,
                    "decode_ms": p.decode_ms,
                    "prefill": read,
                }
            )

    return PartialTranscriber(
        transcribe,
        twin.c.pools.asr,
        cfg.every_ms,
        cfg.edge_ms,
        cfg.max_s,
        ep.pause_frames,
        heard,
    )
