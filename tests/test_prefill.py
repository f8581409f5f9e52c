"""Prompt prefill on partial transcripts (pipeline/runtime/prefill.py), on the real local model: the
words heard so far are read into the model's prompt cache, so the turn's own prompt has less left to
read; only for words the model itself will answer; the newest words win over older ones waiting."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from conftest import fixture_path

from pipeline.config import PartialsConfig
from pipeline.llm import model_thread
from pipeline.llm.llama import _common_prefix, chat_formatter
from pipeline.runtime.prefill import PromptPrefill

pytestmark = pytest.mark.models

ASKED = "Tell me a fun fact about octopuses."
FROZEN = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def session(cfg, components, profile: str | None = None, **partials):
    from pipeline.runtime.session import Twin

    quiet = cfg.model_copy(
        update={
            "tools": cfg.tools.model_copy(update={"enabled": False, "mcp": {}}),
            "partials": PartialsConfig(**partials),
        }
        | ({"profile": profile} if profile else {})
    )
    # a frozen clock: the context line's time must not change between the prefill and the prompt
    # it is compared with (a minute turning over mid-test would part them)
    twin = Twin(quiet, components, clock=lambda: FROZEN)
    twin.warm_up()  # the conversation's start in the cache, as between turns of a live session
    return twin


def unread(components, messages) -> int:
    """How many tokens of the turn's whole prompt (reply header included) the model's cache lacks."""
    llm = components.llm

    def count() -> int:
        prompt = chat_formatter(llm.model, True, "test")(messages=messages).prompt
        toks = llm.model.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        cached = [int(t) for t in llm.model.input_ids[: llm.model.n_tokens]]
        return len(toks) - _common_prefix(cached, toks)

    return model_thread.run(count)


def settle(components) -> None:
    components.pools.llm.submit(lambda: None).result(timeout=60)


def test_the_words_heard_so_far_are_read_before_the_turn(cfg, components):
    twin = session(cfg, components)
    settle(components)
    turn_prompt = twin.messages_for(ASKED, "en")
    before = unread(components, turn_prompt)

    prefill = PromptPrefill(twin, components.pools.llm, components.llm)
    assert prefill.offer("Tell me a fun fact about", "en")
    settle(components)
    after = unread(components, turn_prompt)
    print(f"\nunread tokens of the turn's prompt: {before} before, {after} after the partial's prefill")
    assert prefill.done == 1 and prefill.tokens > 0
    # the context line and "Tell me a fun fact about" are read: left are "octopuses." and the header
    assert after <= before - 6
    assert after <= 10

    # the whole request heard: only the reply's header is left for the turn
    assert prefill.offer(ASKED, "en")
    settle(components)
    assert unread(components, turn_prompt) <= 5


def test_the_devices_own_style_line_is_read_too(cfg, components):
    """In the car every turn's context line says the user is driving: the prefill has it, so a
    neutral voice's turn still finds its words read; a voice heard as upset adds its own line, and
    that turn reads its words itself (the cache parts after the time line)."""
    from persona.style import StylePolicy
    from voice.capabilities import EmotionEstimate

    twin = session(cfg, components, profile="car")
    settle(components)
    policy = StylePolicy(twin.persona, twin.profile)
    neutral = policy.for_turn()
    assert neutral.line  # "The user is driving: ..."
    prefill = PromptPrefill(twin, components.pools.llm, components.llm)
    assert prefill.offer("Tell me a fun fact about", "en")
    settle(components)
    assert unread(components, twin.messages_for(ASKED, "en", None, neutral)) <= 10
    upset = policy.for_turn(EmotionEstimate(valence=-0.7, arousal=0.8, label="angry", confidence=0.9))
    assert upset.line != neutral.line
    assert unread(components, twin.messages_for(ASKED, "en", None, upset)) > 15


def test_only_words_the_model_will_answer_are_read(cfg, components):
    twin = session(cfg, components)
    prefill = PromptPrefill(twin, components.pools.llm, components.llm)
    assert not prefill.offer("set a timer for ten minutes", "en")  # a tool's words: the planner goes first
    assert not prefill.offer("what's my daughter's name", "en")  # the user's own facts: memory's line
    assert not prefill.offer("what's the weather in Paris", "en")  # a live fact: answered without the model
    assert not prefill.offer("   ", "en")
    settle(components)
    assert prefill.done == 0


def test_the_newest_words_win_over_older_ones_waiting(cfg, components):
    twin = session(cfg, components)
    prefill = PromptPrefill(twin, components.pools.llm, components.llm)
    busy, release = threading.Event(), threading.Event()

    def hold() -> None:  # the model's thread busy (a reply), while two partials arrive
        busy.set()
        release.wait(30)

    components.pools.llm.submit(hold)
    assert busy.wait(30)
    assert prefill.offer("Tell me a", "en")
    assert prefill.offer("Tell me a fun fact about", "en")
    release.set()
    settle(components)
    assert prefill.done == 1  # the older words were skipped, not read and then replaced
    assert unread(components, twin.messages_for(ASKED, "en")) <= 10


def test_a_live_session_reads_mid_speech_partials_only(cfg, components):
    """A real recording through the live front end: the partials decoded while the user speaks are
    offered to the model (logged `prefill`), the pause's own partial is not; `prefill = false` offers
    none."""
    import asyncio

    import numpy as np

    from devices.sinks import BufferSink
    from devices.sources import ClipSource
    from voice.audio import SAMPLE_RATE, AudioClip, load_audio

    clip = load_audio(fixture_path("speech_to_phrase_en/wav/what is the Outdoor Humidity.wav")).samples
    audio = AudioClip(np.concatenate([np.zeros(int(0.3 * SAMPLE_RATE), np.float32), clip]))
    # a question whose words hold no tool's, memory's or live cue: the model answers it
    for on in (True, False):
        twin = session(cfg, components, prefill=on)
        asyncio.run(twin.live(ClipSource(audio), BufferSink()))
        partials = twin.front_end.partials
        print("\n", on, [(p["text"], p["at_pause"], p["prefill"]) for p in partials])
        assert len(partials) >= 2
        assert not any(p["prefill"] for p in partials if p["at_pause"])
        mid = [p for p in partials if not p["at_pause"] and p["text"].strip()]
        assert mid
        assert any(p["prefill"] for p in mid) is on
