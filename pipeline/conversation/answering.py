"""Where a turn's answer comes from, decided in two steps around the tools and memory.

1. `read_request`, before the tools: whether the words ask for the user's own facts (then memory is
   their source: recall waits for it and the planner is not asked), or for a live fact of the
   world that none of Twin's own tools can know (then, with no MCP server, no tool is asked).
2. `decide`, once the tools and memory have answered: the reply composed without the model (an
   honest "cannot check", the user's own words said back, a feeling met), or the sentence that says
   where the model's answer comes from, and the guard its sentences pass.

The rules themselves live in `honesty.py` (live facts, the user's own facts) and `feelings.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pipeline.acting.routing import might_need_tools
from pipeline.conversation.feelings import acknowledge
from pipeline.conversation.honesty import (
    MINE,
    LiveTopic,
    SourceGuard,
    answered,
    asks_about_named,
    cannot_check,
    instruction_runs,
    is_live_fact,
    live_topic,
    personal_question,
    said_as_given,
    source_line,
    told_back,
    told_in,
    user_lines,
)


@dataclass(frozen=True)
class Asked:
    """What the words ask, read before any tool or memory."""

    mine: bool  # the user's own facts: memory (or this conversation) is the only source
    tools_may_know: bool  # a tool's own words are in it, or an MCP server may know anything
    live: bool  # a live fact of the world (weather, prices, news...)

    @property
    def skip_planner(self) -> bool:
        """The planner has nothing to add when no tool may know: a question about the user's own
        facts (the planner matched "do you remember my name?" to a memory tool by meaning, ~0.5-3 s
        before the same recall), or a live fact ("what's NVDA's share price" once got the speaker's
        volume from `device_state`, near it by meaning)."""
        return not self.tools_may_know and (self.mine or self.live)


def read_request(text: str, dialogue: list[dict[str, str]], mcp_configured: bool) -> Asked:
    mine = personal_question(text) or asks_about_named(text, user_lines(dialogue))
    return Asked(mine, might_need_tools(text) or mcp_configured, is_live_fact(text))


@dataclass
class Answer:
    """How this turn answers: `direct` said as it is (no model), else the model after `lead`."""

    direct: str | None
    lead: str = ""
    topic: LiveTopic | None = None
    no_source: str = ""  # why nothing could be checked (the turn's notice), when so

    def guard(self, sources: Iterable[str], acted: bool, system_prompt: str = "") -> SourceGuard:
        """What the model's sentences are checked against: on a live or personal turn every figure
        needs a source, and on a personal one every name too; with no tool run (`acted` False) no
        sentence may say that something was done; no sentence may recite `system_prompt`'s
        instructions."""
        personal = self.topic is not None and self.topic.personal
        world = self.topic is not None and not personal  # the clock is no source for a live figure
        runs = instruction_runs(system_prompt) if system_prompt else frozenset()
        return SourceGuard(
            sources, self.topic is not None, names=personal, acted=acted, world=world, instructions=runs
        )


def decide(
    text: str,
    language: str,
    direct: str | None,
    plan: Any,
    recalled: list[str],
    dialogue: list[dict[str, str]],
    asked: Asked,
    offered: Iterable[Any] | None = None,
) -> Answer:
    """`direct`: what the fast path or the tools already composed; `plan`: the planner's result (or
    None); `offered`: every tool the session offers, MCP servers' too (None: Twin's own)."""
    if direct:
        return Answer(direct)
    topic = live_topic(text, offered) or (MINE if asked.mine else None)
    if topic is None and asks_about_named(text, recalled):
        topic = MINE  # "who is Peter?", and a memory names Peter
    told = topic is MINE and told_in(dialogue, text)
    if topic is not None and not answered(topic, plan, recalled, told):
        return Answer(
            cannot_check(topic, language),
            topic=topic,
            no_source=f"nothing here can check {topic.noun}: not guessed",
        )
    tool_context = plan is not None and bool(plan.context)
    if topic is MINE and not tool_context and (back := told_back(text, language, dialogue, recalled)):
        return Answer(back, topic=topic)  # the user's own fact, in their own words
    if topic is not None:
        lead = source_line(topic, plan, recalled) or ""
        if lead and (given := said_as_given(topic, plan)):
            return Answer(f"{lead} {given}", topic=topic)  # a live figure said as the tool gave it
        return Answer(None, lead, topic)
    return Answer(acknowledge(text, language))  # a feeling or sad news met kindly, else the model
