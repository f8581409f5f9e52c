"""What is answered before the planner and without the model: spoken enrolment ("this is my voice,
I'm Anna") and memory commands ("forget that"). Each changes stored data, so each waits until the
user's turn has surely ended."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from memory import parse_command
from pipeline.config import TwinConfig
from pipeline.conversation.recall import ForgetAsk, MemoryBridge
from pipeline.conversation.voice_enrol import VoiceEnrolment, parse_enrol_request, parse_name
from pipeline.runtime.endpointing import Endpoint

if TYPE_CHECKING:
    from pipeline.runtime.asking import Asker, TurnVoice


class FastPath:
    def __init__(self, cfg: TwinConfig, components: Any, asker: Asker, memory: MemoryBridge) -> None:
        self.cfg = cfg
        self.c = components
        self.asker = asker
        self.memory = memory

    async def answer(self, text: str, turn: TurnVoice, endpoint: Endpoint) -> str | None:
        """The reply to speak, or None when `text` is for the planner and the model."""
        fixed = await self.enrol_by_voice(text, turn, endpoint) if turn.voiced else None
        return fixed or await self.memory.command(
            text, turn.identity.scope, endpoint, self.forget_ask(text, turn)
        )

    def forget_ask(self, text: str, turn: TurnVoice) -> ForgetAsk | None:
        """How a forget command in this turn may be confirmed: a spoken yes through the turn's own
        confirmer in a live session (the sensitive tier's question), nobody to ask otherwise (a typed
        `twin ask`: the command is not carried out). None when `text` is no forget command."""
        cmd = parse_command(text)
        if cmd is None or not cmd.action.startswith("forget"):
            return None
        owners = list(self.asker.household.owners())
        return ForgetAsk(
            self.asker.confirmer_for(turn) if self.asker.live else None,
            who=turn.identity.scope or "owner",
            owners=owners,
            timeout_s=max(self.cfg.tools.confirm_timeout_s, 10.0),
            turn=str(getattr(turn.rec, "turn_id", "")),
        )

    async def enrol_by_voice(
        self, text: str, turn: TurnVoice, endpoint: Endpoint | None = None
    ) -> str | None:
        """A short spoken dialogue that enrols the speaker. Returns the reply to speak, or None when
        `text` is not such a request."""
        from voice.speakers import SpeakerError

        if not self.cfg.identity.speakers:
            return None
        request = parse_enrol_request(text)
        if request is None:
            return None
        if endpoint is not None:
            await endpoint.wait()
        if not self.asker.live:
            return (
                "I can learn your voice in a live session, or from recordings with twin enroll, "
                "your name and a few audio files."
            )
        loop = asyncio.get_running_loop()
        timeout = max(self.cfg.tools.confirm_timeout_s, 10.0)
        owners = self.asker.household.owners()
        if (
            owners
            and turn.identity.scope not in owners
            and not await self.asker.owner_allows(owners[0], timeout, turn)
        ):
            return f"Only {owners[0]} can add a new voice, so I haven't learned this one."
        name = request.name
        if name is None:
            heard = await self.asker.ask_and_hear("What's your name?", timeout, turn)
            name = parse_name(heard[1]) if heard else None
            if not name:
                return "I didn't catch your name. Say: this is my voice, I'm, and then your name."
        pool = self.c.pools.identity
        try:
            job = await loop.run_in_executor(pool, VoiceEnrolment, self.c.speakers, name)
            prompt: str | None = job.first_prompt()
            while prompt is not None:
                heard = await self.asker.ask_and_hear(prompt, timeout, turn)
                if heard is None:
                    return "I'll stop there. We can try again whenever you like."
                prompt = await loop.run_in_executor(pool, job.add, *heard)
            return await loop.run_in_executor(pool, job.finish)
        except SpeakerError as exc:  # every message from the enrolment is written to be spoken
            return exc.message
