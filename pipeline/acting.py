"""The engine's side of acting: planning a turn's tools as the right person, asking out loud for
confirmation and hearing the answer, and ringing timers, alarms and reminders while Twin runs.

A mixin of `Twin` (pipeline/engine.py), kept apart so the turn's streaming path stays readable.
Who may do what is decided by the permission gate (pipeline/permissions.py) from facts the model
cannot forge: the speaker's role from their enrolled voice, and whether the voice is the owner's.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from dataclasses import dataclass
from typing import Any

from models.errors import TwinError
from voice.audio import AudioClip

from .asking import AnswerWaiter
from .events import Notice
from .permissions import Speaker

log = logging.getLogger(__name__)

# An answer this long is enough to tell whose voice it is; a shorter "yes" is accepted on the
# strength of the request, which was itself verified as the owner's.
_ANSWER_ID_SECONDS = 1.5


@dataclass
class TurnVoice:
    """What the tool layer may know about the turn's voice, set by the turn for its own task."""

    rec: Any  # the TurnRecorder, for notices
    sink: Any  # where the question is spoken (None: a text turn that cannot be asked out loud)
    speaker: str | None  # None: no voices enrolled; "unknown": enrolled voices, none of them
    voiced: bool  # a spoken turn (its voice can be verified) or a typed one


_TURN: contextvars.ContextVar[TurnVoice | None] = contextvars.ContextVar("twin_turn", default=None)


class Acting:
    """Needs from Twin: cfg, c (Components), memory, prosody and _transcribe()."""

    cfg: Any
    c: Any
    memory: Any

    def _init_acting(self) -> None:
        self.tools: Any = None  # the ToolSession, built on the first turn that may need a tool
        # Injected answerer (tests, a typed session). None: in the live loop, ask out loud;
        # elsewhere there is no way to ask, and every confirmation ends "not done".
        self.confirmer: Any = None
        self.asking = AnswerWaiter()
        self.live_sink: Any = None  # set while the live loop runs
        self._local_tools: Any = None

    # -- who is asking -----------------------------------------------------------------------------
    def _owners(self) -> list[str]:
        return self.c.speakers.owner_names() if self.cfg.identity.speakers else []

    def tool_speaker(self, speaker: str | None) -> Speaker:
        """The permission layer's view of the turn's speaker: an enrolled voice's role, a guest for
        a voice that is none of them, the owner when no voices are enrolled (a personal device)."""
        if speaker is None:
            return Speaker("owner", "owner")
        if speaker == "unknown":
            return Speaker("unknown", "guest")
        role = self.c.speakers.role_of(speaker) if self.cfg.identity.speakers else "guest"
        return Speaker(speaker, role)  # role_of: "guest" for anyone not enrolled

    def _owner_score(self) -> float | None:
        """The gate's owner check for the current turn: 1.0 when the turn's voice is an enrolled
        owner's, 0.0 when it is anyone else's; None when nothing can be checked (a typed command
        at the device, or no owner enrolled)."""
        voice = _TURN.get()
        owners = self._owners()
        if voice is None or not voice.voiced or not owners:
            return None
        return 1.0 if voice.speaker in owners else 0.0

    @property
    def local_tools(self) -> Any:
        if self._local_tools is None:
            from .tools.local import LocalTools

            self._local_tools = LocalTools(
                self.cfg.data_path, outbox=self.cfg.tools.outbox, memory=self.memory
            )
        return self._local_tools

    # -- planning ----------------------------------------------------------------------------------
    async def _plan(self, text: str, endpoint: Any, speaker: str | None = None) -> Any:
        """The planner's result for this turn, or None when it needs no tool (plain reply). Nothing
        acts on a speculative turn: tools wait until the user's turn has really ended."""
        from .planner import might_need_tools

        if not self.cfg.tools.enabled or not might_need_tools(text):
            return None
        if self.tools is None:
            from .tool_session import ToolSession

            loop = asyncio.get_running_loop()

            def build() -> Any:
                return ToolSession(
                    self.cfg,
                    self.c.planner_model,
                    self._confirm,
                    owner_verifier=self._owner_score,
                    local=self.local_tools,
                )

            # loads a model and starts MCP servers: off the loop
            self.tools = await loop.run_in_executor(self.c.llm_pool, build)
            voice = _TURN.get()
            for problem in self.tools.mcp_problems if voice is not None else ():
                voice.rec.emit(Notice, code="mcp_unavailable", message=problem)
        await endpoint.wait()
        return await self.tools.plan(text, self.tool_speaker(speaker))

    # -- asking out loud ---------------------------------------------------------------------------
    async def ask_and_hear(self, question: str, timeout_s: float) -> tuple[AudioClip, str] | None:
        """Say `question`, then hear the user's next utterance (and its transcript) within
        `timeout_s`. None when there is no one to ask (not a live session) or no answer came."""
        if self.live_sink is None:
            return None  # not in a live session: no one can answer
        voice = _TURN.get()
        sink = voice.sink if voice is not None and voice.sink is not None else self.live_sink
        if voice is not None:
            voice.rec.emit(Notice, code="asking", message=question)
        await self.speak_aside(question, sink)
        clip = await self.asking.wait(timeout_s)
        if clip is None:
            return None
        tr = await self._transcribe(clip)  # type: ignore[attr-defined]
        if voice is not None:
            voice.rec.emit(Notice, code="answer", message=tr.text)
        return clip, tr.text

    async def _confirm(self, question: str, timeout_s: float) -> str | None:
        if self.confirmer is not None:
            return await self.confirmer(question, timeout_s)
        heard = await self.ask_and_hear(question, timeout_s)
        if heard is None:
            return None
        clip, text = heard
        if not await self._answer_from_asker(clip):
            voice = _TURN.get()
            if voice is not None:
                voice.rec.emit(Notice, code="answer_voice", message="the answer came from another voice")
            return ""
        return text

    # -- enrolment by voice ------------------------------------------------------------------------
    async def enrol_by_voice(self, text: str, speaker: str | None, endpoint: Any = None) -> str | None:
        """ "This is my voice, I'm Anna": a short spoken dialogue that enrols the speaker. Returns
        the reply to speak, or None when `text` is not such a request."""
        from voice.speakers import SpeakerError

        from .voice_enrol import VoiceEnrolment, parse_enrol_request, parse_name

        if not self.cfg.identity.speakers:
            return None
        request = parse_enrol_request(text)
        if request is None:
            return None
        if endpoint is not None:
            await endpoint.wait()  # it changes stored data: only once the user has surely finished
        if self.live_sink is None:
            return (
                "I can learn your voice in a live session, or from recordings with twin enroll, "
                "your name and a few audio files."
            )
        reg = self.c.speakers
        loop = asyncio.get_running_loop()
        timeout = max(self.cfg.tools.confirm_timeout_s, 10.0)
        owners = self._owners()
        if owners and speaker not in owners and not await self._owner_allows(owners[0], timeout):
            return f"Only {owners[0]} can add a new voice, so I haven't learned this one."
        name = request.name
        if name is None:
            heard = await self.ask_and_hear("What's your name?", timeout)
            name = parse_name(heard[1]) if heard else None
            if not name:
                return "I didn't catch your name. Say: this is my voice, I'm, and then your name."
        try:
            job = await loop.run_in_executor(self.c.identity_pool, VoiceEnrolment, reg, name)
            prompt: str | None = job.first_prompt()
            while prompt is not None:
                heard = await self.ask_and_hear(prompt, timeout)
                if heard is None:
                    return "I'll stop there. We can try again whenever you like."
                prompt = await loop.run_in_executor(self.c.identity_pool, job.add, *heard)
            return await loop.run_in_executor(self.c.identity_pool, job.finish)
        except SpeakerError as exc:  # every message from the enrolment is written to be spoken
            return exc.message

    async def _owner_allows(self, owner: str, timeout_s: float) -> bool:
        """The owner's say-so, in a voice identified as theirs (long enough to tell: a bare "yes"
        is not enough here)."""
        from .permissions import is_explicit_yes

        heard = await self.ask_and_hear(
            f"A new voice wants to be learned. {owner}, if you allow it, say: yes, I allow it.", timeout_s
        )
        if heard is None or not is_explicit_yes(heard[1]):
            return False
        reg = self.c.speakers
        loop = asyncio.get_running_loop()
        verdict = await loop.run_in_executor(self.c.identity_pool, reg.owner_verification, heard[0])
        return bool(verdict.accepted)

    async def _answer_from_asker(self, clip: AudioClip) -> bool:
        """With an owner enrolled, a yes must not come from someone else: an answer long enough to
        identify must be the owner's voice; an enrolled non-owner's voice is refused at any length."""
        owners = self._owners()
        if not owners:
            return True
        reg = self.c.speakers
        loop = asyncio.get_running_loop()
        emb = await loop.run_in_executor(self.c.identity_pool, reg.embedder.embed, clip)
        match = reg.identify_embedding(emb)
        if match.name in owners:
            return True
        if match.name != "unknown":
            return False  # another enrolled person
        return emb.speech_seconds < _ANSWER_ID_SECONDS

    async def speak_aside(self, text: str, sink: Any) -> None:
        """Say one short thing outside a turn's reply stream (a question, a timer's ring)."""
        loop = asyncio.get_running_loop()
        tts = self.c.tts
        audio = await loop.run_in_executor(self.c.tts_pool, tts.synthesize_all, text, self.prosody)  # type: ignore[attr-defined]
        if len(audio):
            sink.begin(tts.sample_rate)
            await sink.write(audio)

    # -- the clock ---------------------------------------------------------------------------------
    async def ring_due(self, say: Any, idle: Any, period_s: float = 1.0) -> None:
        """Runs beside the live loop: every `period_s`, timers, alarms and reminders that came due
        are announced, each when no turn is under way (`idle()`), so a ring never talks over a reply."""
        loop = asyncio.get_running_loop()
        local = self.local_tools
        while True:
            try:
                due = await loop.run_in_executor(self.c.memory_pool, local.fire_due)
            except (OSError, TwinError) as exc:  # a full disk or a damaged file: the clock goes on
                log.warning("could not update timers: %s", exc)
                due = []
            for item in due:
                while not idle():
                    await asyncio.sleep(0.1)
                await say(ring_text(item))
            await asyncio.sleep(period_s)


def ring_text(item: dict[str, Any]) -> str:
    kind, label = item.get("kind", "timer"), str(item.get("label", "")).strip()
    if kind == "reminder":
        return f"A reminder: {label}."
    if kind == "alarm":
        name = label if label.lower().endswith("alarm") else f"{label} alarm".strip()
        return f"Your {name} is ringing."
    name = label if label.lower().endswith("timer") else f"{label} timer".strip()
    return f"Your {name} is done."


@contextlib.contextmanager
def turn_voice(voice: TurnVoice):
    token = _TURN.set(voice)
    try:
        yield
    finally:
        _TURN.reset(token)
