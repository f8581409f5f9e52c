"""The always-on front end: frames -> VAD -> endpointing -> turns, with barge-in, spoken answers to
Twin's own questions, and the clock that rings timers.

One task per turn. At a pause the turn starts speculatively (ASR and the reply run ahead while the
endpoint's silence runs); if the user speaks on, that turn is cancelled and leaves no trace.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

from devices.sources import InputFrame
from pipeline.events import AudioFrame, SpeechPaused, SpeechResumed, SpeechStarted, Utterance
from pipeline.runtime.asking import wait_turn_or_question
from pipeline.runtime.clock import ring_due
from pipeline.runtime.echo import EchoStage
from pipeline.runtime.endpointing import FRAME_S, Endpoint, Endpointer
from pipeline.runtime.hands_free import (
    AFTER_REPLY_S,
    ONSET_FRAMES,
    BargeInOnset,
    HandsFreeLog,
    WakeGate,
    is_stop,
    not_for_twin,
    too_quiet,
)
from pipeline.runtime.input_checks import CLIPPING_NOTICE, ClippingWatch
from pipeline.runtime.partials import after_partial, share
from pipeline.runtime.partials import attach as attach_partials
from pipeline.runtime.reply_voice import Sink
from pipeline.runtime.turn import TurnResult
from pipeline.runtime.turn_end import PauseJudge
from voice.audio import AudioClip, speech_level_db
from voice.capabilities import Transcript

if TYPE_CHECKING:
    from pipeline.runtime.session import Twin


async def _with_replays(
    frames: AsyncIterator[InputFrame], replay: deque[InputFrame]
) -> AsyncIterator[tuple[InputFrame, bool]]:
    """The source's frames, each with False; after each, the frames put in `replay` meanwhile, with
    True (heard again: they already went through the echo stage and the wake word)."""
    async for frame in frames:
        yield frame, False
        while replay:
            yield replay.popleft(), True


class FrameSource(Protocol):
    def frames_iter(self) -> AsyncIterator[InputFrame]: ...


class FrontEnd:
    def __init__(self, twin: Twin) -> None:
        self.twin = twin
        self.alert_playing = False
        self.hearing = False  # the user is speaking now (an utterance under way): no ring over them
        self.log = HandsFreeLog()  # the last run's wakes, barge-ins and their outcomes
        self.partials: list[dict] = []  # the last run's partial transcripts (pipeline/runtime/partials.py)

    async def run(
        self,
        source: FrameSource,
        sink: Sink,
        on_turn: Callable[[TurnResult], None] | None = None,
        max_turns: int | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        wake: WakeGate | None = None,
    ) -> list[TurnResult]:
        """A turn that fails is reported through `on_error` and the loop keeps listening.
        Announcements (a timer's ring) reach `on_turn` with mode "alert" and are not counted.
        With a `wake` gate, only what follows a wake is heard (pipeline/runtime/hands_free.py)."""
        twin = self.twin
        twin.keep_warm = True  # a conversation: between turns the model's cache follows the history
        log = self.log = wake.log if wake is not None else HandsFreeLog()
        stop_words = twin.cfg.wake.stop_words
        if wake is not None:
            wake.reset()
        overlap: float | None = None  # where the user began speaking over Twin's reply
        sounding = -1.0  # the last position at which a reply of Twin's was playing
        after_reply = False  # this utterance began in the room's echo tail of a reply just ended
        user_db: float | None = None  # the speech level of the last utterance taken as a turn
        onset_frames: deque[np.ndarray] = deque(maxlen=ONSET_FRAMES)  # what set the endpointer off
        free = False  # the utterance began with the gate open (no name needed)
        paced = False  # frames arrive in real time (a microphone, --realtime)
        loop = asyncio.get_running_loop()
        vad = twin.c.vad
        vad.reset()
        # Full duplex with a microphone that hears the loudspeaker: the echo stage removes what the
        # sink plays before the wake word, the VAD and barge-in hear it (pipeline/runtime/echo.py).
        # A recording (no echo of this run's replies in it) goes through unchanged.
        echo = None
        if twin.barge_in and getattr(source, "hears_playback", False):
            echo = EchoStage.listen_to(sink, twin.c.echo_canceller())
        ep = Endpointer(twin.profile.endpoint_silence_ms)
        # what the device itself says (a microphone lost and back, resampled, clipping): logged as a
        # `device` event, and passed on to whoever listened before (`twin live` prints it)
        told = getattr(source, "on_notice", None)

        def device_notice(code: str, message: str) -> None:
            log.add("device", ep.position, code=code, message=message)
            if told is not None:
                told(code, message)

        if hasattr(source, "on_notice"):
            source.on_notice = device_notice  # type: ignore[attr-defined]
        clipping = ClippingWatch()
        start_frames, barge = ep.start_frames, BargeInOnset()  # an utterance's start; a barge-in's
        # the semantic end of turn: each pause's window from its words (pipeline/runtime/turn_end.py)
        judge = PauseJudge.attach(twin, ep, log)
        # the words so far while the user speaks, for the verdict and the turn (pipeline/runtime/partials.py)
        self.partials = []
        partials = attach_partials(twin, ep, self.partials, quiet=wake is not None and wake.by_name)
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
                result = task.result()  # None: the spoken-name wake heard no name
            if result is not None:
                if wake is not None and result.status == "completed":
                    # input faster than real time: the reply was handed over at once, and the
                    # follow-up window opens when it would have finished playing
                    rate = result.sample_rate
                    wake.follow_up(0.0 if paced or not rate else len(result.audio) / rate)
                results.append(result)
                if on_turn:
                    on_turn(result)

        def start(
            audio: AudioClip,
            endpoint: Endpoint,
            tr: Transcript | None = None,
            over_playback: bool = False,
            early: asyncio.Future[Transcript | None] | None = None,
        ) -> asyncio.Task[TurnResult]:
            """`early`: the pause's partial transcript, the turn's words when it has them."""
            nonlocal user_db
            user_db = speech_level_db(audio.samples)
            named = wake is not None and wake.by_name and not free

            def make(words: Transcript | None):  # noqa: ANN202 - the turn's coroutine
                if named:
                    return self._named_turn(wake, audio, endpoint, sink, words, over_playback)  # type: ignore[arg-type]
                return twin.voice_turn(audio, endpoint, sink, transcript=words, over_playback=over_playback)

            turn = make(tr) if early is None or tr is not None else after_partial(early, make)
            task = asyncio.create_task(turn)  # type: ignore[arg-type]
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
            clock = asyncio.create_task(ring_due(twin.tools.fire_due, twin.c.pools.memory, alert, idle))
        position = 0.0
        replay: deque[InputFrame] = deque()  # frames to hear again, after a second look's wake
        asleep: deque[InputFrame] = deque(maxlen=32)  # the last frames only the wake word heard

        def asr_run(fn, *args):
            return loop.run_in_executor(twin.c.pools.asr, fn, *args)

        if wake is not None and wake.second is not None and wake.second.check is None:
            wake.second.check = twin.c.asr.phrase_probability  # the session's ASR, on the device
        # the wake word hears noise-suppressed sound in every profile: through the echo stage in full
        # duplex, through a stage of its own (nothing to cancel) otherwise; nothing else hears it
        wake_ears = None
        if wake is not None and wake.detector is not None and echo is None and twin.cfg.wake.suppress_noise:
            wake_ears = EchoStage(twin.c.echo_canceller())
        # the spoken-name wake: the name leads this session's ASR prompt while this loop listens
        # (put back in `finally`); the model itself, shared by every device of a hub, is not touched
        lead = twin.asr_lead
        if wake is not None and wake.by_name and twin.cfg.wake.name_in_prompt:
            twin.asr_lead = twin.cfg.wake.name
        try:
            async for frame, again in _with_replays(source.frames_iter(), replay):
                if not again:
                    if clipping.hear(frame.samples, frame.position):  # the microphone's own sound
                        device_notice("microphone_clipping", CLIPPING_NOTICE)
                    if echo is not None:
                        frame = echo.clean(frame)
                position = frame.position
                paced = frame.arrival_t is not None
                if frame.ends_utterance:  # the device says the user is done (push-to-talk released)
                    ep.end_now()  # this frame ends the open utterance: no silence window waited for
                if wake is not None:
                    busy = current is not None and not current.done()
                    # every frame, before anything else hears it (a frame heard again is not)
                    woke = False
                    if not again:
                        ears = frame if wake_ears is None else wake_ears.clean(frame)
                        woke = wake.hear(ears.samples, position)
                    looked = False
                    if not again and not woke and wake.unsure is not None:
                        looked = woke = await wake.look_again(asr_run)  # the second look, ~0.1 s
                    if woke:
                        discard()
                        ep.forget()
                        overlap = None
                        if busy:  # the wake word while Twin speaks: stop and listen
                            twin.interrupt(current, sink)  # type: ignore[arg-type]
                            log.add("stopped", position, by="wake word")
                        if looked and asleep:
                            # confirmed frames after the wake word's peak: the request may have
                            # begun in them, so the front end hears them (and this one) again
                            n = wake.replays - 1
                            replay.extend([*(list(asleep)[-n:] if n > 0 else []), frame])
                            asleep.clear()
                            continue
                    awake = ep.in_speech or wake.is_open() or asking.waiting or busy
                    if not (awake or wake.by_name):
                        asleep.append(frame)
                        continue  # asleep: the frame is heard by the wake word detector alone
                    asleep.clear()
                prob = await loop.run_in_executor(twin.c.pools.vad, vad.frame_probability, frame.samples)
                onset_frames.append(frame.samples)
                if frame.echo_only:
                    prob = 0.0  # Twin's own voice alone (the echo stage's double-talk check): not speech
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
                if busy or self.alert_playing:
                    sounding = position
                if (busy and not twin.barge_in) or self.alert_playing:
                    ep.reset()  # half duplex: what the microphone hears while Twin speaks is not the user
                    continue
                ep.start_frames = barge.start_frames if busy else start_frames
                if busy and not ep.in_speech and echo is not None:  # the onset: not Twin's residue
                    p_onset = barge.prob(prob, echo.kept_db, frame.samples, user_db, echo.playing_s)
                    heard = AudioFrame(
                        samples=frame.samples,
                        position=position,
                        speech_prob=p_onset,
                        arrival_t=frame.arrival_t,
                    )
                out = ep.push(heard)
                self.hearing = ep.in_speech
                # partials of the user's turns only: over Twin's reply or in its echo tail the words
                # are read once the utterance ends, and a decode would hold the ASR worker then
                if partials is not None and overlap is None and not after_reply:
                    decoding = partials.hear(ep)
                    if decoding is not None and not paced:
                        await decoding  # a recording fed faster than real time: each partial in turn
                if overlap is not None and not isinstance(out, Utterance) and not ep.in_speech:
                    overlap = None  # too short to be an utterance (a cough, a door): play on
                    self._resume(sink, current, position, "false start")
                if isinstance(out, SpeechStarted):
                    free = wake is not None and (wake.is_open() or busy)  # over Twin: meant for it
                    after_reply = not busy and echo is not None and position - sounding <= AFTER_REPLY_S
                    if busy:
                        overlap = position
                        onset = np.concatenate(onset_frames)
                        level = {"level_db": round(speech_level_db(onset), 1)}
                        if too_quiet(onset, user_db):  # the canceller's residue, most likely: play on
                            log.add("barge_in", position, action="heard", why="too quiet", **level)
                        elif hasattr(sink, "pause"):  # hold the reply until we know what this is
                            sink.pause()
                            log.add("barge_in", position, action="paused", **level)
                        else:
                            twin.interrupt(current, sink)  # type: ignore[arg-type]
                elif overlap is not None and isinstance(out, Utterance):
                    overlap = None
                    tr = await twin._transcribe(out.audio)  # on the device; kept only if it is a turn
                    if wake is not None:
                        wake.taken()
                    if is_stop(tr.text, stop_words):
                        twin.interrupt(current, sink)  # type: ignore[arg-type]
                        log.add("stopped", position, by="stop word")
                    elif why := self._not_a_turn(tr, out, user_db, after_reply=False):
                        self._resume(sink, current, position, why)
                    else:
                        twin.interrupt(current, sink)  # type: ignore[arg-type]
                        log.add("interrupted", position)
                        current = start(out.audio, Endpoint(out), tr, over_playback=True)
                elif overlap is not None:
                    pass  # over Twin's reply: no early turn until we know it is one
                elif isinstance(out, Utterance) and after_reply:
                    # Begun as a reply ended: the canceller's residue of Twin's last words, or the user.
                    after_reply = False
                    discard()
                    tr = await twin._transcribe(out.audio)
                    if why := self._not_a_turn(tr, out, user_db, after_reply=True):
                        log.add("ignored", position, why=why)
                    else:
                        if wake is not None:
                            wake.taken()
                        current = start(out.audio, Endpoint(out), tr, over_playback=True)
                elif after_reply:
                    pass  # no early turn until the words show it is not Twin's own echo
                elif isinstance(out, SpeechPaused) and not twin.naive and frame.arrival_t is not None:
                    # The user may be done: start the turn now, while the endpoint's silence runs.
                    discard()
                    pending_end = Endpoint()
                    words = share(partials.covering(out.voiced)) if partials is not None else None
                    turn_words = words if twin.cfg.partials.reuse else None
                    speculative = (out.voiced, start(out.audio, pending_end, early=turn_words), pending_end)
                    if judge is not None:  # hold the pause until its words are judged
                        judge.expect(speculative[1], out.voiced, words)
                elif isinstance(out, SpeechResumed):
                    discard()
                elif isinstance(out, Utterance):
                    if wake is not None:
                        wake.taken()
                    if speculative is not None and speculative[0] == out.voiced:
                        current = speculative[1]
                        speculative[2].confirm(out)
                        speculative = None
                    else:
                        discard()
                        words = None
                        if partials is not None and twin.cfg.partials.reuse:
                            words = share(partials.covering(out.voiced))
                        current = start(out.audio, Endpoint(out), early=words)
                    if frame.arrival_t is None:  # a recording fed faster than real time: one turn at a time
                        await wait_turn_or_question(current, asking)
                if max_turns is not None and len(results) >= max_turns:
                    break
            discard()
            tail = ep.flush(position)
            if overlap is not None:  # the input ended while a reply was held: let it finish
                self._resume(sink, current, position, "end of input")
            if tail is not None:
                if asking.waiting:
                    asking.answer(tail.audio)
                elif overlap is None and not after_reply:
                    start(tail.audio, Endpoint(tail))
                else:  # begun over Twin or in its echo tail: a turn only if it passes the same checks
                    tr = await twin._transcribe(tail.audio)
                    if why := self._not_a_turn(tr, tail, user_db, after_reply=overlap is None):
                        log.add("ignored", position, why=why)
                    else:
                        start(tail.audio, Endpoint(tail), tr, over_playback=True)
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    if on_error is None:
                        await task
                    else:
                        await asyncio.wait([task])
        finally:
            self.hearing = False
            twin.asr_lead = lead
            if judge is not None:
                judge.detach()
            twin.asker.stop_live()
            if echo is not None:
                echo.stop_listening(sink)
            if clock is not None:
                clock.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await clock
        return results

    def _not_a_turn(
        self, tr: Transcript, out: Utterance, user_db: float | None, after_reply: bool
    ) -> str | None:
        said = self.twin.reply_voice.said_lately()
        return not_for_twin(tr.text, out.voiced * FRAME_S, out.audio.samples, said, user_db, after_reply)

    def _resume(
        self, sink: Sink, current: asyncio.Task[TurnResult] | None, position: float, why: str
    ) -> None:
        resume = getattr(sink, "resume", None)
        if resume is not None:
            resume()
        if current is not None and not current.done():
            self.log.add("resumed", position, why=why)

    async def _name_heard_again(self, audio: AudioClip, text: str):
        """The reading of `text` that begins with the wake name when the audio supports it nearly as
        well (pipeline/runtime/name_hearing.py), else None. Whisper models only; a failed reading
        is None (not addressed), never a stuck loop."""
        twin = self.twin
        read = getattr(twin.c.asr, "phrase_log_probs", None)
        if not text or read is None or not twin.cfg.wake.hear_name_again:
            return None
        from pipeline.runtime.name_hearing import NameHearing

        hearing = NameHearing(read, twin.cfg.wake.name)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(twin.c.pools.asr, hearing.heard, audio.samples, text)
        except Exception:  # noqa: BLE001 - a failed second hearing leaves the words as heard
            return None

    async def _named_turn(
        self,
        wake: WakeGate,
        audio: AudioClip,
        endpoint: Endpoint,
        sink: Sink,
        tr: Transcript | None,
        over_playback: bool = False,
    ) -> TurnResult | None:
        """The spoken-name wake: a turn only when the words begin with the name; otherwise nothing
        of it is kept (no trace, history or memory) and only the fact is logged."""
        import dataclasses

        tr = tr or await self.twin._transcribe(audio)
        rest = wake.addressed(tr.text)
        again = None if rest is not None else await self._name_heard_again(audio, tr.text)
        if again is not None:
            rest = wake.addressed(again.text)
        if rest is None:
            utt = await endpoint.wait()
            self.log.add("not_addressed", utt.end)
            return None
        if again is None:
            self.log.add("wake", wake.position, by="name")
        else:  # the words as first heard stay in the log only for a turn that is Twin's
            self.log.add("wake", wake.position, by="name", heard_again=again.heard, below=again.below)
        return await self.twin.voice_turn(
            audio, endpoint, sink, transcript=dataclasses.replace(tr, text=rest), over_playback=over_playback
        )
