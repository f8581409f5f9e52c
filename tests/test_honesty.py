"""Nothing made up: live facts only from a tool (or, for the user's own data, a memory), an honest
answer when nothing can check them, and no spoken figure that no source gave."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest
from conftest import steady_clock

from pipeline.conversation.honesty import SourceGuard, cannot_check, live_topic, source_line
from pipeline.events import SentenceReady

FACTS = [sys.executable, str(Path(__file__).parent / "mcp_servers" / "facts_server.py")]


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("What's the weather in San Francisco?", "weather"),
        ("do I need an umbrella tomorrow", "weather"),
        ("is it going to rain in Paris", "weather"),
        ("What's NVDA's share price?", "markets"),
        ("how much is bitcoin trading at", "markets"),
        ("what's in the news today", "news"),
        ("who won the game last night", "sports"),
        ("is my flight delayed", "travel"),
        ("recommend a restaurant near me", "places"),
        ("what's on my calendar tomorrow", "calendar"),
        ("tell me a joke", None),
        ("how many legs does a spider have", None),
        ("set a timer for ten minutes", None),
        ("what's the capital of France", None),
    ],
)
def test_live_topics(text, topic):
    found = live_topic(text)
    assert (found.name if found else None) == topic


def test_the_guard_speaks_only_figures_a_source_gave():
    live = SourceGuard(["weather in Paris?", "Tool results: Paris: 14 °C, light rain"], live=True)
    assert live.check("It's 14 degrees with light rain in Paris.")
    assert live.check("It's 68 degrees Fahrenheit.") is None
    assert live.check("Expect sixty-eight degrees later.") is None  # spelled out counts too
    assert live.check("Take an umbrella.")
    plain = SourceGuard(["tell me something about spiders"])
    assert plain.check("A spider has eight legs.")  # general knowledge is not a live figure
    assert plain.check("Water boils at 100 degrees Celsius.")
    assert plain.check("It is 68 degrees outside today.") is None  # a live figure, unsourced
    assert plain.check("NVDA is 28 dollars 50.") is None  # money always needs a source
    assert plain.check("That costs $20.") is None
    assert len(plain.dropped) == 3 and "68 degrees" in plain.dropped[0]
    # spoken to the user, never about them
    assert plain.check("The user seems to be excited about their favorite color.") is None
    assert plain.check("Blue is a lovely colour.")


class ScriptedLlm:
    """The reply stage's input as data: what a small model wrote (unit isolation of the stage)."""

    def __init__(self, text: str) -> None:
        from pipeline.llm.base import LlmDescriptor

        self.text = text
        self.descriptor = LlmDescriptor("scripted", True, "on-device", 2048, "cpu")

    def stream(self, messages, max_tokens, stop=None):
        for w in self.text.split(" "):
            time.sleep(0.03)  # at a model's pace: the stage and the stream overlap as they do for real
            yield w + " "


def _perform(components, text: str, guard: SourceGuard, speak: bool = False) -> list[str]:
    from types import SimpleNamespace

    from pipeline.runtime.endpointing import Endpoint
    from pipeline.runtime.reply_voice import Reply, ReplyVoice
    from pipeline.runtime.session import _TEXT_TURN
    from pipeline.runtime.turn import TurnRecorder
    from voice.tts import Prosody

    c = SimpleNamespace(llm=ScriptedLlm(text), pools=components.pools, tts=components.tts)
    voice = ReplyVoice(c, 200, 4, Prosody())
    rec = TurnRecorder(1, "text", [])
    reply = Reply(guard=guard)

    from devices.sinks import BufferSink

    sink = BufferSink() if speak else None
    perform = voice.perform(rec, reply, sink, Endpoint(_TEXT_TURN), [{"role": "user", "content": "x"}])
    asyncio.run(asyncio.wait_for(perform, 60))  # a stuck generation fails here instead of hanging
    return [e.text for e in rec.events if isinstance(e, SentenceReady)]


@pytest.mark.models
def test_a_time_of_day_needs_a_source_on_any_turn():
    """The 0.5B model, asked "next" after "cancel all timers" found none, said "The next alarm is at
    eleven oh five p.m." (23:05): a time of day that no source gave is not spoken; the time the
    context line gives is, in either form."""
    guard = SourceGuard(["next", "It is now Monday 30 November 2026, 22:31.", "no timer or alarm is set"])
    assert guard.check("The next alarm is at 23:05.") is None
    assert guard.check("Your meeting is at 7 pm.") is None
    assert guard.check("It is 22:31.") == "It is 22:31." and guard.check("It's 10:31 pm.") == "It's 10:31 pm."
    assert guard.check("Water boils at 100 degrees.") == "Water boils at 100 degrees."  # no time of day
    assert any("23:05" in why for why in guard.dropped), guard.dropped


def test_the_reply_stage_drops_invented_figures_and_says_so_when_nothing_is_left(components):
    said = _perform(
        components, "It is sunny in Paris. It is 68 degrees today.", SourceGuard(["weather?"], live=True)
    )
    assert said == ["It is sunny in Paris."]
    said = _perform(components, "NVDA is at 28 dollars right now.", SourceGuard(["NVDA?"], live=True))
    assert said == [SourceGuard.NO_SOURCE]
    # spoken: generation waits while the first sentence is synthesized; a first sentence the guard
    # dropped must not leave it waiting for good (it once did: the live loop hung)
    said = _perform(
        components, "It is 68 degrees today. Take a coat.", SourceGuard(["weather?"], live=True), speak=True
    )
    assert said == ["Take a coat."]


@pytest.mark.parametrize("profile", ["speaker", "car", "glasses", "companion"])
def test_the_guard_drops_the_system_prompt_recited(profile):
    """The 0.5B model answered a bare "next" with its own instructions ("I'm Twin, a friendly voice
    assistant You speak through a home speaker. Be warm and friendly. Reply in plain spoken
    sentences, at most 3, ..."): a sentence sharing six words in a row with an instruction is not
    spoken. Who Twin is and that it cannot see live data may still be said in its own words."""
    from devices.profiles import PROFILES
    from persona.persona import load_persona, system_prompt
    from pipeline.conversation.honesty import instruction_runs

    device = PROFILES[profile]
    prompt = system_prompt(load_persona("twin"), device.style, 3)
    guard = SourceGuard([prompt], instructions=instruction_runs(prompt))
    recited = [
        "Reply in plain spoken sentences, at most 3, and let the first sentence answer the question.",
        "Never use lists, markdown, code or emoji.",
        "Never claim to have done something you did not do.",
        f"I'm Twin, a friendly voice assistant. {device.style}",
    ]
    said = [
        "I'm Twin, a friendly, capable voice assistant.",
        "I can't see live data such as weather, news or prices.",
        "The capital of France is Paris.",
        "Be warm to your friends, and reply when they write.",
    ]
    assert [guard.check(s) for s in recited] == [None] * len(recited)
    assert [guard.check(s) for s in said] == said
    assert guard.fallback() == SourceGuard.UNCLEAR  # the request made no sense to the model: ask again
    assert SourceGuard([prompt]).check(recited[0]) == recited[0]  # without the instructions: not checked


def test_the_source_is_named():
    from types import SimpleNamespace as NS

    weather, calendar = live_topic("will it rain tomorrow"), live_topic("what's on my calendar today")
    ok = NS(outcomes=[NS(tool="facts__get_weather", done=True)])
    assert source_line(weather, ok, []) == "This comes from the facts server."
    assert source_line(weather, NS(outcomes=[NS(tool="facts__get_weather", done=False)]), []) is None
    assert source_line(calendar, NS(outcomes=[NS(tool="read_calendar", done=True)]), []) == (
        "This comes from your calendar."
    )
    assert source_line(calendar, None, ["You see the dentist on Friday"]) == "This is from what you told me."
    assert source_line(weather, None, ["You like rain"]) is None  # a memory is no weather report


@pytest.mark.models
def test_a_live_question_with_no_tool_is_answered_honestly(cfg, components, tmp_path):
    from pipeline.runtime.session import Twin

    twin = Twin(cfg.model_copy(update={"data_dir": tmp_path}), components, clock=steady_clock)
    # "what's NVDA's share price" (no "?") was found near device_state by meaning, and its reply was
    # the speaker's volume: with no MCP server, a live fact goes to no tool of Twin's own
    for text in (
        "What's the weather in San Francisco?",
        "What's NVDA's share price?",
        "what's NVDA's share price",
    ):
        result = asyncio.run(twin.ask(text))
        assert result.reply == cannot_check(live_topic(text)), result.reply
        assert any(getattr(e, "code", "") == "no_source" for e in result.events)


@pytest.mark.models
def test_a_live_question_reaches_the_mcp_tool_that_declares_it(cfg, components, tmp_path):
    """No tool word in the request: the server's own description routes it, and the spoken
    figures are the tool's."""
    from pipeline.config import McpServerConfig
    from pipeline.runtime.session import Twin

    c = cfg.model_copy(update={"data_dir": tmp_path}, deep=True)
    c.tools.mcp = {
        "facts": McpServerConfig(
            command=FACTS, allow=["get_weather", "get_stock_price"], tier="read", timeout_s=30
        )
    }
    twin = Twin(c, components)
    result = asyncio.run(twin.ask("Is it raining in Paris right now?"))
    entries = twin.tools.session.audit.entries()
    assert [(e["tool"], e["status"]) for e in entries] == [("facts__get_weather", "ok")], entries
    assert "can't check" not in result.reply
    assert result.reply.startswith("This comes from the facts server.")  # the reply says which source
    assert not SourceGuard(
        ["Paris: 14 °C, light rain, wind 18 km/h", result.transcript], live=True
    ).unsupported(result.reply)


def test_with_no_tool_run_a_sentence_that_says_something_was_done_is_not_spoken():
    guard = SourceGuard(["remove the flour"], acted=False)
    for claim in (
        "Actually removed the flour.",  # the 0.5B model's, once, with nothing removed
        "I've set a timer for 5 minutes.",
        "The light has been turned off.",
        "Sure, I added milk.",
        "I'm turning the volume up.",  # the 0.5B model's for "and do that.", with nothing changed
        "Okay, I am setting a timer now.",
    ):
        assert guard.check(claim) is None, claim
    for fine in (
        "Set a regular bedtime.",
        "I can set a timer for you.",
        "Paris is the capital of France.",
        "I'm playing it by ear today.",
        "I'm starting to see what you mean.",
    ):
        assert guard.check(fine) == fine
    assert guard.fallback() == SourceGuard.NOT_DONE
    # a tool ran: its result is what the model words
    assert SourceGuard(["remove the flour"], acted=True).check("Removed the flour.") == "Removed the flour."


@pytest.mark.models
def test_a_change_no_tool_made_is_never_claimed(cfg, components, tmp_path):
    import json

    from pipeline.runtime.session import Twin

    twin = Twin(cfg.model_copy(update={"data_dir": tmp_path}), components, clock=steady_clock)
    asyncio.run(twin.ask("Add eggs and flour to the shopping list"))
    result = asyncio.run(twin.ask("Actually remove the flour"))
    lists = json.loads((tmp_path / "tools" / "lists.json").read_text())["lists"]
    guard = SourceGuard([], acted=False)
    if "flour" in lists["shopping"]:  # nothing was removed: the reply must not say it was
        assert all(guard.check(s) for s in result.reply.split(". ") if s), result.reply
    else:
        assert "flour" in result.reply.lower()
