"""The always-on front end: frames -> VAD -> endpointing -> turns, with barge-in, spoken answers to
Twin's own questions, and the clock that rings timers.

One task per turn. At a pause the turn starts speculatively (ASR and the reply run ahead while the
endpoint's silence runs); if the user speaks on, that turn is cancelled and leaves no trace.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Protocol

from devices.sources import InputFrame
from pipeline.events import AudioFrame, SpeechPaused, SpeechResumed, SpeechStarted, Utterance
from pipeline.runtime.asking import wait_turn_or_question
from pipeline.runtime.clock import ring_due
from pipeline.runtime.endpointing import Endpoint, Endpointer
from pipeline.runtime.reply_voice import Sink
from pipeline.runtime.turn import TurnResult
from voice.audio import AudioClip

if TYPE_CHECKING:
    from pipeline.runtime.session import Twin


class FrameSource(Protocol):
    def frames_iter(self) -> AsyncIterator[InputFrame]: ...


class FrontEnd:
    def __init__(self, twin: Twin) -> None:
        self.twin = twin
        self.alert_playing = False

    async def run(
        self,
        source: FrameSource,
        sink: Sink,
        on_turn: Callable[[TurnResult], None] | None = None,
        max_turns: int | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> list[TurnResult]:
        """A turn that fails is reported through `on_error` and the loop keeps listening.
        Announcements (a timer's ring) reach `on_turn` with mode "alert" and are not counted."""
        twin = self.twin
        loop = asyncio.get_running_loop()
        vad = twin.c.vad
        vad.reset()
        ep = Endpointer(twin.profile.endpoint_silence_ms)
        current: asyncio.Task[TurnResult] | None = None
        speculative: tuple[int, asyncio.Task[TurnResult], Endpoint] | None = None
        results: list[TurnResult] = []
        pending: list[asyncio.Task[TurnResult]] = []

        def done(task: asyncio.Task[TurnResult]) -> None:
            if task.cancelled():
                result = getattr(task, "turn_result", None)  # set by the turn as it was interrupted
            elif (error := task.exception()) is not None:
                result = None
                if on_error is not None:
                    on_error(error)  # without a handler, the await at the end raises it
            else:
                result = task.result()
            if result is not None:
                results.append(result)
                if on_turn:
                    on_turn(result)

        def start(audio: AudioClip, endpoint: Endpoint) -> asyncio.Task[TurnResult]:
            task = asyncio.create_task(twin.voice_turn(audio, endpoint, sink))
            task.add_done_callback(done)
            pending.append(task)
            return task

        def discard() -> None:
            nonlocal speculative
            if speculative is not None:
                speculative[1].cancel()
                speculative = None

        def idle() -> bool:
            busy = current is not None and not current.done()
            return not (busy or ep.in_speech or asking.waiting)

        async def alert(text: str) -> None:
            self.alert_playing = True
            try:
                result = await twin.announce(text, sink)
            finally:
                self.alert_playing = False
            if on_turn:
                on_turn(result)

        twin.asker.start_live(sink)
        asking = twin.asker.waiter
        clock = None
        if twin.cfg.tools.enabled:
            clock = asyncio.create_task(ring_due(twin.tools.local.fire_due, twin.c.pools.memory, alert, idle))
        position = 0.0
        try:
            async for frame in source.frames_iter():
                position = frame.position
                prob = await loop.run_in_executor(twin.c.pools.vad, vad.frame_probability, frame.samples)
                heard = AudioFrame(
                    samples=frame.samples,
                    position=frame.position,
                    speech_prob=prob,
                    arrival_t=frame.arrival_t,
                )
                if asking.waiting:
                    # Twin asked and waits: the next whole utterance is the answer, not a new turn.
                    if asking.fresh:
                        asking.fresh = False
                        ep.reset()  # what was heard while Twin spoke the question is not the answer
                    out = ep.push(heard)
                    if isinstance(out, Utterance):
                        asking.answer(out.audio)
                        if frame.arrival_t is None and current is not None:
                            await wait_turn_or_question(current, asking)  # it may ask again
                    continue
                busy = current is not None and not current.done()
                if (busy and not twin.barge_in) or self.alert_playing:
                    ep.reset()  # half duplex: what the microphone hears while Twin speaks is not the user
                    continue
                out = ep.push(heard)
                if isinstance(out, SpeechStarted):
                    if busy:
                        twin.interrupt(current, sink)  # type: ignore[arg-type]
                elif isinstance(out, SpeechPaused) and not twin.naive and frame.arrival_t is not None:
                    # The user may be done: start the turn now, while the endpoint's silence runs.
                    discard()
                    pending_end = Endpoint()
                    speculative = (out.voiced, start(out.audio, pending_end), pending_end)
                elif isinstance(out, SpeechResumed):
                    discard()
                elif isinstance(out, Utterance):
                    if speculative is not None and speculative[0] == out.voiced:
                        current = speculative[1]
                        speculative[2].confirm(out)
                        speculative = None
                    else:
                        discard()
                        current = start(out.audio, Endpoint(out))
                    if frame.arrival_t is None:  # a recording fed faster than real time: one turn at a time
                        await wait_turn_or_question(current, asking)
                if max_turns is not None and len(results) >= max_turns:
                    break
            discard()
            tail = ep.flush(position)
            if tail is not None:
                if asking.waiting:
                    asking.answer(tail.audio)
                else:
                    start(tail.audio, Endpoint(tail))
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    if on_error is None:
                        await task
                    else:
                        await asyncio.wait([task])
        finally:
            twin.asker.stop_live()
            if clock is not None:
                clock.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await clock
        return results
