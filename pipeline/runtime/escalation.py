"""The session's side of escalation: for a turn whose reply a model writes, ask the router (local or
remote), ask the user when the policy says "ask", and build what goes out.

What leaves is rebuilt, never copied from the local prompt: the persona's system prompt, the
session's dialogue (user and assistant lines only: earlier turns' context lines held recalled
memories), a fresh context line with only the memories and tool results the policy lets out, and the
user's words. Memories marked private never leave; a dialogue line that repeats one stays home too.
Then names of people and places Twin knows from memory become placeholders (llm/pseudonyms.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from typing import Any

from pipeline.acting.permissions import is_explicit_yes
from pipeline.config import TwinConfig
from pipeline.events import Notice
from pipeline.llm.base import Llm
from pipeline.llm.escalated import EscalatedLlm
from pipeline.llm.pseudonyms import Pseudonyms, names_in
from pipeline.llm.remote import RemoteLlm
from pipeline.llm.router import RouteDecision, Router, TurnFacts

_CONTENT = re.compile(r"[A-Za-z0-9']{3,}")


def _content_words(text: str) -> set[str]:
    return {w.lower() for w in _CONTENT.findall(text)}


def repeats(line: str, private_line: str) -> bool:
    """A dialogue line that carries most of a private memory's content words."""
    words = _content_words(private_line)
    return len(words) >= 2 and len(words & _content_words(line)) >= max(2, int(0.6 * len(words)))


class Escalation:
    def __init__(self, cfg: TwinConfig, components: Any, conversation: Any, asker: Any) -> None:
        self.cfg = cfg
        self.c = components
        self.conversation = conversation
        self.asker = asker
        self.remote = RemoteLlm(cfg.remote) if cfg.remote.enabled else None
        self.router = Router(cfg.remote, cfg.routing, cfg.device_profile, self.remote)
        self.last: RouteDecision | None = None
        self.last_llm: EscalatedLlm | None = None

    def classify(self, recalled: list[str], scope: str | None) -> list[tuple[str, bool]]:
        """(line, private) for each recalled line: shareable only when it is a stored item marked
        `private: false`; anything unknown counts as private."""
        memory = self.c.memory
        if memory is None or not recalled:
            return [(line, True) for line in recalled]
        from memory.items import as_line

        public = {as_line(it) for it in memory.list(scope) if not it.private}
        return [(line, line not in public) for line in recalled]

    def pseudonyms(self, scope: str | None, speaker: str | None) -> Pseudonyms:
        names: list[tuple[str, str]] = []
        if speaker and speaker not in ("unknown", "guest", "owner"):
            names.append((speaker, "PERSON"))
        memory = self.c.memory
        if memory is not None:
            for it in memory.list(scope):
                names.extend(names_in(it.text, it.key))
        return Pseudonyms(names)

    async def llm_for(
        self,
        rec: Any,
        turn: Any,
        text: str,
        language: str,
        recalled: list[str],
        style: Any,
        tool_context: str,
        scope: str | None,
    ) -> Llm | None:
        """The escalated model for this turn, or None: the local model answers."""
        loop = asyncio.get_running_loop()
        memories = self.classify(recalled, scope)
        facts = TurnFacts(text, memories, tool_context)
        decision = await loop.run_in_executor(self.c.pools.recall, self.router.decide, facts)
        self.last = decision
        detail = "; ".join(f"{r.signal}: {r.detail}" for r in decision.reasons if r.says != "-")
        rec.emit(Notice, code=f"route_{decision.target}", message=detail)
        if decision.target == "ask":
            answer = await self.asker.confirmer_for(turn)(
                "This needs my bigger model, which is not on this device. May I ask it?",
                self.cfg.routing.ask_timeout_s,
            )
            if not is_explicit_yes(answer):
                rec.emit(
                    Notice, code="route_declined", message="no yes to the bigger model: answered locally"
                )
                return None
        elif decision.target != "remote":
            return None
        assert self.remote is not None
        private = [line for line, p in memories if p]
        allowed = [line for line, p in memories if not p] if "memories" in decision.leaving else []
        extra = tool_context if "tool_results" in decision.leaving else ""
        messages = self.conversation.messages_for(text, language, allowed, style, extra)
        last = len(messages) - 2
        out = [m for i, m in enumerate(messages) if m["role"] != "system" or i in (0, last)]
        out = [m for m in out if m["role"] == "system" or not any(repeats(m["content"], p) for p in private)]
        speaker = getattr(getattr(turn, "identity", None), "name", None)
        names = self.pseudonyms(scope, speaker) if self.cfg.remote.pseudonymise else Pseudonyms()
        r = self.cfg.remote
        notify = functools.partial(_notify_threadsafe, loop, rec)
        bridge = r.bridge_after_ms / 1000 if turn is not None and turn.sink is not None else None
        self.last_llm = EscalatedLlm(
            self.remote, self.c.llm, names.hide_messages(out), names, bridge, r.bridge_text, notify
        )
        return self.last_llm

    def finished(self) -> str:
        """After the turn: the measured first token and any failure go to the router. Returns what
        the user is told besides the reply (a fallback or a cut), or ""."""
        llm, self.last_llm = self.last_llm, None
        if llm is None:
            return ""
        o = llm.outcome
        self.router.record(o.first_token_ms, failed=o.fell_back or bool(o.error and not o.cut))
        return " ".join(message for _, message in o.notices)


def _notify_threadsafe(loop: asyncio.AbstractEventLoop, rec: Any, code: str, message: str) -> None:
    emit = functools.partial(rec.emit, Notice, code=code, message=message)
    with contextlib.suppress(RuntimeError):  # the loop closed under a finishing thread
        loop.call_soon_threadsafe(emit)
