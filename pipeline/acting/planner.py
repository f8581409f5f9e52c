"""The tool loop: the local LLM chooses a tool call or a plain reply, under a JSON schema, for a few
steps within a time budget.

The model's output is constrained by llama.cpp's JSON-schema grammar to exactly one of: a call of a
known tool with typed arguments, or {"action": "reply"}. Whatever it chooses, the permission gate
in the runner decides what actually runs; the planner adds two guards a small model needs: a
question about state never changes state, and the reply never claims an action that no tool
result confirms (when anything was attempted, the reply is composed from the tool results).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pipeline.acting import prompts
from pipeline.acting.background import spoken_name
from pipeline.acting.grounding import ground
from pipeline.acting.plain_reading import PlainReading
from pipeline.acting.reach import a_thing, ask, misses
from pipeline.acting.routing import (
    candidate_tools,
    clauses,
    might_need_tools,
    names_it,
    route,
    routed_tools,
)
from pipeline.acting.runner import CallOutcome, ToolRunner, TurnTools
from pipeline.acting.speech_act import SpeechAct, classify, refused
from pipeline.acting.speech_act import clauses as speech_clauses
from pipeline.llm.base import PlannerModel
from pipeline.llm.sanitize import strip_special_tokens
from pipeline.tools.base import Dictation, Tier, ToolCall, ToolRegistry, unchanged
from pipeline.tools.errors import MalformedToolCallError, ToolError

__all__ = [
    "PlanResult",
    "Planner",
    "PlannerModel",
    "candidate_tools",
    "compose_reply",
    "might_need_tools",
    "parse_step",
]

# A refusal this soon after Twin did what it asks not to do is told that it was done ("no, don't add
# milk" just after "Added milk to your shopping list."), not promised it won't be.
JUST_DONE_S = 120.0
# Words said around a short request about Twin's last change ("no, undo that please", "okay, once
# more"): the request is the whole utterance, with only these before and "please" after it
_AROUND = r"^\W*(?:(?:no|oh|okay|ok|actually|wait|sorry|please|now|and|twin)\W+)*(?:{})(?:\s+please)?\W*$"


def _whole(body: str) -> re.Pattern[str]:
    return re.compile(_AROUND.format(body), re.IGNORECASE)


# "undo that", "take it back", "no, undo what you just did": the last plan's changes put back, by
# each tool's own undo, within JUST_DONE_S
_UNDO = _whole(
    r"(?:undo|take\s+(?:that|it)\s+back|revert|reverse)"
    r"(?:\s+(?:that|it|this|(?:the\s+)?last\s+(?:one|thing|change)|what\s+you\s+(?:just\s+)?did|(?:the\s+)?changes?))?"
)


def asks_undo(text: str) -> bool:
    """Whether the words ask for Twin's last change to be undone ("undo that", "take it back")."""
    return bool(_UNDO.search(text.strip()))


# "do that again", "again", "once more": the last plan's changes made again, within JUST_DONE_S
# ("say that again" asks for Twin's words, not its acts: not this)
_AGAIN = _whole(
    r"(?:do|make)\s+(?:that|it|the\s+same)\s+(?:again|once\s+more|one\s+more\s+time)|same\s+again"
    r"|again|once\s+more|one\s+more(?:\s+time)?"
)


def asks_again(text: str) -> bool:
    """Whether the words ask for Twin's last change to be made again ("do that again", "again")."""
    return bool(_AGAIN.search(text.strip()))


_COMPOUND = re.compile(r"\b(and|then|also)\b", re.IGNORECASE)


@dataclass
class PlanResult:
    outcomes: list[CallOutcome] = field(default_factory=list)
    reply: str | None = None  # speak exactly this (composed from tool results)
    context: str = ""  # or: add this to the reply model's context, then reply normally
    notes: list[str] = field(default_factory=list)  # repairs, guards and budgets that applied
    steps: int = 0
    plain: bool = False  # a call whose arguments the words stated (`Tool.plain`): its result is the reply

    @property
    def acted(self) -> bool:
        return any(o.tier != Tier.READ for o in self.outcomes)


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".")
    end = "" if text.endswith(("?", "!")) else "."  # a tool's own question stays one
    return (text[:1].upper() + text[1:] + end) if text else ""


SAID_IN_FULL = 160  # a read result's own text up to this long is said in a composed reply


def compose_reply(outcomes: list[CallOutcome]) -> str:
    """Only what the results say: done when the tool says so, otherwise plainly not done."""
    parts = []
    for o in outcomes:
        lines = o.summary.splitlines() if o.summary else []
        first = lines[0] if lines else ""
        if o.done:
            rest = " ".join(x.strip() for x in lines[1:] if x.strip())
            if o.tier == Tier.READ and rest and len(rest) <= SAID_IN_FULL:
                first = f"{first}: {rest}"  # what a list holds is the answer: said, not counted
            parts.append(_sentence(first))
        elif o.status == "blocked":
            parts.append(
                _sentence(f"I did not {o.tool.replace('_', ' ')}: {first.removeprefix('not done: ')}")
            )
        elif o.status == "cancelled":
            continue
        elif o.status == "pending":
            what = spoken_name(o.tool)
            parts.append(f"I'm on it: {what} is taking a while, and I'll tell you when it's done.")
        else:
            parts.append(_sentence(f"I could not {o.tool.replace('_', ' ')}: {first}"))
    # spoken now, and part of the conversation the model reads next turn: no control tokens
    return strip_special_tokens(" ".join(p for p in parts if p)) or "Nothing was done."


def parse_step(raw: str) -> dict[str, Any]:
    """The model's step as a dict; a fenced or chatty answer is cut down to its JSON object."""
    text = raw.strip()
    try:
        step = json.loads(text)
    except json.JSONDecodeError:
        m = re.search(r"\{.*\}", text, re.DOTALL)
        try:
            step = json.loads(m.group(0)) if m else None
        except json.JSONDecodeError:
            step = None
    if not isinstance(step, dict) or step.get("action") not in ("call", "reply"):
        raise MalformedToolCallError(f"planner output is not a valid step: {raw[:120]!r}", "answer plainly")
    return step


def _tidy(args: Any) -> Any:
    """Numbers as a person said them: the grammar lets a small model write 5.000000000000001."""
    if not isinstance(args, dict):
        return args
    out = {}
    for k, v in args.items():
        if isinstance(v, float):
            v = float(f"{v:.9g}")
            v = int(v) if v.is_integer() and abs(v) < 1e15 else v
        out[k] = v
    return out


class Planner:
    def __init__(
        self,
        model: PlannerModel,
        registry: ToolRegistry,
        runner: ToolRunner,
        max_steps: int = 3,
        time_budget_s: float = 8.0,
        index: Any = None,
    ) -> None:
        self.model = model
        self.index = index  # tools found by meaning (tool_index.ToolIndex); None: by words only
        self.registry = registry
        self.reading = PlainReading(registry, index)  # what the words settle without the model
        self.runner = runner
        self.max_steps = max_steps
        self.time_budget_s = time_budget_s
        self._prompts: dict[tuple[str, ...], tuple[str, dict[str, Any]]] = {}
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="twin-planner")
        # when the last plan that changed something ended, and what it changed
        self._last_acts: tuple[float, list[CallOutcome]] = (-1e9, [])

    def offer(self, names: tuple[str, ...], must_call: bool = False) -> tuple[str, dict[str, Any]]:
        """The system prompt and step schema for these candidate tools (cached). `must_call`: the
        schema has no plain-reply branch (routing already decided a read is needed; the model
        only fills in the arguments)."""
        key = (*names, "!" if must_call else "")
        if key not in self._prompts:
            tools = [self.registry.get(n) for n in names]
            schema = prompts.step_schema(tools, allow_reply=not must_call)
            self._prompts[key] = (prompts.planning_prompt(tools), schema)
        return self._prompts[key]

    async def _choose(
        self, messages: list[dict[str, str]], schema: dict[str, Any], stop: threading.Event
    ) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, self.model.choose, messages, schema, stop)

    def _answers(self, name: str) -> bool:
        return name in self.registry and self.registry.get(name).answers

    async def _ask_dictation(
        self, turn: TurnTools, d: Dictation, args: dict[str, Any]
    ) -> dict[str, Any] | None:
        """'Send a message to Anna': ask what it should say; the answer is the user's own words."""
        to = d.recipient(turn.provenance.user_text) or str(args.get(d.to, ""))
        if turn.confirmer is None or not to or len(to.split()) > d.max_to_words:
            return None
        timeout = self.runner.gate.confirm_timeout_s
        try:
            answer = await asyncio.wait_for(turn.confirmer(d.ask(to), timeout), timeout)
        except TimeoutError:
            return None
        answer = (answer or "").strip().strip("\"'")
        if not answer:
            return None
        turn.provenance.user_text += "\n" + answer  # dictated by the user: their own words
        return {d.to: to, d.text: answer}

    def _dictated(self, text: str, names: tuple[str, ...]) -> dict[str, Any] | None:
        """When the words leave one candidate that takes dictation and its recipient and words are
        both plain in the request ("message mum I love you"): the call, built from the user's words
        only. It still needs a spoken yes."""
        d = self.registry.get(names[0]).dictation if len(names) == 1 else None
        if d is None:
            return None
        to = d.recipient(text)
        words = d.words(text, to) if to else None
        if not (to and words):
            return None
        return {"action": "call", "tool": names[0], "args": {d.to: to, d.text: words}}

    def _dictating(self, names: tuple[str, ...], text: str) -> Dictation | None:
        """The one candidate's dictation, when the words leave one tool that takes dictation and
        say its noun ("message"); None otherwise."""
        d = self.registry.get(names[0]).dictation if len(names) == 1 else None
        if d is None or not re.search(rf"\b{re.escape(d.noun)}\b", text, re.IGNORECASE):
            return None
        return d

    def _names_nobody(self, names: tuple[str, ...], turn: TurnTools) -> bool:
        """A request in a dictating tool's own words that names no recipient (`Dictation.recipient`)."""
        d = self._dictating(names, turn.provenance.user_text)
        return d is not None and d.recipient(turn.provenance.user_text) is None

    async def _dictation_passed(
        self, text: str, names: tuple[str, ...], turn: TurnTools, result: PlanResult
    ) -> dict[str, Any] | None:
        """The model made no call for a request in a dictating tool's own words ("send a message to
        Anna", Whisper's "message and I'm on my way"): a recipient the words name is asked what to
        say (the call then goes on as usual, yes included); with none, the request is said to be
        not done and why, where the reply model had answered as if it were the user ("I'm going
        to the store.")."""
        d = self._dictating(names, text)
        if d is None:
            return None
        to = d.recipient(turn.provenance.user_text)
        if to and (said := await self._ask_dictation(turn, d, {d.to: to})) is not None:
            return {"action": "call", "tool": names[0], "args": said}
        why = d.no_text if to else d.no_recipient
        result.outcomes.append(self.runner.refuse(ToolCall(names[0], {d.to: to} if to else {}), turn, why))
        return None

    async def plan(self, text: str, turn: TurnTools) -> PlanResult:
        try:
            return await self._plan(text, turn)
        except asyncio.CancelledError:
            turn.cancelled.set()  # calls this generation produced and did not start never start
            raise

    async def _plan(self, text: str, turn: TurnTools) -> PlanResult:
        if asks_undo(text):
            return await self._undo(turn, asked=True)
        if asks_again(text):
            return await self._again(turn)
        if turn.act is not None and turn.act.kind == "refusal":
            return await self._refusal(text, turn)
        said = speech_clauses(text)
        if len(said) > 1 and classify(said[0]).kind == "refusal":
            text = " ".join(said[1:])  # "don't set a timer, set an alarm for 7": the alarm only
        result = await self._planned(text, turn)
        acts = [o for o in result.outcomes if o.done and o.tier != Tier.READ]
        if acts:
            self._last_acts = (time.monotonic(), acts)
        return result

    async def _refusal(self, text: str, turn: TurnTools) -> PlanResult:
        """ "No, don't turn the volume up": nothing is planned, and a refusal about a tool's business is
        answered at once, with no model (the 0.5B model answered "I'm sorry, but I can't assist with
        that." after 3-5 s, and the words alone had turned the volume up). If Twin has just done
        what it is asked not to do, it puts it back where the tool can ("no, don't add milk" just
        after milk was added takes it off again) and says so; else it says it was done."""
        result = PlanResult()
        names = route(text, self.registry, self.index)
        if not names:
            return result  # "don't worry about the weather": the reply model answers
        at, acts = self._last_acts
        done = [o for o in acts if o.tool in names] if time.monotonic() - at < JUST_DONE_S else []
        what = refused(text)
        if done and any(o.undo is not None for o in done):
            return await self._undo(turn, asked=False, only=done)
        if done:
            result.reply = "I had already done it: " + compose_reply(done)
        elif what and len(what.split()) <= 12:
            result.reply = f"Okay, I won't {what}."
        else:
            result.reply = "Okay, I won't."
        result.notes.append("nothing planned: the user asked for it not to be done")
        return result

    async def _undo(self, turn: TurnTools, asked: bool, only: list[CallOutcome] | None = None) -> PlanResult:
        """The last plan's changes (or `only` those) put back by each tool's own undo, newest first,
        each recorded in the audit log; said plainly, what could not be put back included. `asked`:
        the user said "undo that" (else a refusal of what was just done)."""
        result = PlanResult()
        at, acts = self._last_acts
        recent = acts if time.monotonic() - at < JUST_DONE_S else []
        chosen = [o for o in (recent if only is None else only) if o.done]
        if not chosen:
            # only this session's changes can be undone (a `twin ask` is a session of its own)
            if at < 0:
                result.reply = "I haven't changed anything in this conversation to undo."
            elif recent is acts and not acts:  # the last changes were undone already
                result.reply = "There's nothing more to undo."
            else:
                result.reply = (
                    f"I haven't changed anything in the last {round(JUST_DONE_S / 60)} minutes to undo."
                )
            result.notes.append("nothing to undo")
            return result
        self._last_acts = (at, [o for o in acts if all(o is not c for c in chosen)])  # undone once
        # a call that changed nothing ("milk is already on the list") has nothing to put back
        same = [o for o in chosen if o.undo is unchanged]
        outs = [await self.runner.undo(o, turn) for o in reversed(chosen) if o.undo is not unchanged]
        if not outs:
            result.reply = "Nothing had changed. " + compose_reply(same)
            result.notes.append("nothing to undo: the request had changed nothing")
            return result
        result.outcomes.extend(outs)
        undone = [o for o in outs if o.status == "ok"]
        lead = "Okay, I undid it." if asked else "I had already done it, so I undid it."
        if not undone:
            lead = "I could not undo it." if asked else "I had already done it, and could not undo it."
        said = " ".join(_sentence(o.summary) for o in outs if o.status == "ok")
        kept = [o for o in outs if o.status != "ok"]
        if undone and kept:
            said += " " + " ".join(_sentence(f"Not undone: {o.summary}") for o in kept)
        elif kept:
            said = " ".join(_sentence(o.summary) for o in kept)
        result.reply = strip_special_tokens(f"{lead} {said}".strip())
        why = "the user asked for it" if asked else "the user refused what was done"
        result.notes.append(f"undone: {why}")
        return result

    async def _again(self, turn: TurnTools) -> PlanResult:
        """The last plan's changes made again, each call as it was made ("turn it up" then "do that
        again": up another step), through the runner like any call: the permission gate, the audit
        log, a sensitive call's spoken yes. The words ask for it plainly, whatever their form ("do
        that again" reads like a question)."""
        result = PlanResult()
        at, acts = self._last_acts
        recent = acts if time.monotonic() - at < JUST_DONE_S else []
        if not recent:
            result.reply = (
                f"I haven't done anything in the last {round(JUST_DONE_S / 60)} minutes to do again."
            )
            result.notes.append("nothing to do again")
            return result
        turn.act = SpeechAct("request", "asks for the last change again")
        for o in recent:
            result.outcomes.append(await self.runner.run(ToolCall(o.tool, dict(o.args)), turn))
        done = [o for o in result.outcomes if o.done and o.tier != Tier.READ]
        if done:
            self._last_acts = (time.monotonic(), done)
        result.reply = compose_reply(result.outcomes)
        result.notes.append("done again: the user asked for it")
        return result

    async def _planned(self, text: str, turn: TurnTools) -> PlanResult:
        result = PlanResult()
        # "switch the fan off and then start a timer", "set a timer and turn on the porch light": a
        # clause no tool reaches, in any place, is said to be out of reach below; the tools plan
        # the rest, as if it had been said alone
        rest, missed = misses(text, self.registry)
        parts = clauses(rest, self.registry) if rest else []
        for part in parts:  # a compound request: each clause planned as a simple one, in order
            if turn.cancelled.is_set():
                break
            await self._plan_clause(part, turn, result)
            if len(parts) > 1 and any(o.status != "ok" for o in result.outcomes):
                result.notes.append("stopped at a step that was not done")
                break
        # A compound request's results are said as they are: a small model handed two of them
        # as context tells one and drops the other.
        several = len(parts) > 1 and len(result.outcomes) > 1
        # A sum or a conversion read from plain words is answered with its result as it is: a 0.5B
        # model handed "15 percent of 80 is 12" as context has said "12 percent of 80 is 9.6".
        plain = result.plain and bool(result.outcomes)
        # A read whose result is the whole answer ("what time is it", "which timers are set",
        # `Tool.answers`) is said as it is: no reply model, the fast path (a 0.5B model handed the
        # time as context has answered "The date for this turn is ...").
        plain = plain or (bool(result.outcomes) and all(self._answers(o.tool) for o in result.outcomes))
        # "turn on the porch light and set a timer", "set a timer and turn on the porch light": the
        # timer is set, and the light is said plainly to be out of reach, not passed over in silence
        said = [a.sentence for a in missed if a_thing(a)]
        if result.acted or several or plain or any(o.status != "ok" for o in result.outcomes):
            result.reply = " ".join([compose_reply(result.outcomes), *said])
        elif said and (result.outcomes or not rest):
            # a read's result, or nothing left to plan: what was out of reach is said all the same
            done = compose_reply(result.outcomes) if result.outcomes else ""
            result.reply = " ".join([done, *said]).strip()
        elif result.outcomes:
            result.context = prompts.results_context(f"- {o.tool}: {o.summary}" for o in result.outcomes)
        elif result.steps and (undone := [a for a in map(ask, parts) if a is not None and a_thing(a)]):
            # a thing in a tool's reach that the model called no tool for: said plainly as not done
            # (the 0.5B model, left to reply, once said "Home curtains answered." with no call)
            result.reply = " ".join([*(a.not_done for a in undone), *said])
        elif result.steps:
            result.context = prompts.NO_ACTION_CONTEXT
        return result

    async def _plan_clause(self, text: str, turn: TurnTools, result: PlanResult) -> None:
        own = classify(text)  # "don't set a timer, set an alarm for 7": the first clause plans nothing
        names, question = self.reading.candidates(text, own if own.asks_nothing_done else turn.act)
        if not names:
            return
        # A question routed to exactly one read-only tool needs that read: a small model too often
        # answers from nothing ("three tasks on your list") instead. It fills in the arguments only.
        must_call = question and len(names) == 1 and self.registry.get(names[0]).tier == Tier.READ
        # A request that says a third-party tool's own name ("write me a report on sleep" for a
        # server's `write_report`) asks for that call: offered it beside a plain reply, the 0.5B
        # model wrote the report itself in prose. The permission gate still decides whether it runs.
        must_call = must_call or (
            not question
            and len(names) == 1
            and names[0] not in routed_tools(self.registry)
            and names_it(text, self.registry.get(names[0]))
        )
        deadline = time.monotonic() + self.time_budget_s
        system, schema = self.offer(names, must_call)
        messages = [{"role": "system", "content": system}, {"role": "user", "content": text}]
        seen: set[str] = set()
        retried = False
        budget = result.steps + self.max_steps
        while result.steps < budget:
            if time.monotonic() > deadline:
                result.notes.append("time budget spent")
                break
            direct = self.reading.obvious_read(names, text) if result.steps == 0 else None
            plain = self.reading.plain(text, names) if result.steps == 0 and direct is None else None
            result.plain = result.plain or plain is not None
            # "message mum I love you": whom and what are the user's own words, so the model has
            # nothing to decide (it took 2.3-4.3 s a call on a slow 2-core machine); a yes is still asked
            dictated = self._dictated(text, names) if result.steps == 0 and not (direct or plain) else None
            first = result.steps == 0 and not (direct or plain or dictated or question)
            if first and self._names_nobody(names, turn):
                # "message and I'm on my way" (Whisper's "and" for "Anna"): the words name nobody to
                # send it to, and a recipient is the user's to say, never the model's to guess; said
                # at once (the model took 1.3-2.9 s a turn to come to the same answer)
                await self._dictation_passed(text, names, turn, result)
                return
            raw = direct or plain or (json.dumps(dictated) if dictated else None)
            raw = raw or await self._choose(messages, schema, turn.cancelled)
            result.steps += 1
            try:
                step = parse_step(raw)
                if step["action"] == "reply" and result.steps == 1 and not question:
                    step = await self._dictation_passed(text, names, turn, result) or step
                if step["action"] == "reply":
                    break
                call = ToolCall.parse({"tool": step.get("tool"), "args": _tidy(step.get("args", {}))})
                tool = self.registry.get(call.tool)
                tool.validate(call.args)
            except ToolError as exc:
                if retried:
                    result.notes.append(f"gave up on malformed planner output ({exc.code})")
                    break
                retried = True
                result.notes.append(f"retried after {exc.code}")
                messages += [
                    {"role": "assistant", "content": strip_special_tokens(raw)},
                    {"role": "user", "content": prompts.invalid_step(exc.message)},
                ]
                continue
            if question and tool.tier != Tier.READ:
                result.notes.append(f"did not {tool.name}: the user asked a question, not for a change")
                break  # the runner would refuse it too; nothing to record: it was never asked for
            key = json.dumps([call.tool, call.args], sort_keys=True)
            if key in seen:
                break  # the same call again: the step is done
            seen.add(key)
            if turn.cancelled.is_set():
                break
            args, why, repaired = ground(tool, call.args, turn.provenance, read=bool(direct or plain))
            d = tool.dictation
            if d and why == d.no_text and (said := await self._ask_dictation(turn, d, args)) is not None:
                args, why, repaired = said, None, f"{d.noun} text asked for"
            if repaired:
                result.notes.append(repaired)
            call = ToolCall(call.tool, args)
            if why is not None:
                result.outcomes.append(self.runner.refuse(call, turn, why))
                break
            outcome = await self.runner.run(call, turn)
            result.outcomes.append(outcome)
            data = outcome.summary if outcome.done else f"not done ({outcome.status}): {outcome.summary}"
            messages += [
                {"role": "assistant", "content": strip_special_tokens(raw)},
                {"role": "user", "content": prompts.step_result(call.tool, data)},
            ]
            if (direct or plain) or not (outcome.done and _COMPOUND.search(text)):
                # one step answers a simple request, and a call read from the clause's own words
                # answers all of it ("milk and eggs"); "X and then Y" may need another
                break
