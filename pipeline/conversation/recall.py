"""The conversation's side of long-term memory: spoken memory commands, recall under a strict
time budget (a slow store never holds the reply), and the write policy after the turn, off the
voice path."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memory import (
    HOUSEHOLD,
    ForgetPlan,
    MemoryRecall,
    Receipt,
    WriteRequest,
    parse_command,
    parse_statement,
    parse_write_request,
)
from memory.confirm import off_reply
from models.errors import TwinError
from pipeline.acting.audit import AuditLog
from pipeline.acting.permissions import is_explicit_yes
from pipeline.acting.session import audit_path
from pipeline.acting.speech_act import asks_anything
from pipeline.config import TwinConfig
from pipeline.runtime.endpointing import Endpoint
from pipeline.runtime.retention import erase_conversation_records

log = logging.getLogger(__name__)

FORGET_TOOL = "memory.forget"  # the audit's name for a forget that did not come through the tool runner


def stated_fact(text: str) -> WriteRequest | None:
    """A fact the user only states ("My daughter Mia is allergic to peanuts."), kept at once and
    acknowledged; None when any clause of the words also asks for something ("My daughter is Mia,
    can you set a timer for 5 minutes": speech_act's reading, clause by clause), or states no such
    fact. What it asks is answered; the fact is kept after the turn by the write policy."""
    return None if asks_anything(text) else parse_statement(text)


@dataclass(frozen=True)
class ForgetAsk:
    """How a forget command may be confirmed in this turn: `confirm` asks out loud and returns the
    answer ("" when another voice answered, None when none came), None when there is no way to ask
    (a typed `twin ask` turn, no live session). `who` is the turn's speaker scope ("owner" on a
    device where nobody is enrolled); `owners` are the enrolled owners (none: a personal device)."""

    confirm: Callable[[str, float], Awaitable[str | None]] | None
    who: str = "owner"
    owners: list[str] = field(default_factory=list)
    timeout_s: float = 10.0
    turn: str = ""


def audit_forget(
    audit: AuditLog | None,
    plan: ForgetPlan,
    decision: str,
    who: str,
    reasons: list[str],
    receipt: Receipt | None = None,
    turn: str = "",
) -> str:
    """One audit entry for a forget request (voice or CLI): the decision, the count, who, and the
    receipt. Returns "" or why the entry could not be written: the audit sits on the same disk, and
    forgetting must still work on a full one, so a failed entry is reported, not fatal."""
    if audit is None:
        return "no audit log"
    status = "done" if receipt is not None else "not_run"
    result = {"count": plan.count, "deleted": receipt.deleted if receipt else 0}
    if receipt is not None and receipt.path is not None:
        result["receipt"] = str(receipt.path)
    try:
        audit.append(
            tool=FORGET_TOOL,
            args={"scope": plan.scope, "selector": plan.selector},
            tier="sensitive",
            decision=decision,
            status=status,
            who=who,
            result=result,
            reasons=reasons,
            turn=turn,
            key="",
        )
    except (OSError, TwinError) as exc:  # the audit's own typed errors (a broken chain) included
        return f"{type(exc).__name__}: {exc}"[:120]
    return ""


def may_delete(plan: ForgetPlan, who: str, owners: list[str]) -> bool:
    """With an owner enrolled, only an owner may delete an owner's or the household's memories (or
    the shared guest scope, which is every unknown voice's); anyone else only their own."""
    if not owners or who in owners:
        return True
    return plan.scope not in {*owners, HOUSEHOLD, "guest", "owner"} and plan.scope == who


ERASED_RECORDS = {
    "en": " Saved transcripts and reply audio are erased too.",
    "zh": "保存的对话记录和回复音频也已删除。",
}


def erase_records(data_dir: Path) -> int:
    """Traces and stored reply audio, erased with "forget everything"; a file that cannot be
    removed is logged, never a reason to fail the reply (the memories are already gone)."""
    try:
        return erase_conversation_records(data_dir)
    except TwinError as exc:
        log.warning("could not erase every conversation record: %s", exc.message)
        return 0


PATIENT_RECALL_S = 2.0  # how long a question about the user's own facts waits for memory


class MemoryBridge:
    def __init__(
        self, cfg: TwinConfig, memory: MemoryRecall | None, pools: Any, audit: AuditLog | None = None
    ) -> None:
        """`audit`: the session's audit log, shared with the tool session (one object per file)."""
        self.cfg = cfg
        self.memory = memory
        self.pools = pools
        self._writes: list[concurrent.futures.Future] = []
        self._written: set[str] = set()  # requests to remember already written by `command`
        self.audit = audit or AuditLog(audit_path(self.cfg))

    async def command(
        self, text: str, scope: str | None, endpoint: Endpoint, ask: ForgetAsk | None = None
    ) -> str | None:
        """'Forget that', 'what do you remember about me?': answered from memory, not the model.
        A command changes stored data, so it waits until the user has surely finished speaking.

        A forget command takes the sensitive tier's path, the same as the forget tool and the CLI:
        a preview in the question, a spoken yes (with an owner enrolled, only the owner may delete
        the owner's or the household's memories), an audit entry either way, and a receipt. With
        no way to ask (`ask` None or without a confirmer) nothing is deleted and the reply says how
        to do it at a terminal.

        A request to remember ("remember that my sister Anna lives in Lisbon") is written here, not
        after the reply, so the reply can say what was kept, or honestly why nothing was."""
        request = parse_write_request(text) or stated_fact(text)
        if request is not None and not (request.stated and self.memory is None):
            return await self.remember(text, scope, endpoint, request)
        cmd = parse_command(text) if self.memory is not None else None
        if cmd is None or self.memory is None:
            return None
        await endpoint.wait()
        loop = asyncio.get_running_loop()
        if cmd.action == "list":
            return await loop.run_in_executor(self.pools.memory, self.memory.handle_command, text, scope)
        plan = await loop.run_in_executor(self.pools.memory, self.memory.plan_command, text, scope)
        if plan is None:
            return None
        if not plan.items:
            return plan.nothing()
        ask = ask or ForgetAsk(None, plan.scope)
        audit = self.audit

        def record(decision: str, reasons: list[str], receipt: Receipt | None = None) -> str:
            return audit_forget(audit, plan, decision, ask.who, reasons, receipt, ask.turn)

        if not may_delete(plan, ask.who, ask.owners):
            await loop.run_in_executor(
                self.pools.memory, record, "denied", ["only the owner may delete these"]
            )
            return plan.not_allowed(ask.owners[0])
        if ask.confirm is None:
            await loop.run_in_executor(self.pools.memory, record, "not_run", ["no way to ask for a yes"])
            return plan.cannot_ask()
        answer = await ask.confirm(plan.question(), ask.timeout_s)
        if not is_explicit_yes(answer):
            why = "no answer" if answer is None else "the answer was not a clear yes"
            await loop.run_in_executor(self.pools.memory, record, "denied", [why])
            return plan.cancelled()
        receipt = await loop.run_in_executor(self.pools.memory, self.memory.carry_out, plan, ask.who)
        await loop.run_in_executor(self.pools.memory, record, "confirmed", ["sensitive action"], receipt)
        reply = plan.done(receipt)
        if plan.action == "everything":  # what was said lives on in traces and reply audio too
            erased = await loop.run_in_executor(self.pools.memory, erase_records, Path(self.cfg.data_path))
            reply += ERASED_RECORDS.get(plan.lang, ERASED_RECORDS["en"]) if erased else ""
        return reply

    async def remember(
        self, text: str, scope: str | None, endpoint: Endpoint, request: WriteRequest
    ) -> str | None:
        """Writes a request to remember now (on the memory thread, once the user has surely finished)
        and returns the reply that says what was kept; the write policy after the turn then leaves
        these words alone."""
        if self.memory is None:
            return off_reply(request)
        write = getattr(self.memory, "write_request", None)
        if write is None:  # a memory without the seam: the write policy keeps it after the turn
            return None
        await endpoint.wait()
        turn = getattr(asyncio.current_task(), "turn_id", None)
        source = f"turn {turn}" if turn is not None else "request"
        loop = asyncio.get_running_loop()
        self._written.add(text)  # before the write: a barge-in during it must not write it twice
        return await loop.run_in_executor(self.pools.memory, write, text, scope, source)

    async def recall(self, text: str, scope: str | None, patient: bool = False) -> list[str]:
        """The memory lines for this turn's prompt, or none once the recall budget is spent. With
        `patient` (a question only memory can answer) it waits up to `PATIENT_RECALL_S` instead:
        a first recall in a process also loads the sentence encoder (~0.7 s here)."""
        if self.memory is None:
            return []
        loop = asyncio.get_running_loop()
        budget = self.cfg.memory.recall_budget_ms / 1000
        budget = max(budget, PATIENT_RECALL_S) if patient else budget
        future = loop.run_in_executor(self.pools.recall, self.memory.recall, text, scope, budget)
        try:
            return await asyncio.wait_for(asyncio.shield(future), budget)
        except TimeoutError:
            return []

    def observe(self, text: str, said: str, scope: str | None, turn_id: int) -> None:
        if self.memory is None:
            return
        if text in self._written:  # written (and confirmed) before the reply
            self._written.discard(text)
            return
        fut = self.pools.memory.submit(self.memory.observe, text, said, scope, f"turn {turn_id}")
        self._writes = [f for f in self._writes if not f.done()] + [fut]

    def flush(self, timeout: float = 30.0) -> None:
        """Wait for this session's pending memory writes (tests, shutdown)."""
        concurrent.futures.wait(self._writes, timeout)

    def housekeeping(self) -> None:
        """Consolidation and fading, off the voice path; the recall worker loads the sentence
        encoder now, so the first turn's recall fits its budget."""
        if self.memory is not None and hasattr(self.memory, "warm"):
            self.pools.recall.submit(self.memory.warm)
        if self.memory is not None and hasattr(self.memory, "consolidate"):
            m = self.cfg.memory
            self.pools.memory.submit(self.memory.consolidate, None, m.episode_days, m.fade_days)
