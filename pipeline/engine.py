"""The conversation engine: turns audio or text into a spoken reply, one asyncio task per turn.

A turn owns everything it starts (generation thread, synthesis, playback) through a TaskGroup, so
cancelling the turn (barge-in) reaches every part: the LLM thread sees its stop flag within a token,
no new sentence is synthesized, and queued audio is dropped. History keeps what was heard.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from devices.sinks import BufferSink
from devices.sources import InputFrame
from memory import MemoryRecall, parse_command
from models.errors import TwinError
from persona import load_persona, system_prompt, to_spoken
from persona.style import StylePolicy, TurnStyle
from voice.asr import Transcript
from voice.audio import AudioClip
from voice.errors import NoSpeechError
from voice.tts import Prosody
from voice.vad import regions_from_probabilities

from .acting import Acting, TurnVoice, turn_voice
from .asking import AnswerWaiter, wait_turn_or_question
from .components import Components
from .config import TwinConfig
from .endpointing import Endpoint, Endpointer, Pause, Resume, SpeechStart, Utterance
from .events import (
    AsrStarted,
    EventQueue,
    Interrupt,
    LlmRequested,
    Notice,
    ReplyAudioChunk,
    ReplyAudioStart,
    ReplyAudioStop,
    ReplyTextChunk,
    ReplyTextStart,
    ReplyTextStop,
    SentenceReady,
    SpeechEnded,
    TranscriptReady,
    TurnEnded,
    TurnStarted,
)
from .llm import LlmError
from .sentences import SentenceSplitter
from .trace import TraceStore
from .turn import TurnRecorder, TurnResult

LANGUAGE_NAMES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "nl": "Dutch",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "pt": "Portuguese",
}


@dataclass
class _Playback:
    begun: bool = False
    spoken: list[tuple[str, int]] = field(default_factory=list)  # (sentence, samples) sent to the sink


# A text turn has no speech to wait for: its endpoint is decided from the start.
_TEXT_TURN = Utterance(AudioClip(np.zeros(0, np.float32)), 0.0, 0.0, 0.0, 0.0)


class Sink(Protocol):
    played_samples: int

    def begin(self, sample_rate: int) -> None: ...

    async def write(self, samples: np.ndarray) -> None: ...

    def interrupt(self) -> None: ...


class FrameSource(Protocol):
    def frames_iter(self) -> AsyncIterator[InputFrame]: ...


def _append_quietly(traces: TraceStore, record: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        traces.append(record)


def _post(loop: asyncio.AbstractEventLoop, q: asyncio.Queue, item: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the loop closed under a finishing thread
        loop.call_soon_threadsafe(q.put_nowait, item)


class Twin(Acting):
    def __init__(self, cfg: TwinConfig, components: Components | None = None, naive: bool = False) -> None:
        """`naive` is the benchmark's baseline: wait for the whole transcript, generate the whole
        reply, then synthesize all of it; no speculation and no streaming."""
        self.cfg = cfg
        self.naive = naive
        self.c = components or Components(cfg)
        self.profile = cfg.device_profile
        self.barge_in = cfg.barge_in
        self.persona = load_persona(cfg.persona)
        self.system_prompt = system_prompt(self.persona, self.profile.style, self.profile.max_reply_sentences)
        self.prosody = Prosody(length_scale=self.profile.speech_rate * self.persona.speaking_rate)
        self.style = StylePolicy(self.persona, self.profile)
        self.history: list[dict[str, str]] = []
        self.memory: MemoryRecall | None = self.c.memory
        self._memory_writes: list[concurrent.futures.Future] = []
        self.traces = TraceStore(cfg.data_path / "traces.jsonl", cfg.trace_turns)
        self.observers: list[EventQueue] = []
        self.last_result: TurnResult | None = None
        self.generation_active = threading.Event()
        self.generated_tokens = 0
        self._ids = itertools.count(1)
        self._warm = False
        # recall has its own thread so a slow one never queues behind memory writes
        self._recall_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="twin-recall")
        self._init_acting()
        # Who has spoken lately: the car says nothing private aloud while others can hear.
        self.presence = None
        if self.profile.name == "car" and cfg.identity.speakers:
            from voice.listener import PresenceTracker

            self.presence = PresenceTracker(registry=self.c.speakers)
        self._alert_playing = False

    def warm_up(self) -> None:
        """Before the first turn of a session: put the system prompt in the model's cache, so the
        first reply starts as fast as the later ones (~0.5 s saved on 2 cores)."""
        if not self._warm:
            self._warm = True
            self.c.llm.prefill(self.messages_for("Hello.", "en"))
            if self.memory is not None and hasattr(self.memory, "consolidate"):
                m = self.cfg.memory  # housekeeping, off the voice path
                self.c.memory_pool.submit(self.memory.consolidate, None, m.episode_days, m.fade_days)

    # -- entry points ------------------------------------------------------------------------------
    async def listen_clip(self, clip: AudioClip, sink: Sink | None = None, speak: bool = True) -> TurnResult:
        """One voice turn from a recorded clip: the whole clip's speech is the user's turn. The
        endpoint is placed where a live session would decide it: the profile's silence window after
        the last speech, so voice-to-voice includes that wait."""
        loop = asyncio.get_running_loop()
        t0 = time.monotonic()
        probs = await loop.run_in_executor(self.c.vad_pool, self.c.vad.probabilities, clip.samples)
        regions = regions_from_probabilities(probs, len(clip.samples))
        if not regions:
            raise NoSpeechError(
                f"no speech found in {clip.source or 'the audio'} ({clip.duration:.1f} s)",
                "check the recording level, or speak closer to the microphone",
            )
        start, end = regions[0].start, regions[-1].end
        hangover = self.profile.endpoint_silence_ms / 1000
        endpoint_t = time.monotonic()
        # the same margins the live endpointer keeps: pre-roll before speech, a short tail after
        utt = Utterance(clip.slice(start - 0.3, end + 0.15), start, end, endpoint_t - hangover, endpoint_t)
        extra = {"vad_compute_ms": round((endpoint_t - t0) * 1000, 1)}
        return await self.voice_turn(utt.audio, Endpoint(utt), sink, speak, extra)

    async def ask(self, text: str, sink: Sink | None = None, speak: bool = False) -> TurnResult:
        rec = self._recorder("text")
        return await self._run(rec, text, "en", sink, speak)

    async def voice_turn(
        self,
        audio: AudioClip,
        endpoint: Endpoint,
        sink: Sink | None = None,
        speak: bool = True,
        extra: dict | None = None,
    ) -> TurnResult:
        """ASR, then the reply. With an undecided `endpoint` (a pause, not yet the end of the turn)
        everything runs ahead, but no reply is released until the endpoint is confirmed; if the user
        speaks on, the live loop cancels this turn and it leaves no trace."""
        rec = self._recorder("voice")
        endpoint.on_confirm(
            lambda u: rec.emit(
                SpeechEnded,
                t=u.endpoint_t,
                position=u.end,
                speech_end_t=u.speech_end_t,
                duration=u.end - u.start,
            )
        )
        rec.emit(AsrStarted, audio_seconds=audio.duration)
        heard = self._hear_voice(audio)  # speaker and prosody, on their own thread beside ASR
        tr = await self._transcribe(audio)
        t_asr = time.monotonic()
        speaker = await self._conclude_voice(rec, heard, tr)
        extra = (extra or {}) | {"voice_id_wait_ms": round((time.monotonic() - t_asr) * 1000, 1)}
        rec.emit(TranscriptReady, text=tr.text, language=tr.language, speaker=speaker)
        if not tr.text:
            await endpoint.wait()
            return self._finish(rec, "no_speech", "", tr.language, "", "", None, extra)
        rec.speaker = speaker
        return await self._run(rec, tr.text, tr.language, sink, speak, extra, endpoint, speaker)

    async def live(
        self,
        source: FrameSource,
        sink: Sink,
        on_turn: Callable[[TurnResult], None] | None = None,
        max_turns: int | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> list[TurnResult]:
        """The always-on loop: VAD per frame, endpointing, one task per turn, barge-in, spoken
        answers to Twin's own questions, and the clock that rings timers. A turn that fails is
        reported through `on_error` and the loop keeps listening. Announcements (a timer's ring)
        reach `on_turn` with mode "alert" and are not counted in the returned turns."""
        loop = asyncio.get_running_loop()
        vad = self.c.vad
        vad.reset()
        ep = Endpointer(self.profile.endpoint_silence_ms)
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
            task = asyncio.create_task(self.voice_turn(audio, endpoint, sink))
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
            return not (busy or ep.in_speech or self.asking.waiting)

        async def ring() -> None:
            async def alert(text: str) -> None:
                self._alert_playing = True
                try:
                    result = await self.announce(text, sink)
                finally:
                    self._alert_playing = False
                if on_turn:
                    on_turn(result)

            await self.ring_due(alert, idle)

        self.live_sink = sink
        self.asking = AnswerWaiter()  # its event belongs to this loop
        clock = asyncio.create_task(ring()) if self.cfg.tools.enabled else None
        position = 0.0
        try:
            async for frame in source.frames_iter():
                position = frame.position
                prob = await loop.run_in_executor(self.c.vad_pool, vad.frame_probability, frame.samples)
                if self.asking.waiting:
                    # Twin asked and waits: the next whole utterance is the answer, not a new turn.
                    if self.asking.fresh:
                        self.asking.fresh = False
                        ep.reset()  # what was heard while Twin spoke the question is not the answer
                    out = ep.push(prob, frame.samples, frame.position, frame.arrival_t)
                    if isinstance(out, Utterance):
                        self.asking.answer(out.audio)
                        if frame.arrival_t is None and current is not None:
                            await wait_turn_or_question(current, self.asking)  # it may ask again
                    continue
                busy = current is not None and not current.done()
                if (busy and not self.barge_in) or self._alert_playing:
                    ep.reset()  # half duplex: what the microphone hears while Twin speaks is not the user
                    continue
                out = ep.push(prob, frame.samples, frame.position, frame.arrival_t)
                if isinstance(out, SpeechStart):
                    if busy:
                        self.interrupt(current, sink)  # type: ignore[arg-type]
                elif isinstance(out, Pause) and not self.naive and frame.arrival_t is not None:
                    # The user may be done: start the turn now, while the endpoint's silence runs.
                    discard()
                    pending_end = Endpoint()
                    speculative = (out.voiced, start(out.audio, pending_end), pending_end)
                elif isinstance(out, Resume):
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
                        await wait_turn_or_question(current, self.asking)
                if max_turns is not None and len(results) >= max_turns:
                    break
            discard()
            tail = ep.flush(position)
            if tail is not None:
                if self.asking.waiting:
                    self.asking.answer(tail.audio)
                else:
                    start(tail.audio, Endpoint(tail))
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    if on_error is None:
                        await task
                    else:
                        await asyncio.wait([task])
        finally:
            self.live_sink = None
            if clock is not None:
                clock.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await clock
        return results

    async def announce(self, text: str, sink: Sink | None = None) -> TurnResult:
        """Say something Twin starts itself (a timer's ring): a turn of mode "alert" with no user
        words, so it leaves nothing in the conversation history."""
        rec = self._recorder("alert")
        sink = sink or BufferSink()
        playback = _Playback()
        sentence_q: asyncio.Queue[str | None] = asyncio.Queue()
        audio_q: asyncio.Queue = asyncio.Queue()
        parts: list[str] = []
        endpoint = Endpoint(_TEXT_TURN)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._say(rec, text, sentence_q, parts))
            tg.create_task(self._synthesize(rec, sentence_q, audio_q, endpoint, threading.Event()))
            tg.create_task(self._play(audio_q, sink, playback))
        heard = " ".join(sentence for sentence, _ in playback.spoken)
        return self._finish(rec, "completed", "", "en", " ".join(parts), heard, sink, None)

    async def _transcribe(self, audio: AudioClip) -> Transcript:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.c.asr_pool, self.c.asr.transcribe, audio, self.cfg.asr.language, self.cfg.asr.vad_filter
        )

    def _hear_voice(self, audio: AudioClip) -> asyncio.Future | None:
        ident = self.cfg.identity
        if not (ident.speakers or ident.emotion):
            return None
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self.c.identity_pool, self.c.listener.hear, audio)

    async def _conclude_voice(
        self, rec: TurnRecorder, heard: asyncio.Future | None, tr: Transcript
    ) -> str | None:
        """Who spoke, and this turn's style from how they sound. A failure here costs the turn
        nothing but the hint: the reply goes on in the default style."""
        if heard is None:
            return None
        try:
            signals = await heard
            emotion = self.c.listener.conclude(signals, tr.text, tr.language)
        except Exception as exc:  # identity is a hint, never a reason to fail a turn
            rec.emit(Notice, code="voice_signals_failed", message=str(exc)[:200])
            return None
        voices = 1
        if self.presence is not None:
            self.presence.observe_signals(signals, time.monotonic())
            voices = max(self.presence.voices_present(time.monotonic()), signals.voices)
        rec.voices = voices
        rec.style = self.style.for_turn(emotion, voices)
        rec.emotion = emotion
        name = signals.speaker.name
        if name == "unknown" and self.c.speakers.names():
            return "unknown"  # voices are enrolled and this is none of them: a guest (memory scopes)
        return None if name == "unknown" else name

    def interrupt(self, task: asyncio.Task[TurnResult], sink: Sink) -> None:
        turn_id = getattr(task, "turn_id", 0)
        for q in self.observers:
            q.put(Interrupt(turn_id=turn_id))
        sink.interrupt()
        task.cancel()

    # -- the turn ----------------------------------------------------------------------------------
    def _recorder(self, mode: str) -> TurnRecorder:
        rec = TurnRecorder(next(self._ids), mode, list(self.observers))
        task = asyncio.current_task()
        if task is not None:
            task.turn_id = rec.turn_id  # type: ignore[attr-defined]
        rec.emit(TurnStarted, mode=mode)
        return rec

    def messages_for(
        self, text: str, language: str, recalled: list[str] | None = None, style: TurnStyle | None = None
    ) -> list[dict[str, str]]:
        """Append-only, so llama.cpp's prefix cache covers everything but the new turn: the stable
        system prompt, then past turns exactly as they were sent (each with its own context line),
        then this turn's context (time, recalled memories, language) and the user's words."""
        context = [f"It is now {datetime.now().astimezone():%A %d %B %Y, %H:%M}."]
        if style is not None and style.line:
            context.append(style.line)  # per turn, so the system prompt (and its cache) stays put
        if recalled:
            context.append(
                "What you remember about the user (use only if it helps):\n- " + "\n- ".join(recalled)
            )
        if language != "en":
            context.append(f"The user spoke {LANGUAGE_NAMES.get(language, language)}; reply in it.")
        return [
            {"role": "system", "content": self.system_prompt},
            *self.history,
            {"role": "system", "content": "\n".join(context)},
            {"role": "user", "content": text},
        ]

    @property
    def dialogue(self) -> list[dict[str, str]]:
        """What was said, without the per-turn context lines."""
        return [m for m in self.history if m["role"] != "system"]

    def _remember_turn(self, context: str, text: str, said: str) -> None:
        self.history += [
            {"role": "system", "content": context},
            {"role": "user", "content": text},
            {"role": "assistant", "content": said},
        ]
        limit = self.cfg.llm.history_turns
        if len(self.history) > 3 * limit:
            # Drop to half at once rather than one turn per turn: the prompt prefix (and the
            # model's cache of it) then stays the same for the next several turns.
            keep = 3 * (limit // 2)
            self.history = self.history[len(self.history) - keep :] if keep else []

    async def _run(
        self,
        rec: TurnRecorder,
        text: str,
        language: str,
        sink: Sink | None,
        speak: bool,
        extra: dict | None = None,
        endpoint: Endpoint | None = None,
        speaker: str | None = None,
    ) -> TurnResult:
        endpoint = endpoint or Endpoint(_TEXT_TURN)
        notice = ""
        if speak and language not in self.c.tts.descriptor.languages:
            lang = LANGUAGE_NAMES.get(language, language)
            notice = f"No voice is installed for {lang}; the reply is given as text only."
            rec.emit(Notice, code="voice_unavailable", message=notice)
            speak = False
        sink = sink or BufferSink()
        playback = _Playback()
        stop = threading.Event()
        # On 2 cores the first piece's synthesis competes with generation: generation waits for
        # the first audio (the rest of the reply is generated faster than it is spoken).
        llm_may_run = threading.Event()
        llm_may_run.set()
        reply_parts: list[str] = []
        try:
            sentence_q: asyncio.Queue[str | None] = asyncio.Queue()
            audio_q: asyncio.Queue[tuple[str, np.ndarray] | None] = asyncio.Queue()
            voice = TurnVoice(rec, sink if speak else None, speaker, rec.mode == "voice")
            with turn_voice(voice):
                # spoken dialogues and commands answered without the model, then tools: a reply
                # composed from their results, or context for the model's reply
                fixed = await self.enrol_by_voice(text, speaker, endpoint) if voice.voiced else None
                fixed = fixed or await self._memory_command(text, speaker, endpoint)
                plan = None if fixed else await self._plan(text, endpoint, speaker)
            private_ok = rec.voices <= 1 or self.profile.name != "car"
            if not private_ok:
                rec.emit(Notice, code="others_present", message="others can hear: no memories recalled")
            skip_recall = fixed or (plan is not None and plan.reply) or not private_ok
            recalled = [] if skip_recall else await self._recall(text, speaker)
            messages = self.messages_for(text, language, recalled, rec.style)
            if plan is not None and plan.context:
                messages[-2] = {"role": "system", "content": messages[-2]["content"] + "\n" + plan.context}
            rec.context = messages[-2]["content"]
            direct = fixed or (plan.reply if plan is not None else None)
            async with asyncio.TaskGroup() as tg:
                first_gate = llm_may_run if speak and not self.naive else None
                if direct:  # composed without the model: a memory answer or tool results
                    tg.create_task(self._say(rec, direct, sentence_q, reply_parts))
                else:
                    tg.create_task(self._generate(rec, messages, sentence_q, stop, reply_parts, first_gate))
                if speak:
                    synthesize = self._synthesize_at_end if self.naive else self._synthesize
                    tg.create_task(synthesize(rec, sentence_q, audio_q, endpoint, llm_may_run))
                    tg.create_task(self._play(audio_q, sink, playback))
                else:
                    tg.create_task(self._drain(sentence_q))
            await endpoint.wait()
        except asyncio.CancelledError:
            stop.set()
            llm_may_run.set()
            if not endpoint.confirmed:
                raise  # a speculative turn the user talked over: it never happened
            heard = self._heard(playback.spoken, sink.played_samples) if playback.begun else ""
            if not speak:
                heard = " ".join(reply_parts)
            said = " ".join(reply_parts)
            result = self._finish(rec, "interrupted", text, language, said, heard, sink, extra, notice)
            task = asyncio.current_task()
            if task is not None:
                task.turn_result = result  # type: ignore[attr-defined]
            raise
        except BaseExceptionGroup as eg:
            stop.set()
            llm_may_run.set()
            first = eg.exceptions[0]
            raise (first if isinstance(first, TwinError) else eg) from None
        reply = " ".join(reply_parts)
        heard = " ".join(sentence for sentence, _ in playback.spoken) if speak else reply
        return self._finish(
            rec, "completed", text, language, reply, heard, sink if speak else None, extra, notice
        )

    async def _memory_command(self, text: str, speaker: str | None, endpoint: Endpoint) -> str | None:
        """'Forget that', 'what do you remember about me?': answered from memory, not the model.
        A command changes stored data, so it waits until the user has surely finished speaking."""
        if self.memory is None or parse_command(text) is None:
            return None
        await endpoint.wait()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.c.memory_pool, self.memory.handle_command, text, speaker)

    async def _recall(self, text: str, speaker: str | None) -> list[str]:
        """Memories for this turn within the budget; a slow store never holds the reply."""
        if self.memory is None:
            return []
        loop = asyncio.get_running_loop()
        budget = self.cfg.memory.recall_budget_ms / 1000
        future = loop.run_in_executor(self._recall_pool, self.memory.recall, text, speaker, budget)
        try:
            return await asyncio.wait_for(asyncio.shield(future), budget)
        except TimeoutError:
            return []

    def _observe(self, text: str, said: str, speaker: str | None, turn_id: int) -> None:
        """After the turn, off the voice path: the write policy decides what to keep."""
        if self.memory is None:
            return
        fut = self.c.memory_pool.submit(self.memory.observe, text, said, speaker, f"turn {turn_id}")
        self._memory_writes = [f for f in self._memory_writes if not f.done()] + [fut]

    def flush_memory(self, timeout: float = 30.0) -> None:
        """Wait for this session's pending memory writes (tests, shutdown)."""
        concurrent.futures.wait(self._memory_writes, timeout)

    async def _say(
        self, rec: TurnRecorder, text: str, sentence_q: asyncio.Queue, reply_parts: list[str]
    ) -> None:
        """Speak a reply composed from tool results, exactly as composed (no model in between)."""
        rec.emit(ReplyTextStart)
        splitter = SentenceSplitter()
        n = 0
        for s in [*splitter.feed(text), *splitter.flush()]:
            n += await self._queue_sentence(rec, s, sentence_q, reply_parts, n)
        rec.emit(ReplyTextStop, text=text, tokens=0)
        await sentence_q.put(None)

    async def _generate(
        self,
        rec: TurnRecorder,
        messages: list[dict[str, str]],
        sentence_q: asyncio.Queue[str | None],
        stop: threading.Event,
        reply_parts: list[str],
        first_gate: threading.Event | None,
    ) -> None:
        """Stream the model's reply sentence by sentence into `sentence_q`."""
        loop = asyncio.get_running_loop()
        token_q: asyncio.Queue[Any] = asyncio.Queue()
        llm = self.c.llm
        max_tokens = self.profile.max_reply_tokens
        style: TurnStyle | None = rec.style
        max_sentences = style.max_sentences if style else self.profile.max_reply_sentences

        def work() -> None:
            self.generation_active.set()
            try:
                for piece in llm.stream(messages, max_tokens, stop):
                    self.generated_tokens += 1
                    _post(loop, token_q, piece)
                    if first_gate is not None:
                        while not first_gate.wait(0.02) and not stop.is_set():
                            pass
            except Exception as exc:  # reported to the turn as an LlmError
                _post(loop, token_q, exc)
            finally:
                self.generation_active.clear()
                _post(loop, token_q, None)

        rec.emit(LlmRequested, backend=llm.descriptor.name, prompt_messages=len(messages))
        future = loop.run_in_executor(self.c.llm_pool, work)
        splitter = SentenceSplitter()
        raw: list[str] = []
        sentences = 0
        try:
            rec.emit(ReplyTextStart)
            while True:
                piece = await token_q.get()
                if piece is None:
                    break
                if isinstance(piece, Exception):
                    raise LlmError(f"the language model failed: {piece}", "run `twin models --check`")
                raw.append(piece)
                rec.emit(ReplyTextChunk, text=piece)
                for s in splitter.feed(piece):
                    if sentences == 0 and first_gate is not None:
                        first_gate.clear()
                    sentences += await self._queue_sentence(rec, s, sentence_q, reply_parts, sentences)
                if sentences >= max_sentences:
                    stop.set()
            if sentences < max_sentences:
                for s in splitter.flush():
                    sentences += await self._queue_sentence(rec, s, sentence_q, reply_parts, sentences)
            rec.emit(ReplyTextStop, text="".join(raw), tokens=len(raw))
            await sentence_q.put(None)
        finally:
            stop.set()
            if first_gate is not None:
                first_gate.set()
            if not future.done():
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.shield(asyncio.wait_for(asyncio.shield(future), 2.0))

    async def _queue_sentence(
        self, rec: TurnRecorder, sentence: str, q: asyncio.Queue, reply_parts: list[str], index: int
    ) -> int:
        spoken = to_spoken(sentence)
        if not spoken:
            return 0
        reply_parts.append(spoken)
        rec.emit(SentenceReady, text=spoken, index=index)
        await q.put(spoken)
        return 1

    async def _synthesize(
        self,
        rec: TurnRecorder,
        sentence_q: asyncio.Queue[str | None],
        audio_q: asyncio.Queue,
        endpoint: Endpoint,
        llm_may_run: threading.Event,
    ) -> None:
        loop = asyncio.get_running_loop()
        tts = self.c.tts
        index = 0
        try:
            while (sentence := await sentence_q.get()) is not None:
                audio = await loop.run_in_executor(
                    self.c.tts_pool, tts.synthesize_all, sentence, self._turn_prosody(rec)
                )
                llm_may_run.set()
                if not len(audio):
                    continue
                if index == 0:
                    await endpoint.wait()  # nothing is released before the user's turn has ended
                    rec.emit(ReplyAudioStart, sample_rate=tts.sample_rate)
                rec.emit(ReplyAudioChunk, samples=audio, sentence=sentence, index=index)
                index += 1
                await audio_q.put((sentence, audio))
            if index:
                rec.emit(ReplyAudioStop)
        finally:
            llm_may_run.set()
            audio_q.put_nowait(None)

    def _turn_prosody(self, rec: TurnRecorder) -> Prosody:
        style: TurnStyle | None = rec.style
        return style.prosody if style is not None else self.prosody

    async def _synthesize_at_end(
        self,
        rec: TurnRecorder,
        sentence_q: asyncio.Queue[str | None],
        audio_q: asyncio.Queue,
        endpoint: Endpoint,
        llm_may_run: threading.Event,
    ) -> None:
        """The naive baseline: the whole reply first, then all of its synthesis."""
        sentences = []
        while (sentence := await sentence_q.get()) is not None:
            sentences.append(sentence)
        text = " ".join(sentences)
        loop = asyncio.get_running_loop()
        audio = await loop.run_in_executor(self.c.tts_pool, self.c.tts.synthesize_all, text, self.prosody)
        await endpoint.wait()
        if len(audio):
            rec.emit(ReplyAudioStart, sample_rate=self.c.tts.sample_rate)
            rec.emit(ReplyAudioChunk, samples=audio, sentence=text, index=0)
            rec.emit(ReplyAudioStop)
            await audio_q.put((text, audio))
        await audio_q.put(None)

    async def _play(self, audio_q: asyncio.Queue, sink: Sink, playback: _Playback) -> None:
        while (item := await audio_q.get()) is not None:
            sentence, audio = item
            if not playback.begun:
                sink.begin(self.c.tts.sample_rate)
                playback.begun = True
            playback.spoken.append((sentence, len(audio)))
            await sink.write(audio)

    @staticmethod
    async def _drain(sentence_q: asyncio.Queue[str | None]) -> None:
        while await sentence_q.get() is not None:
            pass

    @staticmethod
    def _heard(spoken: list[tuple[str, int]], played: int) -> str:
        """The spoken prefix: whole sentences played, and the played share of the one cut off."""
        words: list[str] = []
        for sentence, n in spoken:
            if played >= n:
                words.extend(sentence.split())
                played -= n
            else:
                parts = sentence.split()
                words.extend(parts[: int(len(parts) * played / max(n, 1))])
                break
        return " ".join(words)

    def _finish(
        self,
        rec: TurnRecorder,
        status: str,
        text: str,
        language: str,
        reply: str,
        heard: str,
        sink: Sink | None,
        extra: dict | None,
        notice: str = "",
    ) -> TurnResult:
        rec.emit(TurnEnded, status=status)
        if text and status in ("completed", "interrupted"):
            said = heard + (" … [interrupted by the user]" if status == "interrupted" else "")
            self._remember_turn(rec.context, text, said.strip())
            self._observe(text, said, rec.speaker, rec.turn_id)
        audio = sink.audio() if isinstance(sink, BufferSink) else np.zeros(0, np.float32)
        sample_rate = getattr(sink, "sample_rate", 0) or 0
        result = TurnResult(
            rec.turn_id,
            rec.mode,
            status,
            text,
            language,
            reply,
            heard,
            audio,
            sample_rate,
            rec.events,
            notice,
        )
        self.last_result = result
        record = {
            "turn_id": rec.turn_id,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "mode": rec.mode,
            "status": status,
            "heard_from_user": text,
            "reply": reply,
            "timings_ms": result.timings_ms | (extra or {}),
            "events": [
                e.to_record() | {"t_ms": round((e.t - rec.events[0].t) * 1000, 1)}
                for e in sorted(rec.events, key=lambda e: e.t)
            ],
        }
        # Written (with an fsync) on the memory thread, in order, off the event loop; a full disk
        # must not fail the reply: traces are diagnostics.
        self.c.memory_pool.submit(_append_quietly, self.traces, record)
        return result
