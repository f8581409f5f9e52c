"""Replies Twin composed itself are not the model's templates (issue #11). "You told me: your son
Peter is coming to visit on Saturday.", "I'll remember that ...": kept in the history as said, left
out of the model's view of it, so the 0.5B model does not answer "Who is the king of England?" with
"You told me: the king of England is ..." (it did, greedy, with them in its prompt as its own
answers). The rendering of a turn never changes once stored: the prefix cache still reuses it.

The phrasings are written for these tests; the model cases run the real Qwen2.5 0.5B, greedy, on the
prompt a real Twin builds after real composed turns, at a fixed time (conftest.steady_clock)."""

from __future__ import annotations

import asyncio
import re

import pytest
from conftest import steady_clock

from pipeline.conversation.context import COMPOSED, Conversation, model_view


def _conversation() -> Conversation:
    return Conversation("You are Twin.", history_turns=10, clock=steady_clock)


def test_a_composed_reply_stays_as_said_and_is_left_out_of_the_models_view():
    c = _conversation()
    c.remember("ctx 1", "My son Peter is coming on Saturday.", "I'll remember that.", composed=True)
    c.remember("ctx 2", "Tell me a joke.", "Why did the chicken cross the road?")
    assert c.dialogue == [
        {"role": "user", "content": "My son Peter is coming on Saturday."},
        {"role": "assistant", "content": "I'll remember that.", COMPOSED: "yes"},
        {"role": "user", "content": "Tell me a joke."},
        {"role": "assistant", "content": "Why did the chicken cross the road?"},
    ]
    sent = c.messages_for("Who is Einstein?", "en")
    assert [m["content"] for m in sent] == [
        "You are Twin.",
        "My son Peter is coming on Saturday.",  # the user's words: the fact is still there
        "ctx 2",
        "Tell me a joke.",
        "Why did the chicken cross the road?",
        "It is now Wednesday 4 March 2026, 10:00.",
        "Who is Einstein?",
    ]
    assert all(set(m) == {"role", "content"} for m in sent)  # the mark never reaches the model


def test_the_models_view_is_append_only():
    c = _conversation()
    views = []
    for i in range(6):
        c.remember(f"ctx {i}", f"question {i}", f"answer {i}", composed=i % 2 == 0)
        views.append(c.prefix())
    for before, after in zip(views, views[1:], strict=False):
        assert after[: len(before)] == before  # earlier turns render the same on every later turn
    assert model_view(c.history) == c.prefix()[1:]


def test_the_sentence_twin_said_before_the_models_answer_is_not_in_the_models_view():
    c = _conversation()
    lead = "This is from what you told me."
    c.remember("ctx 1", "When is Peter coming?", f"{lead} Peter is coming on Saturday.", lead=lead)
    c.remember("ctx 2", "Where do I live?", lead, lead=lead)  # nothing of the model's: a composed turn
    assert c.dialogue[1]["content"] == "This is from what you told me. Peter is coming on Saturday."
    assert [m["content"] for m in c.prefix()] == [
        "You are Twin.",
        "ctx 1",
        "When is Peter coming?",
        "Peter is coming on Saturday.",
        "Where do I live?",
    ]


_TOLD = re.compile(r"\b(?:you|i)\s+told\s+(?:me|you)\b", re.I)


def _greedy(llm, messages) -> str:
    out = llm.model.create_chat_completion(messages=messages, max_tokens=40, temperature=0.0)
    return out["choices"][0]["message"]["content"]


@pytest.mark.models
def test_after_two_you_told_me_turns_a_general_question_is_answered_as_itself(cfg, components, mem, tmp_path):
    from pipeline.runtime.session import Twin

    twin = Twin(cfg.model_copy(update={"data_dir": tmp_path}), components, clock=steady_clock)
    twin.memory = twin.memory_bridge.memory = mem
    told = asyncio.run(twin.ask("My son Peter is coming to visit on Saturday."))
    assert told.reply == "I'll remember that your son Peter is coming to visit on Saturday.", told.reply
    for asked in ("Who is Peter?", "Who is Peter?"):
        r = asyncio.run(twin.ask(asked))
        assert r.reply == "You told me: your son Peter is coming to visit on Saturday.", r.reply
    assert sum(1 for m in twin.history if m.get(COMPOSED)) == 6  # each turn's reply and context line
    # with these three replies shown as its own, the model answered both "You told me: ..."
    for question in ("Who is the king of England?", "Who was Marie Curie?"):
        said = _greedy(components.llm, twin.conversation.messages_for(question, "en"))
        assert said.strip() and not _TOLD.search(said), (question, said)
    # what the user said is still in the model's view: a question about it is answered from it
    said = _greedy(components.llm, twin.conversation.messages_for("When is Peter coming?", "en"))
    assert "saturday" in said.lower(), said
