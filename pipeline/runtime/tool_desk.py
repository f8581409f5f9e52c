"""The turn's way to tools: the session's local tools (their clock rings timers), the tool session
built on the first turn that may need one, and planning as the right person with the turn's own
confirmer and owner-voice score handed in explicitly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pipeline.acting.background import asked_about
from pipeline.acting.planner import asks_again, asks_undo
from pipeline.acting.routing import route
from pipeline.acting.speech_act import classify
from pipeline.config import TwinConfig
from pipeline.conversation.household import Household
from pipeline.runtime.asking import Asker, TurnVoice
from pipeline.runtime.endpointing import Endpoint


class ToolDesk:
    def __init__(
        self,
        cfg: TwinConfig,
        components: Any,
        memory: Any,
        household: Household,
        asker: Asker,
        audit: Any = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.cfg = cfg
        self.clock = clock  # the session's clock (tests freeze it): the time the tools tell and ring by
        self.c = components
        self.memory = memory
        self.household = household
        self.asker = asker
        self.audit = audit
        self.session: Any = None  # the ToolSession, built at warm-up (`prepare`) or on the first tool turn
        self._local: Any = None
        self._reading: Any = None  # PlainReading over the local tools, until a session has its own
        self._problems_told = False
        # In the hub: the device this desk's session serves (recorded with each timer it sets), and
        # whether this session's own loop rings timers (no: the hub's one clock routes them).
        self.device = ""
        self.rings_clock = True
        # In the hub: the household's calls under way, shared by every device (None: the session's
        # own, its runner's; acting/background.py)
        self.calls: Any = None

    def serve_device(self, name: str, calls: Any = None) -> None:
        """This session is the hub's device `name`: its timers record it, and the hub rings them;
        its slow tool calls join the household's `calls` (a task asked in the car goes on at home,
        its result said by the hub's clock where its owner last spoke)."""
        self.device, self.rings_clock, self.calls = name, False, calls
        if self._local is not None:
            self._mark_device(self._local)
        if self.session is not None:
            self._join_calls(self.session)

    def _join_calls(self, session: Any) -> None:
        session.runner.device = self.device
        if self.calls is not None:
            session.runner.background = self.calls

    def _mark_device(self, local: Any) -> None:
        """Families that record where they were used (the clock, the intercom) learn this device."""
        for family in local.families:
            if hasattr(family, "origin_device"):
                family.origin_device = self.device

    @property
    def local(self) -> Any:
        if self._local is None:
            from pipeline.tools.local import LocalTools

            self._local = LocalTools(
                self.cfg.data_path, now=self.clock, outbox=self.cfg.tools.outbox, memory=self.memory
            )
            self._mark_device(self._local)
        return self._local

    @property
    def index(self) -> Any:
        """Tools found by meaning (None when the encoder is unavailable: words only)."""
        return getattr(self.c, "tool_index", None)

    def settles(self, text: str) -> str:
        """Whether the words settle a tool's call with no model to ask (`PlainReading.kind`):
        "read" when it is a read, "act" when it may change something and more words could change
        the call, "closed" when they could not (`PlainReading.goes_on`), "" when they do not. The
        end-of-turn judge takes such words as a finished request (pipeline/runtime/turn_end.py).
        Routing may embed the words: call it on the meaning worker, not on the event loop."""
        if not self.cfg.tools.enabled:
            return ""
        planner = self.session.planner if self.session is not None else None
        reading = planner.reading if planner is not None else self._reading
        if reading is None:
            from pipeline.acting.plain_reading import PlainReading

            reading = self._reading = PlainReading(self.local.registry(), self.index)
        return reading.kind(text)

    async def _routed(self, text: str, registry: Any = None) -> list[str]:
        """The tools `text` is about, by its words or its meaning (`registry`: the local tools when
        None, no session needed). `route` runs on the meaning worker, never on the event loop (the
        e5 encode beside the model's decode took up to ~140 ms, and the loop runs the microphone's
        frames); the request's vector stays in the index's cache for the planner's own routing."""
        if registry is None:
            if not self.cfg.tools.enabled:
                return []
            registry = self.local.registry()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.c.pools.meaning, route, text, registry, self.index)

    async def plan(self, text: str, endpoint: Endpoint, turn: TurnVoice) -> Any:
        """The planner's result for this turn, or None when it needs no tool (plain reply). A
        configured MCP server's tools are reachable the moment it is configured: with servers in
        config the session is built on the first turn, and a request whose words only a third-party
        tool declares also goes to the planner. Nothing acts on a speculative turn: tools wait until
        the user's turn has really ended, except a read the words settle (`PlainReading.settles`)."""
        # "undo that", "do that again" name no tool: the planner puts back or makes again its own
        # last change
        local = bool(await self._routed(text)) or (
            self.cfg.tools.enabled and (asks_undo(text) or asks_again(text))
        )
        if not local and not (self.cfg.tools.enabled and self.cfg.tools.mcp):
            return None
        session = await self._session(turn)
        if not local and not await self._routed(text, session.registry):
            return None
        act = classify(text, turn.final_rise_st)
        # a read the words settle changes nothing: planned (and its answer voiced) during the pause,
        # released only once the turn has ended (reply_voice); anything else waits for the end
        loop = asyncio.get_running_loop()
        planner = session.planner
        early = (
            not endpoint.confirmed
            and planner is not None
            and await loop.run_in_executor(self.c.pools.meaning, planner.reading.settles, text, act, True)
        )
        if not early:
            await endpoint.wait()
        return await session.plan(
            text,
            self.household.speaker(turn.identity),
            confirmer=self.asker.confirmer_for(turn),
            owner_score=self.household.owner_score(turn.identity, turn.voiced),
            act=act,
            # only a live session can say a slow call's result later; a typed turn waits for it
            patience_s=self.cfg.tools.patience_s if self.asker.live else None,
        )

    def fire_due(self) -> list[dict[str, Any]]:
        """What the live loop's clock should say now: timers, alarms and reminders that came due,
        and the results of tool calls that went on in the background. In the hub both are the hub
        clock's to say, on the right device."""
        if not self.rings_clock:
            return []
        due = self.local.fire_due()
        if self.session is not None:
            due += self.session.runner.background.due()
        return due

    def _background(self) -> Any:
        if self.calls is not None:
            return self.calls
        return self.session.runner.background if self.session is not None else None

    def about_pending(self, text: str, speaker: str) -> str | None:
        """'Never mind the report', 'is the report ready?': the reply about the speaker's calls under
        way (in the hub, asked on any device), or None when `text` is about none of them."""
        calls = self._background()
        if calls is None:
            return None  # no tool session yet: no call was ever made
        device = self.device or None
        reply = calls.cancel_spoken(text, speaker, device) or calls.status_spoken(text, speaker, device)
        if reply is None and self.session is not None:
            # "is the report ready?" with nothing under way: about a task, not a request to start an
            # MCP server's `write_report` (Twin's own tools answer for their state: "is the timer done?")

            def names() -> list[str]:
                return [t.name for t in self.session.registry if "__" in t.name]

            if (thing := asked_about(text, names)) is not None:
                reply = f"I'm not working on {thing} right now. Ask me if you'd like me to start."
        return reply

    def prepare(self) -> None:
        """Before the first turn (warm-up): build the tool session now (the planner's own small
        context, ~30 MB; MCP servers started when configured), so the first turn that needs a tool
        does not pay for it on the voice path (~30 ms here; MCP servers take longer)."""
        if self.cfg.tools.enabled:
            _ = self.index  # the meaning index (e5), loaded now rather than on the first turn
            if self.session is None:
                self.session = self._build()

    def _build(self) -> Any:
        from pipeline.acting.session import ToolSession

        session = ToolSession(
            self.cfg, self.c.planner_model, local=self.local, audit=self.audit, index=self.index
        )
        self._join_calls(session)
        return session

    async def _session(self, turn: TurnVoice) -> Any:
        if self.session is None:
            # loads a model and starts MCP servers: off the loop
            loop = asyncio.get_running_loop()
            self.session = await loop.run_in_executor(self.c.pools.llm, self._build)
        if not self._problems_told:
            self._problems_told = True
            for problem in self.session.mcp_problems:
                turn.notify("mcp_unavailable", problem)
        return self.session
