"""The reply voice: reply text (streamed from the model, or composed without it) -> sentences ->
spoken form -> TTS -> the sink, each stage its own task in the turn's TaskGroup.

On 2 cores the first sentence's synthesis competes with generation, so generation waits for the
first audio (the rest of the reply is generated faster than it is spoken). Nothing is played before
the user's turn has ended. What was played is kept, so an interrupted turn knows what was heard.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from persona import to_spoken
from persona.spoken import bound_length
from persona.style import TurnStyle
from pipeline.events import (
    LlmRequested,
    ReplyAudioChunk,
    ReplyAudioStart,
    ReplyAudioStop,
    ReplyTextChunk,
    ReplyTextStart,
    ReplyTextStop,
    SentenceReady,
)
from pipeline.llm.base import Llm, LlmError
from pipeline.llm.escalated import Aside
from pipeline.runtime.endpointing import Endpoint
from pipeline.runtime.sentences import SentenceSplitter
from pipeline.runtime.turn import TurnRecorder
from voice.tts import Prosody


class Sink(Protocol):
    played_samples: int

    def begin(self, sample_rate: int) -> None: ...

    async def write(self, samples: np.ndarray) -> None: ...

    def interrupt(self) -> None: ...


@dataclass
class Reply:
    """One turn's reply while it is produced: what was said, what reached the sink, and the flags
    that stop generation (barge-in) and hold it back (while the first audio is synthesized)."""

    style: TurnStyle | None = None
    parts: list[str] = field(default_factory=list)  # sentences in spoken form
    lead: str = ""  # said before the model's answer, outside its bounds (where a fact comes from)
    spoken: list[tuple[str, int]] = field(default_factory=list)  # (sentence, samples) sent to the sink
    begun: bool = False
    # checks each of the model's sentences against the turn's sources (conversation/honesty.py)
    guard: Any = None
    stop: threading.Event = field(default_factory=threading.Event)
    llm_may_run: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.llm_may_run.set()

    def halt(self) -> None:
        self.stop.set()
        self.llm_may_run.set()

    @property
    def text(self) -> str:
        return " ".join(self.parts)

    @property
    def played_text(self) -> str:
        return " ".join(sentence for sentence, _ in self.spoken)

    def heard(self, played: int) -> str:
        """The spoken prefix: whole sentences played, and the played share of the one cut off."""
        words: list[str] = []
        for sentence, n in self.spoken:
            if played >= n:
                words.extend(sentence.split())
                played -= n
            else:
                parts = sentence.split()
                words.extend(parts[: int(len(parts) * played / max(n, 1))])
                break
        return " ".join(words)


def _post(loop: asyncio.AbstractEventLoop, q: asyncio.Queue, item: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the loop closed under a finishing thread
        loop.call_soon_threadsafe(q.put_nowait, item)


SAID_LATELY_S = 20.0  # a reply's sentences stay in the room's hearing this long (the longest reply)


class ReplyVoice:
    def __init__(self, components: Any, max_tokens: int, max_sentences: int, prosody: Prosody) -> None:
        self.c = components
        self.max_tokens = max_tokens
        self.max_sentences = max_sentences
        self.prosody = prosody
        self.generation_active = threading.Event()
        self.generated_tokens = 0
        self._said: collections.deque[tuple[float, str]] = collections.deque(maxlen=32)

    def said_lately(self, seconds: float = SAID_LATELY_S) -> str:
        """What Twin has sent to a loudspeaker in the last `seconds` (replies, asides, rings), in
        order: what its echo can say (the front end's own-voice check)."""
        since = time.monotonic() - seconds
        return " ".join(text for t, text in self._said if t >= since)

    async def perform(
        self,
        rec: TurnRecorder,
        reply: Reply,
        sink: Sink | None,
        endpoint: Endpoint,
        messages: list[dict[str, str]] | None = None,
        direct: str | None = None,
        naive: bool = False,
        llm: Llm | None = None,
    ) -> None:
        """Produce the reply: `direct` text as composed (no model in between), else the model's
        answer to `messages` (`llm`, else the local model); spoken into `sink` unless it is None (a
        text-only turn)."""
        # the stages exchange the turn's own events: sentences, then audio, each closed by its stop
        sentence_q: asyncio.Queue[SentenceReady | ReplyTextStop] = asyncio.Queue()
        audio_q: asyncio.Queue[ReplyAudioChunk | ReplyAudioStop] = asyncio.Queue()
        async with asyncio.TaskGroup() as tg:
            if direct:
                tg.create_task(self.say(rec, reply, direct, sentence_q))
            else:
                assert messages is not None
                gate = reply.llm_may_run if sink is not None and not naive else None
                tg.create_task(self.generate(rec, reply, messages, sentence_q, gate, llm))
            if sink is not None:
                synthesize = self._synthesize_at_end if naive else self._synthesize
                tg.create_task(synthesize(rec, reply, sentence_q, audio_q, endpoint))
                tg.create_task(self._play(audio_q, sink, reply))
            else:
                tg.create_task(self._drain(sentence_q))

    async def say(self, rec: TurnRecorder, reply: Reply, text: str, sentence_q: asyncio.Queue) -> None:
        rec.emit(ReplyTextStart)
        splitter = SentenceSplitter(composed=True)
        for s in [*splitter.feed(text), *splitter.flush()]:
            await self._queue_sentence(rec, reply, s, sentence_q, bounded=False)
        await sentence_q.put(rec.emit(ReplyTextStop, text=text, tokens=0))

    async def generate(
        self,
        rec: TurnRecorder,
        reply: Reply,
        messages: list[dict[str, str]],
        sentence_q: asyncio.Queue,
        first_gate: threading.Event | None,
        model: Llm | None = None,
    ) -> None:
        """Stream the model's reply sentence by sentence into `sentence_q`."""
        loop = asyncio.get_running_loop()
        token_q: asyncio.Queue[Any] = asyncio.Queue()
        llm, stop = model or self.c.llm, reply.stop
        style = reply.style
        max_sentences = style.max_sentences if style else self.max_sentences

        def work() -> None:
            self.generation_active.set()
            try:
                for piece in llm.stream(messages, self.max_tokens, stop):
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
        future = loop.run_in_executor(self.c.pools.llm, work)
        splitter = SentenceSplitter()
        raw: list[str] = []
        leads = 0
        try:
            rec.emit(ReplyTextStart)
            if reply.lead:  # said while the model reads its prompt
                await self._queue_sentence(rec, reply, reply.lead, sentence_q, bounded=False)
                leads = len(reply.parts)
            while True:
                piece = await token_q.get()
                if piece is None:
                    break
                if isinstance(piece, Exception):
                    raise LlmError(f"the language model failed: {piece}", "run `twin models --check`")
                if isinstance(piece, Aside):  # a bridge or a notice: said, outside the reply's bounds
                    if spoken := to_spoken(piece):
                        await sentence_q.put(rec.emit(SentenceReady, text=spoken, index=len(reply.parts)))
                    continue
                raw.append(piece)
                rec.emit(ReplyTextChunk, text=piece)
                for s in splitter.feed(piece):
                    first = len(reply.parts) == leads
                    if not await self._queue_sentence(rec, reply, s, sentence_q, leads=leads):
                        stop.set()
                    # generation waits while the first sentence is synthesized: only once one was
                    # queued (a sentence the guard dropped reaches no synthesizer to let it go on)
                    if first and len(reply.parts) > leads and first_gate is not None:
                        first_gate.clear()
                if len(reply.parts) - leads >= max_sentences:
                    stop.set()
            if len(reply.parts) - leads < max_sentences and not stop.is_set():
                for s in splitter.flush():
                    await self._queue_sentence(rec, reply, s, sentence_q, leads=leads)
            if len(reply.parts) == leads and reply.guard is not None and reply.guard.dropped:
                await self._queue_sentence(rec, reply, reply.guard.fallback(), sentence_q, bounded=False)
            await sentence_q.put(rec.emit(ReplyTextStop, text="".join(raw), tokens=len(raw)))
        finally:
            stop.set()
            if first_gate is not None:
                first_gate.set()
            if not future.done():
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.shield(asyncio.wait_for(asyncio.shield(future), 2.0))

    async def _queue_sentence(
        self,
        rec: TurnRecorder,
        reply: Reply,
        sentence: str,
        q: asyncio.Queue,
        bounded: bool = True,
        leads: int = 0,
    ) -> bool:
        """One sentence in spoken form. A model's reply keeps within the turn style's bounds (whole
        sentences, the first always kept); a composed one (tool results, memories) is said in full.
        False when the reply is full: nothing more of it will be spoken. A model's sentence stating
        a figure that no source gave is not spoken at all (`reply.guard`)."""
        if bounded and reply.guard is not None and reply.guard.check(sentence) is None:
            return True
        spoken = to_spoken(sentence)
        if not spoken:
            return True
        style = reply.style
        if style is not None and bounded:  # the first `leads` sentences are outside the bounds
            answer = reply.parts[leads:]
            kept = bound_length([*answer, spoken], style.max_sentences, style.max_words)
            if len(kept) <= len(answer):
                return False
            spoken = kept[-1]
        reply.parts.append(spoken)
        await q.put(rec.emit(SentenceReady, text=spoken, index=len(reply.parts) - 1))
        return True

    async def _synthesize(
        self,
        rec: TurnRecorder,
        reply: Reply,
        sentence_q: asyncio.Queue,
        audio_q: asyncio.Queue,
        endpoint: Endpoint,
    ) -> None:
        loop = asyncio.get_running_loop()
        tts = self.c.tts
        prosody = reply.style.prosody if reply.style is not None else self.prosody
        index = 0
        end: ReplyAudioStop | None = None
        try:
            while isinstance(item := await sentence_q.get(), SentenceReady):
                sentence = item.text
                audio = await loop.run_in_executor(self.c.pools.tts, tts.synthesize_all, sentence, prosody)
                reply.llm_may_run.set()
                if not len(audio):
                    continue
                if index == 0:
                    await endpoint.wait()  # nothing is released before the user's turn has ended
                    rec.emit(ReplyAudioStart, sample_rate=tts.sample_rate)
                chunk = rec.emit(ReplyAudioChunk, samples=audio, sentence=sentence, index=index)
                index += 1
                await audio_q.put(chunk)
            if index:
                end = rec.emit(ReplyAudioStop)
        finally:
            reply.llm_may_run.set()
            audio_q.put_nowait(end or ReplyAudioStop(turn_id=rec.turn_id))

    async def _synthesize_at_end(
        self,
        rec: TurnRecorder,
        reply: Reply,
        sentence_q: asyncio.Queue,
        audio_q: asyncio.Queue,
        endpoint: Endpoint,
    ) -> None:
        """The naive baseline: the whole reply first, then all of its synthesis."""
        sentences = []
        while isinstance(item := await sentence_q.get(), SentenceReady):
            sentences.append(item.text)
        text = " ".join(sentences)
        loop = asyncio.get_running_loop()
        audio = await loop.run_in_executor(self.c.pools.tts, self.c.tts.synthesize_all, text, self.prosody)
        await endpoint.wait()
        if len(audio):
            rec.emit(ReplyAudioStart, sample_rate=self.c.tts.sample_rate)
            await audio_q.put(rec.emit(ReplyAudioChunk, samples=audio, sentence=text, index=0))
            await audio_q.put(rec.emit(ReplyAudioStop))
        else:
            await audio_q.put(ReplyAudioStop(turn_id=rec.turn_id))

    async def _play(self, audio_q: asyncio.Queue, sink: Sink, reply: Reply) -> None:
        while isinstance(item := await audio_q.get(), ReplyAudioChunk):
            if not reply.begun:
                sink.begin(self.c.tts.sample_rate)
                reply.begun = True
            reply.spoken.append((item.sentence, len(item.samples)))
            self._said.append((time.monotonic(), item.sentence))
            await sink.write(item.samples)

    @staticmethod
    async def _drain(sentence_q: asyncio.Queue) -> None:
        while isinstance(await sentence_q.get(), SentenceReady):
            pass

    async def speak_aside(self, text: str, sink: Any) -> None:
        """Say one short thing outside a turn's reply stream (a question)."""
        loop = asyncio.get_running_loop()
        tts = self.c.tts
        audio = await loop.run_in_executor(self.c.pools.tts, tts.synthesize_all, text, self.prosody)
        if len(audio):
            sink.begin(tts.sample_rate)
            self._said.append((time.monotonic(), text))
            await sink.write(audio)
