"""The session: composes the parts of Twin for one device and runs its turns.

A turn is one asyncio task that owns everything it starts (generation thread, synthesis, playback)
through a TaskGroup, so cancelling the turn (barge-in) reaches every part: the LLM thread sees its
stop flag within a token, no new sentence is synthesized, and queued audio is dropped. History keeps
what was heard.

    voice  -> hearing (who, how) ------------------.
    text   -> fast path (enrolment, memory commands) -> tools (planner) -> recall -> context
           -> reply voice (model or composed text -> sentences -> TTS -> sink) -> history, memory
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np

from devices.sinks import BufferSink
from memory.language import starts_chinese
from models.errors import TwinError
from persona import load_persona, system_prompt
from persona.style import StylePolicy
from pipeline.acting.audit import AuditLog
from pipeline.acting.permissions import TURN_COMPANY, Company
from pipeline.acting.session import audit_path
from pipeline.config import TwinConfig
from pipeline.conversation.answering import decide, read_request
from pipeline.conversation.context import LANGUAGE_NAMES, Conversation, local_now
from pipeline.conversation.fast_path import FastPath
from pipeline.conversation.hearing import HeardVoice, Hearing
from pipeline.conversation.honesty import asks_own_name
from pipeline.conversation.household import Household
from pipeline.conversation.recall import MemoryBridge
from pipeline.events import (
    AsrStarted,
    EventQueue,
    Interrupt,
    Notice,
    SpeechEnded,
    TranscriptReady,
    TurnEnded,
    TurnStarted,
    Utterance,
    VoiceHeard,
)
from pipeline.runtime.asking import Asker, TurnVoice
from pipeline.runtime.components import Components
from pipeline.runtime.endpointing import Endpoint
from pipeline.runtime.escalation import Escalation
from pipeline.runtime.front_end import FrameSource, FrontEnd
from pipeline.runtime.hands_free import WakeGate
from pipeline.runtime.rehearing import Rehearing
from pipeline.runtime.reply_voice import Reply, ReplyVoice, Sink
from pipeline.runtime.tool_desk import ToolDesk
from pipeline.runtime.trace import TraceStore
from pipeline.runtime.turn import TurnRecorder, TurnResult, trace_record
from voice.asr import Transcript
from voice.audio import AudioClip
from voice.errors import NoSpeechError
from voice.tts import Prosody
from voice.vad import regions_from_probabilities

# A text turn has no speech to wait for: its endpoint is decided from the start.
_TEXT_TURN = Utterance(
    audio=AudioClip(np.zeros(0, np.float32)), start=0.0, end=0.0, speech_end_t=0.0, endpoint_t=0.0
)


log = logging.getLogger(__name__)


def trimmed_from(before: list[dict[str, str]], after: list[dict[str, str]]) -> bool:
    """`after` is `before` with its oldest messages dropped (and perhaps new ones added): the same
    conversation trimming its past, not a history put in its place (the hub's other speaker)."""
    return any(before[d:] == after[: len(before) - d] for d in range(1, len(before)))


def _warm_quietly(llm: Any, prefix: list[dict[str, str]], shift: bool, lead: str) -> None:
    """The cache brought up to the history between turns: a failure here costs the next turn its
    head start (the turn then evaluates the prompt itself, and reports any real fault), nothing else."""
    try:
        warm = getattr(llm, "warm", None)
        warm(prefix, shift=shift, lead=lead) if warm is not None else llm.prefill(prefix)
    except Exception as exc:  # noqa: BLE001 - a warm-up is an optimisation, never a turn's failure
        log.warning("warming the model's cache between turns failed: %s", exc)


def _append_quietly(traces: TraceStore, record: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        traces.append(record)


class Twin:
    def __init__(
        self,
        cfg: TwinConfig,
        components: Components | None = None,
        naive: bool = False,
        clock: Callable[[], datetime] = local_now,
    ) -> None:
        """`naive` is the benchmark's baseline: wait for the whole transcript, generate the whole
        reply, then synthesize all of it; no speculation and no streaming. `clock` is the time the
        model is told (tests freeze it)."""
        self.cfg = cfg
        self.naive = naive
        self.c = components or Components(cfg)
        # a word leading this session's speech recognition prompt: the wake name while its live
        # loop listens for it (front_end.py); per session, as the ASR model is shared by a hub's
        # devices
        self.asr_lead = ""
        self.profile = cfg.device_profile
        self.barge_in = self.profile.full_duplex if cfg.barge_in is None else cfg.barge_in
        self.persona = load_persona(cfg.persona)
        self.system_prompt = system_prompt(self.persona, self.profile.style, self.profile.max_reply_sentences)
        self.prosody = Prosody(length_scale=self.profile.speech_rate * self.persona.speaking_rate)
        self.conversation = Conversation(self.system_prompt, cfg.llm.history_turns, clock)
        self.memory = self.c.memory  # the long-term store (None when disabled)
        self.audit = AuditLog(audit_path(cfg))  # one per session: tools and spoken forgetting
        self.memory_bridge = MemoryBridge(cfg, self.c.memory, self.c.pools, self.audit)
        self.household = Household(cfg, self.c)
        self.hearing = Hearing(cfg, self.c, StylePolicy(self.persona, self.profile))
        p = self.profile
        self.reply_voice = ReplyVoice(self.c, p.max_reply_tokens, p.max_reply_sentences, self.prosody)
        self.asker = Asker(self.c, self.household, self._transcribe, self.reply_voice.speak_aside)
        self.fast_path = FastPath(cfg, self.c, self.asker, self.memory_bridge)
        self.tools = ToolDesk(cfg, self.c, self.c.memory, self.household, self.asker, self.audit, clock)
        # a misheard word of a command heard again against the tools' own words (rehearing.py)
        respell = cfg.asr.respell_commands and cfg.tools.enabled
        self.rehearing = Rehearing(self.c, lambda: self.tools.local.registry()) if respell else None
        # a bigger model per turn when the router and the user's policy say so (off by default)
        self.escalation = (
            Escalation(cfg, self.c, self.conversation, self.asker) if cfg.remote.enabled else None
        )
        self.front_end = FrontEnd(self)
        self.traces = TraceStore(cfg.data_path / "traces.jsonl", cfg.trace_turns)
        self.observers: list[EventQueue] = []
        # The hub's (pipeline/serve/continuity.py): the speaker's conversation across devices and
        # restarts, put in before each turn and stored after it. None: this session's own only.
        self.continuity: Any = None
        self.last_result: TurnResult | None = None
        self._ids = itertools.count(1)
        self._warm = False
        # A live session (the front end sets it): after each turn the model's cache is brought up to
        # the history on the LLM worker while the reply plays, so the next turn evaluates only its
        # own lines. One-shot commands leave it off: no next turn to prepare.
        self.keep_warm = False
        self._warmed: list[dict[str, str]] = []  # the history as last warmed

    @property
    def history(self) -> list[dict[str, str]]:
        return self.conversation.history

    @property
    def dialogue(self) -> list[dict[str, str]]:
        return self.conversation.dialogue

    def messages_for(self, text: str, language: str, *args: Any, **kwargs: Any) -> list[dict[str, str]]:
        return self.conversation.messages_for(text, language, *args, **kwargs)

    def warm_up(self) -> None:
        """Before the first turn of a session: put the system prompt in the model's cache, so the
        first reply starts as fast as the later ones (~0.5 s saved on 2 cores)."""
        if not self._warm:
            self._warm = True
            _warm_quietly(self.c.llm, self.conversation.prefix(), False, self.conversation.lead())
            self.memory_bridge.housekeeping()
            self.tools.prepare()
            self.hearing.warm_up()

    def flush_memory(self, timeout: float = 30.0) -> None:
        self.memory_bridge.flush(timeout)

    # -- entry points ------------------------------------------------------------------------------
    async def listen_clip(self, clip: AudioClip, sink: Sink | None = None, speak: bool = True) -> TurnResult:
        """One voice turn from a recorded clip: the whole clip's speech is the user's turn. The
        endpoint is placed where a live session would decide it: the profile's silence window after
        the last speech, so voice-to-voice includes that wait."""
        loop = asyncio.get_running_loop()
        t0 = time.monotonic()
        probs = await loop.run_in_executor(self.c.pools.vad, self.c.vad.probabilities, clip.samples)
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
        utt = Utterance(
            audio=clip.slice(start - 0.3, end + 0.15),
            start=start,
            end=end,
            speech_end_t=endpoint_t - hangover,
            endpoint_t=endpoint_t,
        )
        extra = {"vad_compute_ms": round((endpoint_t - t0) * 1000, 1)}
        return await self.voice_turn(utt.audio, Endpoint(utt), sink, speak, extra)

    async def ask(self, text: str, sink: Sink | None = None, speak: bool = False) -> TurnResult:
        from pipeline.config import check_turn_text
        from pipeline.conversation.typed_text import restore_apostrophes

        text = check_turn_text(text)  # over the stated limit or nothing readable: a typed error, no turn
        text = restore_apostrophes(text)  # "whats the date" typed: as speech recognition writes it
        rec = self._recorder("text")
        # a typed turn in Chinese is handled in Chinese (memory rules, recall, the reply)
        return await self._run(rec, text, "zh" if starts_chinese(text) else "en", sink, speak)

    async def voice_turn(
        self,
        audio: AudioClip,
        endpoint: Endpoint,
        sink: Sink | None = None,
        speak: bool = True,
        extra: dict | None = None,
        transcript: Transcript | None = None,
        over_playback: bool = False,
    ) -> TurnResult:
        """ASR (unless the front end already has the `transcript`), then the reply. With an
        undecided `endpoint` (a pause, not yet the end of the turn) everything runs ahead, but no
        reply is released until the endpoint is confirmed; if the user speaks on, the live loop
        cancels this turn and it leaves no trace. `over_playback`: begun over Twin's playback or in
        its echo tail (the speaker's profile never learns from such a turn)."""
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
        pending = self.hearing.start(audio)  # speaker and prosody, on their own thread beside ASR
        tr = transcript or await self._transcribe(audio)
        again = await self.rehearing.better(audio.samples, tr.text) if self.rehearing is not None else None
        if again is not None:
            tr = dataclasses.replace(tr, text=again.text)
        t_asr = time.monotonic()

        def notify(code: str, message: str) -> None:
            rec.emit(Notice, code=code, message=message)

        heard = await self.hearing.conclude(pending, tr.text, tr.language, notify)
        extra = (extra or {}) | {"voice_id_wait_ms": round((time.monotonic() - t_asr) * 1000, 1)}
        if pending is not None and heard.style is not None:
            e = heard.emotion
            rec.emit(
                VoiceHeard,
                speaker=heard.identity.name,
                guest=heard.identity.guest,
                emotion=e.label if e is not None else "neutral",
                confidence=round(e.confidence, 3) if e is not None else 0.0,
                voices=heard.voices,
            )
        rec.emit(
            TranscriptReady,
            text=tr.text,
            language=tr.language,
            speaker=heard.identity.name,
            reheard_from=again.heard if again is not None else None,
            reheard_below=again.below if again is not None else None,
        )
        if not tr.text:
            await endpoint.wait()
            return self._finish(rec, "no_speech", "", tr.language, None, None, extra)
        result = await self._run(rec, tr.text, tr.language, sink, speak, extra, endpoint, heard)
        if heard.identity.name and not over_playback and result.status == "completed":
            # a confirmed speaker's profile learns from the turn, once its reply is done: the work
            # never competes with the reply for the CPU
            self.hearing.adapt(heard, audio)
        return result

    async def live(
        self,
        source: FrameSource,
        sink: Sink,
        on_turn: Callable[[TurnResult], None] | None = None,
        max_turns: int | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        wake: WakeGate | None = None,
    ) -> list[TurnResult]:
        """The always-on loop (pipeline/runtime/front_end.py); with `wake`, hands-free."""
        return await self.front_end.run(source, sink, on_turn, max_turns, on_error, wake)

    async def announce(self, text: str, sink: Sink | None = None) -> TurnResult:
        """Say something Twin starts itself (a timer's ring): a turn of mode "alert" with no user
        words, so it leaves nothing in the conversation history."""
        rec = self._recorder("alert")
        sink = sink or BufferSink()
        reply = Reply()
        await self.reply_voice.perform(rec, reply, sink, Endpoint(_TEXT_TURN), direct=text)
        return self._finish(rec, "completed", "", "en", reply, sink, None, heard=reply.played_text)

    def interrupt(self, task: asyncio.Task[TurnResult], sink: Sink) -> None:
        turn_id = getattr(task, "turn_id", 0)
        for q in self.observers:
            q.put(Interrupt(turn_id=turn_id))
        sink.interrupt()
        task.cancel()

    async def _transcribe(self, audio: AudioClip) -> Transcript:
        loop = asyncio.get_running_loop()
        a = self.cfg.asr
        asr, lead = self.c.asr, self.asr_lead
        return await loop.run_in_executor(
            self.c.pools.asr, lambda: asr.transcribe(audio, a.language, a.vad_filter, lead=lead)
        )

    def _recorder(self, mode: str) -> TurnRecorder:
        rec = TurnRecorder(next(self._ids), mode, list(self.observers))
        task = asyncio.current_task()
        if task is not None:
            task.turn_id = rec.turn_id  # type: ignore[attr-defined]
        rec.emit(TurnStarted, mode=mode)
        return rec

    # -- the turn ----------------------------------------------------------------------------------
    async def _run(
        self,
        rec: TurnRecorder,
        text: str,
        language: str,
        sink: Sink | None,
        speak: bool,
        extra: dict | None = None,
        endpoint: Endpoint | None = None,
        heard: HeardVoice | None = None,
    ) -> TurnResult:
        endpoint = endpoint or Endpoint(_TEXT_TURN)
        heard = heard or HeardVoice()
        if self.continuity is not None:
            self.continuity.resume(self.conversation, self.household.speaker(heard.identity).name)
        notice = ""
        if speak and language not in self.c.tts.descriptor.languages:
            lang = LANGUAGE_NAMES.get(language, language)
            notice = f"No voice is installed for {lang}; the reply is given as text only."
            rec.emit(Notice, code="voice_unavailable", message=notice)
            speak = False
        sink = sink or BufferSink()
        reply = Reply(style=heard.style)
        context = ""
        composed = False  # the reply is Twin's own, not the model's (context.py: left out of its view)
        try:
            voiced = rec.mode == "voice"
            # who may hear this turn, for the permission layer (this turn's task only): the device's
            # rule for others present (a car's cabin) and the voices heard with the request
            owners = bool(self.household.owners())
            TURN_COMPANY.set(Company(self.profile.others_may_listen, max(1, heard.voices), owners))
            turn = TurnVoice(rec, sink if speak else None, heard.identity, voiced, heard.final_rise_st)
            # spoken dialogues and commands answered without the model, then tools: a reply
            # composed from their results, or context for the model's reply
            who = self.household.speaker(heard.identity).name
            fixed = self.tools.about_pending(text, who) or await self.fast_path.answer(text, turn, endpoint)
            # what the words ask decides whether the planner and memory are asked (answering.py)
            dialogue = self.conversation.dialogue
            asked = read_request(text, dialogue, bool(self.cfg.tools.mcp))
            skip = fixed or asked.skip_planner
            plan = None if skip else await self.tools.plan(text, endpoint, turn)
            private_ok = heard.voices <= 1 or not self.profile.others_may_listen
            if not private_ok:
                rec.emit(Notice, code="others_present", message="others can hear: no memories recalled")
            skip_recall = fixed or (plan is not None and plan.reply) or not private_ok
            # a question about the user's own facts waits for memory (its only source) past the
            # recall budget: an answer that says "you haven't told me" must not be a timeout's
            scope = heard.identity.scope
            recalled = [] if skip_recall else await self.memory_bridge.recall(text, scope, patient=asked.mine)
            if heard.identity.name and not skip_recall and asks_own_name(text):
                recalled = [f"Your name is {heard.identity.name} (I know your voice).", *recalled]
            extra_context = plan.context if plan is not None and plan.context else ""
            messages = self.messages_for(text, language, recalled, heard.style, extra_context)
            context = messages[-2]["content"]
            composed = fixed or (plan.reply if plan is not None else None)
            # what no configured tool reaches, MCP servers' tools included, is said honestly
            offered = self.tools.session.registry if self.tools.session is not None else None
            answer = decide(text, language, composed, plan, recalled, dialogue, asked, offered)
            if answer.no_source:
                rec.emit(Notice, code="no_source", message=answer.no_source)
            direct, reply.lead = answer.direct, answer.lead
            composed = bool(direct)
            acted = plan is not None and any(o.done for o in plan.outcomes)
            sources = [text, *recalled, *(m["content"] for m in messages)]
            reply.guard = answer.guard(sources, acted, self.conversation.system_prompt)
            out = sink if speak else None
            llm = None
            if not direct and self.escalation is not None:
                scope = heard.identity.scope
                llm = await self.escalation.llm_for(
                    rec, turn, text, language, recalled, heard.style, extra_context, scope
                )
            await self.reply_voice.perform(rec, reply, out, endpoint, messages, direct, self.naive, llm)
            if llm is not None and self.escalation is not None:  # a fallback or a cut is told
                notice = " ".join(filter(None, [notice, self.escalation.finished()]))
            await endpoint.wait()
        except asyncio.CancelledError:
            reply.halt()
            if not endpoint.confirmed:
                raise  # a speculative turn the user talked over: it never happened
            said = reply.heard(sink.played_samples) if reply.begun else ""
            if not speak:
                said = reply.text
            scope = heard.identity.scope
            result = self._finish(
                rec, "interrupted", text, language, reply, sink, extra, notice, said, context, scope, composed
            )
            task = asyncio.current_task()
            if task is not None:
                task.turn_result = result  # type: ignore[attr-defined]
            raise
        except BaseExceptionGroup as eg:
            reply.halt()
            first = eg.exceptions[0]
            raise (first if isinstance(first, TwinError) else eg) from None
        said = reply.played_text if speak else reply.text
        return self._finish(
            rec,
            "completed",
            text,
            language,
            reply,
            sink if speak else None,
            extra,
            notice,
            said,
            context,
            heard.identity.scope,
            composed,
        )

    def _finish(
        self,
        rec: TurnRecorder,
        status: str,
        text: str,
        language: str,
        reply: Reply | None,
        sink: Sink | None,
        extra: dict | None,
        notice: str = "",
        heard: str = "",
        context: str = "",
        scope: str | None = None,
        composed: bool = False,
    ) -> TurnResult:
        rec.emit(TurnEnded, status=status)
        if text and status in ("completed", "interrupted"):
            said = heard + (" … [interrupted by the user]" if status == "interrupted" else "")
            lead = reply.lead if reply is not None else ""
            self.conversation.remember(context, text, said.strip(), composed, lead)
            if self.continuity is not None:
                self.continuity.record(context, text, said.strip())
            self.memory_bridge.observe(text, said, scope, rec.turn_id)
            if self.keep_warm and not self.naive:
                history = list(self.conversation.history)
                shift = trimmed_from(self._warmed, history)
                self._warmed = history
                prefix, lead = self.conversation.prefix(), self.conversation.lead()
                self.c.pools.llm.submit(_warm_quietly, self.c.llm, prefix, shift, lead)
        audio = sink.audio() if isinstance(sink, BufferSink) else np.zeros(0, np.float32)
        sample_rate = getattr(sink, "sample_rate", 0) or 0
        words = reply.text if reply is not None else ""
        result = TurnResult(
            rec.turn_id,
            rec.mode,
            status,
            text,
            language,
            words,
            heard,
            audio,
            sample_rate,
            rec.events,
            notice,
        )
        self.last_result = result
        # Written (with an fsync) on the memory thread, in order, off the event loop; a full disk
        # must not fail the reply: traces are diagnostics.
        self.c.pools.memory.submit(_append_quietly, self.traces, trace_record(result, extra))
        return result
