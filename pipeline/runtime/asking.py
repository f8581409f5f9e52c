"""Twin asks, the user answers out loud: the seam between a turn that needs an answer (a
confirmation, a name) and the live loop that hears it.

The turn speaks its question, then waits here. While it waits, the live loop sends the next whole
utterance to it instead of starting a new turn; nothing is spoken over the question, and what the
microphone picked up while Twin was speaking is dropped (half duplex).

The tool layer never calls back into the engine: each turn hands it a confirmer bound to that turn
(`Asker.confirmer_for`), which knows the turn's voice, sink and record. No context variables.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.acting.permissions import is_explicit_yes
from pipeline.conversation.hearing import SpeakerIdentity
from pipeline.conversation.household import Household
from pipeline.events import Notice
from pipeline.runtime.turn import TurnRecorder
from voice.audio import AudioClip

# An answer this long is enough to tell whose voice it is; a shorter "yes" is accepted on the
# strength of the request, which was itself verified as the owner's.
ANSWER_ID_SECONDS = 1.5


@dataclass
class AnswerWaiter:
    _future: asyncio.Future[AudioClip] | None = None
    wanted: asyncio.Event = field(default_factory=asyncio.Event)
    fresh: bool = False  # the loop has not yet dropped what it heard before the question ended

    @property
    def waiting(self) -> bool:
        return self._future is not None and not self._future.done()

    async def wait(self, timeout_s: float) -> AudioClip | None:
        """The user's next utterance, or None when none came within `timeout_s`."""
        loop = asyncio.get_running_loop()
        self._future = loop.create_future()
        self.fresh = True
        self.wanted.set()
        try:
            return await asyncio.wait_for(self._future, timeout_s)
        except TimeoutError:
            return None
        finally:
            self.wanted.clear()
            self._future = None

    def answer(self, audio: AudioClip) -> bool:
        """Called by the live loop with a finished utterance; False when nobody is waiting."""
        if not self.waiting:
            return False
        self._future.set_result(audio)  # type: ignore[union-attr]
        self.wanted.clear()  # now, not when the waiter resumes: the loop may wait for the next ask
        return True


async def wait_turn_or_question(task: asyncio.Task[Any], waiter: AnswerWaiter) -> None:
    """For input fed faster than real time: wait for the turn, or for it to ask the user something
    (the answer is still to come from the same input, so waiting for the turn would never end)."""
    asked = asyncio.ensure_future(waiter.wanted.wait())
    try:
        await asyncio.wait([task, asked], return_when=asyncio.FIRST_COMPLETED)
    finally:
        asked.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asked


@dataclass(frozen=True)
class TurnVoice:
    """What asking may know about the turn: its record (for notices), where a question is spoken
    (None: a text turn that cannot be asked out loud), who spoke, and whether it was spoken."""

    rec: TurnRecorder
    sink: Any
    identity: SpeakerIdentity
    voiced: bool
    final_rise_st: float | None = None  # the pitch movement at the end of the user's words

    def notify(self, code: str, message: str) -> None:
        self.rec.emit(Notice, code=code, message=message)


# A short answer in Twin's own voice scores lower against its references than a long enrolment clip
# (Piper saying "Yes." 0.69-0.87; "Yes, go ahead and send it." 0.89), so answers get a lower limit than
# enrolment's. Chosen between the 28 human clips of speechbrain_samples (highest 0.66) and eight short
# Piper answers (lowest 0.69): a narrow margin, stated in the README; a human voice very like Twin's may
# have to say its yes again.
TWIN_VOICE_ANSWER_LIMIT = 0.675


class Asker:
    """Asks out loud in the live loop and hears the answer. Outside a live session there is no one
    to ask: every question goes unanswered, so every confirmation ends "not done"."""

    def __init__(
        self,
        components: Any,
        household: Household,
        transcribe: Callable[[AudioClip], Awaitable[Any]],
        say_aside: Callable[[str, Any], Awaitable[None]],
    ) -> None:
        self.c = components
        self.household = household
        self._transcribe = transcribe
        self._say_aside = say_aside
        self.waiter = AnswerWaiter()
        self.live_sink: Any = None  # set while the live loop runs

    def start_live(self, sink: Any) -> None:
        self.live_sink = sink
        self.waiter = AnswerWaiter()  # its event belongs to this loop

    def stop_live(self) -> None:
        self.live_sink = None

    @property
    def live(self) -> bool:
        return self.live_sink is not None

    async def ask_and_hear(
        self, question: str, timeout_s: float, turn: TurnVoice | None = None
    ) -> tuple[AudioClip, str] | None:
        """Say `question`, then hear the user's next utterance (and its transcript) within
        `timeout_s`. None when there is no one to ask (not a live session) or no answer came."""
        if self.live_sink is None:
            return None
        sink = turn.sink if turn is not None and turn.sink is not None else self.live_sink
        if turn is not None:
            turn.notify("asking", question)
        await self._say_aside(question, sink)
        clip = await self.waiter.wait(timeout_s)
        if clip is None:
            return None
        tr = await self._transcribe(clip)
        if turn is not None:
            turn.notify("answer", tr.text)
        return clip, tr.text

    def confirmer_for(self, turn: TurnVoice) -> Callable[[str, float], Awaitable[str | None]]:
        """The tool layer's way to ask this turn's user (pipeline.acting.permissions.Confirmer)."""

        async def confirm(question: str, timeout_s: float) -> str | None:
            heard = await self.ask_and_hear(question, timeout_s, turn)
            if heard is None:
                return None
            clip, text = heard
            if not await self.answer_from_asker(clip):
                turn.notify("answer_voice", "the answer came from another voice")
                return ""
            return text

        return confirm

    async def owner_allows(self, owner: str, timeout_s: float, turn: TurnVoice | None = None) -> bool:
        """The owner's say-so, in a voice identified as theirs (long enough to tell: a bare "yes"
        is not enough here)."""
        heard = await self.ask_and_hear(
            f"A new voice wants to be learned. {owner}, if you allow it, say: yes, I allow it.",
            timeout_s,
            turn,
        )
        if heard is None or not is_explicit_yes(heard[1]):
            return False
        loop = asyncio.get_running_loop()
        verdict = await loop.run_in_executor(
            self.c.pools.identity, self.c.speakers.owner_verification, heard[0]
        )
        return bool(verdict.accepted)

    async def answer_from_asker(self, clip: AudioClip) -> bool:
        """A yes never comes from Twin's own synthetic voice (its playback leaking back into the
        microphone, or anyone replaying it), enrolled or not. With an owner enrolled, a yes must not
        come from someone else either: an answer long enough to identify must be the owner's voice;
        an enrolled non-owner's voice is refused at any length."""
        reg = self.c.speakers
        loop = asyncio.get_running_loop()
        emb = await loop.run_in_executor(self.c.pools.identity, reg.embedder.embed, clip)
        if reg.twin_voice.score(emb.vector) >= min(reg.twin_voice.limit, TWIN_VOICE_ANSWER_LIMIT):
            return False
        owners = self.household.owners()
        if not owners:
            return True
        verdict = await loop.run_in_executor(self.c.pools.identity, reg.owner_verification, emb)
        if verdict.accepted:  # the strict check (both naming rules), as for any permission
            return True
        match = reg.identify_embedding(emb)
        if match.name != "unknown" and match.name not in owners:
            return False  # another enrolled person
        return emb.speech_seconds < ANSWER_ID_SECONDS
