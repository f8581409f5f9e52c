"""Keeping the reply model's cache warm between turns (issue #12: voice-to-voice in a continuing
conversation). After each turn of a live session the model's KV cache is brought up to the system
prompt and the history, so the next turn evaluates only its own lines; when the history drops its
oldest turns, the cache drops them too and shifts the rest back instead of evaluating it again.
The real Qwen2.5 0.5B; assertions are on tokens evaluated (exact counts), never on times."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest

from pipeline.runtime.session import Twin, trimmed_from

pytestmark = pytest.mark.models

SYSTEM = {"role": "system", "content": "You are a helpful voice assistant. Keep answers short."}
FACTS = [
    ("My sister is called Ana.", "Nice, Ana."),
    ("I live in Porto.", "Porto is lovely."),
    ("I like green tea.", "Green tea is great."),
    ("My dog is called Rex.", "Rex is a good name."),
]


def history(pairs: list[tuple[str, str]], first: int = 0) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for i, (user, said) in enumerate(pairs, start=first):
        out += [
            {"role": "system", "content": f"It is now Monday 10:0{i}."},
            {"role": "user", "content": user},
            {"role": "assistant", "content": said},
        ]
    return out


def greedy(llm, messages: list[dict[str, str]]) -> tuple[str, int]:
    """A greedy reply and the prompt tokens evaluated for it (those not already cached)."""
    before = llm.tokens_evaluated
    out = llm.model.create_chat_completion(messages=messages, max_tokens=16, temperature=0.0)
    generated = out["usage"]["completion_tokens"]
    return out["choices"][0]["message"]["content"], llm.tokens_evaluated - before - generated


def test_warm_leaves_only_the_new_lines_to_evaluate(components):
    llm = components.llm
    prefix = [SYSTEM, *history(FACTS)]
    llm.warm(prefix)
    assert llm.warm(prefix) == 0, "warming the same prefix twice evaluated it again"
    turn = [{"role": "system", "content": "It is now Monday 10:09."}, {"role": "user", "content": "Hi."}]
    _, evaluated = greedy(llm, prefix + turn)
    whole = len(llm._prefix_tokens(prefix + turn))
    # only the turn's own two lines and the assistant's header (+1: the last prompt token is evaluated
    # again for its logits), never the history
    assert evaluated <= whole - len(llm._prefix_tokens(prefix)) + 8, (evaluated, whole)


def test_a_trimmed_history_is_shifted_not_evaluated_again(components):
    llm = components.llm
    llm.model.reset()
    llm.warm([SYSTEM, *history(FACTS)])
    kept = [SYSTEM, *history(FACTS[2:], first=2)]  # the two oldest turns dropped
    shifted = llm.tokens_shifted
    assert llm.warm(kept, shift=True) == 0, "the kept turns were evaluated again"
    assert llm.tokens_shifted - shifted >= 32  # the kept turns moved back, not evaluated
    assert llm.model.n_tokens == len(llm._prefix_tokens(kept))
    ask = {"role": "user", "content": "What is my dog called? One word."}
    answer, evaluated = greedy(llm, [*kept, ask])
    assert "Rex" in answer, answer  # the shifted cache still holds the kept turns, in order
    assert evaluated < 24, evaluated


def test_without_shift_a_replaced_history_is_evaluated(components):
    """Another speaker's history (the hub) must not reuse this one's cached turns by shifting."""
    llm = components.llm
    llm.model.reset()
    llm.warm([SYSTEM, *history(FACTS)])
    other = [SYSTEM, *history(FACTS[2:], first=2)]
    assert llm.warm(other) > 0


def test_trimmed_from_tells_a_trim_from_a_replacement():
    before = history(FACTS)
    assert trimmed_from(before, before[6:])
    assert trimmed_from(before, before[6:] + history([("Hi.", "Hello.")], first=7))
    assert not trimmed_from(before, before + history([("Hi.", "Hello.")], first=7))  # appended only
    assert not trimmed_from(before, history([("I am Bo.", "Hi Bo.")]))  # another conversation
    assert not trimmed_from([], before)


def test_a_live_session_warms_after_each_turn(cfg, components):
    """After a turn of a session that keeps warm, the cache holds exactly the start of the next
    turn's prompt (system prompt and history, this turn included): the next turn evaluates only its
    own lines."""
    twin = Twin(cfg, components, clock=lambda: datetime(2026, 3, 2, 9, 41, tzinfo=UTC))
    twin.keep_warm = True
    llm = components.llm
    result = asyncio.run(twin.ask("Tell me a word that rhymes with cat."))
    assert result.status == "completed", result
    components.pools.llm.submit(lambda: None).result(timeout=60)  # the warm-up queued after the turn
    cached = [int(t) for t in llm.model.input_ids[: llm.model.n_tokens]]
    following = llm._prefix_tokens(twin.messages_for("And one that rhymes with dog?", "en"))
    history = len(llm._prefix_tokens(twin.conversation.prefix()))
    # the history and the start of the next context line ("It is now Monday 2 March 2026, 09:")
    assert len(cached) >= history + 10, (len(cached), history)
    assert following[: len(cached)] == cached, "the cache is not the start of the next prompt"


def test_warm_does_not_disturb_a_stream(components):
    """A warm-up and a reply on the same context are serialized by its lock."""
    llm = components.llm
    prefix = [SYSTEM, *history(FACTS)]
    stop = threading.Event()
    pieces: list[str] = []
    hi = [*prefix, {"role": "user", "content": "Hi."}]
    t = threading.Thread(target=lambda: pieces.extend(llm.stream(hi, 8, stop)))
    t.start()
    llm.warm([SYSTEM, *history(FACTS[:2])])
    t.join(timeout=60)
    assert pieces, "the reply produced nothing"
    assert llm.warm([SYSTEM, *history(FACTS[:2])]) == 0
