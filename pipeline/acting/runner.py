"""Runs one tool call through the permission gate, with a timeout, an idempotency key, and an audit
entry for every decision.

A call belongs to the generation that produced it: once that generation is cancelled, calls not yet
started never start. A call that has started runs to completion in its worker thread and its result
is committed (idempotency store, audit, the turn's record) even if the turn is cancelled meanwhile,
so a retry returns the committed result instead of running the action twice.

An act or sensitive call runs only after its intent entry is fsync'd to the audit log: if that
cannot be written (a full disk, a read-only data directory, a log that was tampered with) the call
does not run, and the planner gets an outcome it can report. No call runs unrecorded.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from models.errors import TwinError
from pipeline.acting.audit import AuditError, AuditLog
from pipeline.acting.background import BackgroundCalls, spoken_name
from pipeline.acting.permissions import Confirmer, PermissionGate, Provenance, Speaker
from pipeline.acting.speech_act import SpeechAct
from pipeline.llm.sanitize import strip_special_tokens
from pipeline.tools.base import Tier, ToolCall, ToolRegistry, ToolResult
from pipeline.tools.errors import ToolError, ToolTimeoutError
from pipeline.tools.store import JsonState


@dataclass
class TurnTools:
    """One turn's tool context: who asked, what the turn has seen, how to ask, whether it is over."""

    speaker: Speaker
    provenance: Provenance
    confirmer: Confirmer | None = None
    turn_id: str = "0"
    # the turn's voice against the enrolled owner: 1.0 theirs, 0.0 someone else's; None when nothing
    # can be checked (a typed command, or no owner enrolled). A fact of the turn, never the model's.
    owner_score: float | None = None
    # how long a call may hold the turn before it goes on in the background (None: the whole
    # timeout; only a live session, which can say the result later, sets it)
    patience_s: float | None = None
    # what the user did with their words (asked, requested, stated); None: not judged (a call made
    # directly from the CLI). A question never changes state, whatever any model chose.
    act: SpeechAct | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    committed: list[CallOutcome] = field(default_factory=list)


@dataclass(frozen=True)
class CallOutcome:
    tool: str
    args: dict[str, Any]
    tier: str
    decision: str  # auto | confirmed | denied | not_run
    status: str  # ok | failed | error | timeout | blocked | cancelled | replayed | pending
    summary: str
    reasons: tuple[str, ...] = ()
    # the tool's way to put back what this call changed (`ToolResult.undo`); None when it has none
    undo: Callable[[], ToolResult] | None = field(default=None, repr=False, compare=False)

    @property
    def done(self) -> bool:
        return self.status in ("ok", "replayed")


def _failure(exc: Exception) -> str:
    """What a call's failure says: a tool's typed error (or its store's) by its message, any other
    failure of the tool by its type and text."""
    if isinstance(exc, ToolError | TwinError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


class ToolRunner:
    def __init__(self, registry: ToolRegistry, gate: PermissionGate, audit: AuditLog, data_dir: Path) -> None:
        self.registry = registry
        self.gate = gate
        self.audit = audit
        self.done_keys = JsonState(data_dir / "tools" / "idempotency.json", {"keys": {}})
        # Its own small pool: a hung tool holds one of these threads, never the event loop's default.
        self.pool = ThreadPoolExecutor(4, thread_name_prefix="twin-tool")
        self.background = BackgroundCalls()  # calls that outlived their turn's patience
        self.device = ""  # in the hub: the device this runner's session serves (its calls record it)

    @staticmethod
    def key_for(turn_id: str, call: ToolCall) -> str:
        body = json.dumps([turn_id, call.tool, call.args], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(body.encode()).hexdigest()[:32]

    def _log(self, turn: TurnTools, out: CallOutcome, key: str) -> CallOutcome:
        """The outcome entry. Its action (if any) has happened, so a failure to record it cannot
        undo anything: the outcome says so instead of raising into the turn (the intent is on disk)."""
        try:
            self.audit.append(
                tool=out.tool,
                args=out.args,
                tier=out.tier,
                decision=out.decision,
                status=out.status,
                who=f"{turn.speaker.name} ({turn.speaker.role})",
                result=out.summary[:300],
                reasons=list(out.reasons),
                turn=turn.turn_id,
                key=key,
            )
        except AuditError as exc:
            return replace(out, reasons=(*out.reasons, exc.code, exc.message))
        return out

    def _intent(
        self, name: str, tier: str, args: dict[str, Any], turn: TurnTools, key: str, decision: str
    ) -> None:
        """Recorded before the action, so a crash or a lost outcome still leaves a trace of it."""
        self.audit.append(
            phase="intent",
            tool=name,
            args=args,
            tier=tier,
            decision=decision,
            status="intent",
            who=f"{turn.speaker.name} ({turn.speaker.role})",
            turn=turn.turn_id,
            key=key,
        )

    def refuse(self, call: ToolCall, turn: TurnTools, why: str) -> CallOutcome:
        """A call the planner will not make (its arguments are not the user's): logged, not run."""
        tier = str(self.registry.get(call.tool).tier) if call.tool in self.registry else "?"
        out = CallOutcome(call.tool, call.args, tier, "denied", "blocked", f"not done: {why}", (why,))
        return self._log(turn, out, self.key_for(turn.turn_id, call))

    async def undo(self, done: CallOutcome, turn: TurnTools) -> CallOutcome:
        """Puts back what `done` changed, by its tool's own undo, when the user asks ("no, don't add
        milk" just after it was added): recorded like a call, the intent before it and the outcome
        after it, and run on the tools' pool. Only an act has an undo (a message sent or an order
        placed cannot be taken back); an undo the state no longer allows says so (failed)."""
        name = f"undo {done.tool}"
        key = self.key_for(turn.turn_id, ToolCall(name, done.args))
        tool = self.registry.get(done.tool) if done.tool in self.registry else None
        if done.undo is None:
            verb = (tool.verb or tool.name.replace("_", " ")) if tool else done.tool
            why = f"I have no way to undo {verb}"
            out = CallOutcome(name, done.args, done.tier, "denied", "blocked", why)
            return self._log(turn, out, key)
        if tool is None or not self.gate.policy.allows(turn.speaker, tool):
            why = f"a {turn.speaker.role} may not {tool.verb or tool.name if tool else done.tool}"
            out = CallOutcome(name, done.args, done.tier, "denied", "blocked", f"not allowed: {why}", (why,))
            return self._log(turn, out, key)
        try:
            self._intent(name, str(done.tier), done.args, turn, key, "auto")
        except AuditError as exc:
            why = f"{exc.message}; {exc.hint}" if exc.hint else exc.message
            return CallOutcome(name, done.args, done.tier, "not_run", "error", why, (exc.code,))
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self.pool, done.undo)
            status, summary = ("ok" if result.ok else "failed"), result.summary
        except Exception as exc:  # a tool's own failure is reported, never raised into the turn
            status, summary = "error", _failure(exc)
        out = CallOutcome(name, done.args, done.tier, "auto", status, summary)
        turn.committed.append(out)
        return self._log(turn, out, key)

    async def run(self, call: ToolCall, turn: TurnTools, key: str | None = None) -> CallOutcome:
        key = key or self.key_for(turn.turn_id, call)
        try:
            tool = self.registry.get(call.tool)
            args = tool.validate(call.args)
        except ToolError as exc:
            out = CallOutcome(call.tool, call.args, "?", "denied", "error", exc.message, (exc.code,))
            return self._log(turn, out, key)
        prior = self.done_keys.read()["keys"].get(key)
        if prior is not None:
            return CallOutcome(tool.name, args, tool.tier, prior["decision"], "replayed", prior["summary"])

        def stop(decision: str, status: str, summary: str, reasons: tuple = ()) -> CallOutcome:
            """The call ends here, not run: logged like every other outcome."""
            return self._log(
                turn, CallOutcome(tool.name, args, tool.tier, decision, status, summary, reasons), key
            )

        cancelled = "the turn was cancelled before this call ran"
        if turn.cancelled.is_set():
            return stop("not_run", "cancelled", cancelled)
        if tool.tier != Tier.READ and turn.act is not None and not turn.act.may_change_state:
            asked = "a question, not for a change" if turn.act.asks else "for no change"
            code = "question_not_request" if turn.act.asks else "nothing_asked"
            why = f"the user asked {asked} ({turn.act.reason})"
            return stop("denied", "blocked", f"not done: {why}", (code,))
        a = self.gate.assess(tool, args, turn.speaker, turn.provenance)
        decision = "auto"
        if not a.allowed:
            return stop("denied", "blocked", "not allowed: " + "; ".join(a.reasons), a.reasons)
        if a.needs_owner_voice:
            ok, why = self.gate.owner_verified(turn.owner_score)
            if not ok:
                return stop(
                    "denied", "blocked", "not done: the owner's voice was not verified", (*a.reasons, why)
                )
        if a.needs_confirmation:
            ok, why = await self.gate.confirm(tool, args, turn.confirmer)
            if not ok:
                return stop("denied", "blocked", f"not done: {why}", (*a.reasons, why))
            decision = "confirmed"
        if turn.cancelled.is_set():  # the user may have barged in while Twin asked
            return stop("not_run", "cancelled", cancelled)
        if tool.tier != Tier.READ:
            try:
                self._intent(tool.name, str(tool.tier), args, turn, key, decision)
            except AuditError as exc:
                why = f"{exc.message}; {exc.hint}" if exc.hint else exc.message
                reasons = (*a.reasons, exc.code)
                return CallOutcome(tool.name, args, tool.tier, "not_run", "error", why, reasons)
        return await self._execute(tool, args, turn, key, decision, a.reasons)

    async def _execute(self, tool, args, turn: TurnTools, key: str, decision: str, reasons) -> CallOutcome:
        loop = asyncio.get_running_loop()
        who = (turn.speaker.name,) if tool.needs_speaker else ()  # scoped tools get the turn's speaker
        future = loop.run_in_executor(self.pool, tool.handler, args, *who)
        notes: list[str] = []  # added to the entry when the call ends (e.g. the user stopped waiting)

        def commit(result: ToolResult | None, status: str, summary: str) -> CallOutcome:
            undo = result.undo if result is not None and status == "ok" and tool.tier == Tier.ACT else None
            out = CallOutcome(tool.name, args, tool.tier, decision, status, summary, (*reasons, *notes), undo)
            if status in ("ok", "failed") and tool.tier != Tier.READ:
                try:
                    self.done_keys.update(
                        lambda s: s["keys"].__setitem__(key, {"decision": decision, "summary": summary})
                    )
                except (TwinError, OSError) as exc:  # the action happened; a retry may repeat it
                    out = replace(out, reasons=(*out.reasons, f"idempotency key not saved: {exc}"))
            if result is not None and result.untrusted_text:
                channel = "mcp" if tool.source.startswith("mcp") else "tool_result"
                turn.provenance.add_untrusted(channel, result.untrusted_text)
            turn.committed.append(out)
            return self._log(turn, out, key)

        def settle(f: asyncio.Future) -> CallOutcome:
            try:
                r: ToolResult = f.result()
            except Exception as exc:  # a tool's own failure is reported, never raised into the turn
                return commit(None, "error", _failure(exc))
            if r.untrusted_text:
                return commit(r, "ok" if r.ok else "failed", r.summary + "\n" + r.untrusted_text[:1500])
            return commit(r, "ok" if r.ok else "failed", r.summary)

        def timed_out() -> CallOutcome:
            future.add_done_callback(lambda f: None)
            err = ToolTimeoutError(f"'{tool.name}' took longer than {tool.timeout_s:g} s", "try again later")
            return commit(None, "timeout", err.message)

        # In a live session a slow call goes on in the background after the turn's patience
        patience = turn.patience_s if turn.patience_s is not None else tool.timeout_s
        wait = min(patience, tool.timeout_s)
        try:
            await asyncio.wait_for(asyncio.shield(future), wait)
        except TimeoutError:
            if wait >= tool.timeout_s:
                return timed_out()

            async def later() -> None:
                try:
                    await asyncio.wait_for(asyncio.shield(future), tool.timeout_s - wait)
                except TimeoutError:
                    pass
                except asyncio.CancelledError:  # the session is closing: still record how it ends
                    future.add_done_callback(settle)
                    raise
                except Exception:
                    pass  # the tool's own error: settle() reports it
                if pending.cancelled:
                    notes.append("the user stopped waiting for it")
                out = settle(future) if future.done() else timed_out()
                self.background.finish(key, result_text(out, tool.verb))

            task = asyncio.create_task(later())
            pending = self.background.start(key, tool, args, task, turn.speaker.name, self.device)
            still = "still running: the result is said when it arrives"
            return CallOutcome(tool.name, args, tool.tier, decision, "pending", still, tuple(reasons))
        except asyncio.CancelledError:
            # Started, so it finishes: commit its result when it does, then let the turn end.
            future.add_done_callback(settle)
            raise
        except Exception:
            pass  # the tool's own error: settle() reports it as the call's result
        return settle(future)


def result_text(out: CallOutcome, verb: str) -> str:
    """What is said when a call that went on in the background ends."""
    what = spoken_name(out.tool, verb)
    lines = [line for line in out.summary.splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if out.status == "ok":  # the result itself when the tool returned one (an MCP tool's text)
        said = strip_special_tokens(lines[1] if len(lines) > 1 else first)
        return f"About {what}: {said}" if said else f"{what[:1].upper()}{what[1:]} is done."
    if out.status == "timeout":
        return f"Sorry, {what} took too long, and it was not done."
    return f"I could not {what}: {first}"
