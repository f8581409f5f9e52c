"""The user's own facts are said only from memory: a question about them with nothing remembered
gets an honest "you haven't told me" (in the question's language), a name or figure the model adds
that no memory gave is not spoken, and the first recall of a process waits for its encoder rather
than answer from nothing."""

from __future__ import annotations

import asyncio
import time

import pytest
from conftest import steady_clock

from memory.policy import extract
from pipeline.conversation.honesty import (
    MINE,
    SourceGuard,
    asks_about_named,
    asks_own_name,
    from_dialogue,
    from_memory,
    live_topic,
    personal_question,
    told_back,
    told_in,
)


@pytest.mark.parametrize(
    "text",
    [
        "What is my daughter allergic to?",
        "what's my name",
        "Where do I live?",
        "When is my mother's birthday?",
        "Who is my doctor?",
        "do you remember my wife's name",
        "我女儿叫什么名字？",
        "我住在哪里？",
        "remind me what my name is",
        "tell me where I live",
    ],
)
def test_questions_about_the_users_own_facts(text):
    assert personal_question(text)
    assert live_topic(text) is MINE


@pytest.mark.parametrize(
    "text",
    [
        "My daughter is called Mia",  # a statement: memory's to keep, not a question
        "What's the capital of France?",
        "how do I make pancakes",
        "what is a good name for my dog",
        "where can I buy a lamp",
        "我女儿叫小美",
    ],
)
def test_what_is_not_a_question_about_the_users_own_facts(text):
    assert not personal_question(text)


def test_own_name_questions():
    assert asks_own_name("remind me what my name is")
    assert asks_own_name("What's my name?") and asks_own_name("who am I") and asks_own_name("我叫什么？")
    assert not asks_own_name("What's my daughter's name?")


def test_a_name_no_memory_gave_is_not_spoken_on_a_personal_turn():
    guard = SourceGuard(["What is my daughter called?", "Your daughter is called Mia"], True, names=True)
    assert guard.check("Your daughter is called Mia.")
    assert guard.check("Your daughter's name is Sophie.") is None
    assert guard.check("I remember that.")  # "I" is no name
    zh = SourceGuard(["我女儿叫什么名字？", "你的女儿叫小美"], True, names=True)
    assert zh.check("你的女儿叫小美。")
    assert zh.check("我的女儿的姓名是张三。") is None  # the small model's own answer, once
    # off a personal turn names are not checked (general knowledge names places and people)
    assert SourceGuard(["tell me about France"]).check("Paris is the capital of France.")


def test_the_answer_is_the_memory_as_told():
    assert from_memory(["Your daughter is called Mia"]) == "You told me: your daughter is called Mia."
    assert from_memory(["你的女儿叫小美"]) == "你告诉过我：你的女儿叫小美。"
    assert from_memory(["You live in Lyon"], "zh") == "你告诉过我：you live in Lyon。"
    assert from_memory(["Your name is Anna (I know your voice)."]) == "Your name is Anna: I know your voice."
    # a turn of an imported conversation is worded by the model, with the guard
    assert from_memory(["Caroline (Mon 22 Oct 2023): I went to the support group"]) is None
    assert from_memory([]) is None


def test_what_the_user_said_in_this_conversation_counts_as_told():
    said = [
        {"role": "user", "content": "my name is Sam and I'm going to Madrid next week"},
        {"role": "assistant", "content": "Have a good trip!"},
    ]
    assert told_in(said, "what's my name and where am I going")
    assert not told_in(said, "What is my daughter allergic to?")
    assert told_in([{"role": "user", "content": "我的女儿叫小美"}], "我女儿叫什么名字？")
    assert not told_in([{"role": "assistant", "content": "Your daughter"}], "who is my daughter")
    # a question about the conversation itself: told when the user has said anything in it
    assert personal_question("What did I just tell you?")
    assert told_in(said, "What did I just tell you?") and not told_in([], "What did I just tell you?")


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("My daughter Mia is allergic to peanuts.", True),
        ("I live in Lyon.", True),
        ("my favorite color is blue", True),
        ("我的女儿叫小美", True),
        ("My daughter is allergic to nuts, can you find a recipe?", False),  # also asks: the model's
        ("I love hiking", False),  # a taste: kept after the turn, the model answers
        ("I am so tired", False),
        ("我女儿叫什么？", False),
        ("What is my name", False),
    ],
)
def test_a_stated_fact_is_kept_and_acknowledged(text, kept):
    from pipeline.conversation.recall import stated_fact

    assert (stated_fact(text) is not None) == kept


def test_only_the_sentence_that_states_the_fact_is_kept():
    # the whole turn used to be kept: "Hi Twin, your name is Sam. What can you help you with"
    assert [c.text for c in extract("Hi Twin, my name is Sam. What can you help me with?")] == [
        "Your name is Sam"
    ]
    assert [c.text for c in extract("I live in Lyon. It is lovely.")] == ["You live in Lyon"]
    assert [c.text for c in extract("Twin, my name is Sam")] == ["Your name is Sam"]


def test_a_question_is_answered_from_what_the_user_said_in_this_conversation():
    said = [
        {"role": "user", "content": "My name is Margaret and I live in Bristol."},
        {"role": "assistant", "content": "I'll remember that your name is Margaret and you live in Bristol."},
        {"role": "user", "content": "My son Peter is coming to visit on Saturday."},
        {"role": "assistant", "content": "I'll remember that."},
        {"role": "user", "content": "Tell me a joke"},  # asked, not told: never said back
        {"role": "assistant", "content": "Why did the tomato turn red?"},
    ]
    assert from_dialogue(said, "When is Peter coming?") == (
        "You told me: your son Peter is coming to visit on Saturday."
    )
    assert from_dialogue(said, "What did I just tell you?") == (
        "You told me: your son Peter is coming to visit on Saturday."
    )
    assert from_dialogue(said, "what is my favourite film") is None  # shares no word: not told
    # the conversation first, then memory
    assert told_back("When is Peter coming?", "en", said, ["Your son Peter lives in Leeds"]).startswith(
        "You told me: your son Peter is coming"
    )
    assert told_back("Where does Anna work?", "en", said, ["Your sister Anna works at the bakery"]) == (
        "You told me: your sister Anna works at the bakery."
    )


def test_who_is_a_name_the_user_gave():
    lines = ["My son Peter is coming to visit on Saturday."]
    assert asks_about_named("Who is Peter?", lines)  # the model said "Peter is an AI assistant"
    assert not asks_about_named("Who is Einstein?", lines)  # general knowledge: the model's
    assert not asks_about_named("Who is the president?", lines)


def test_facts_about_someone_close_are_kept():
    (c,) = extract("My daughter Mia is allergic to peanuts.")
    assert c.key == "daughter.allergy.peanuts" and c.text == "Your daughter Mia is allergic to peanuts"
    assert extract("My wife Anna loves jazz.")[0].text == "Your wife Anna loves jazz"
    assert extract("My son Peter is coming to visit on Saturday.")[0].text == (
        "Your son Peter is coming to visit on Saturday"
    )
    assert extract("My dog is barking") == []  # a passing state, not a fact about someone


@pytest.mark.models
def test_asked_before_and_after_telling(cfg, components, mem, tmp_path):
    from pipeline.runtime.session import Twin

    twin = Twin(cfg.model_copy(update={"data_dir": tmp_path}), components, clock=steady_clock)
    twin.memory = twin.memory_bridge.memory = mem
    before = asyncio.run(twin.ask("What is my daughter allergic to?"))
    assert before.reply == MINE.said, before.reply
    assert any(getattr(e, "code", "") == "no_source" for e in before.events)
    told = asyncio.run(twin.ask("My daughter Mia is allergic to peanuts."))
    # kept at once and said so, not left to the model (which answered it "I'm sorry, but I can't
    # assist with that.")
    assert told.reply == "I'll remember that your daughter Mia is allergic to peanuts.", told.reply
    assert [it.text for it in mem.list()] == ["Your daughter Mia is allergic to peanuts"]
    zh = asyncio.run(twin.ask("我住在哪里？"))
    assert zh.reply == MINE.said_zh, zh.reply
    # said from the memory as told, not by the model: with its own "you haven't told me" in the
    # history, the 0.5B model once repeated it with the fact in its prompt
    after = asyncio.run(twin.ask("What is my daughter allergic to?"))
    assert after.reply == "You told me: your daughter Mia is allergic to peanuts.", after.reply


class SlowMemory:
    """A store whose recall takes far longer than the recall budget (a first recall loading its
    encoder, a slow disk): what it finds arrives only for a turn that waits for it."""

    def __init__(self, lines: list[str], delay_s: float) -> None:
        self.lines, self.delay_s = lines, delay_s

    def recall(self, query, speaker, budget_s):
        time.sleep(self.delay_s)
        return list(self.lines)

    def observe(self, *args):
        return []

    def handle_command(self, text, speaker):
        return None


@pytest.mark.models
def test_a_question_only_memory_can_answer_waits_for_it(cfg, components, tmp_path):
    """The budget is 60 ms; this store answers after 0.4 s. A general question goes on without it;
    a question about the user's own facts waits (up to 2 s) and is answered from it."""
    from pipeline.conversation.recall import PATIENT_RECALL_S
    from pipeline.runtime.session import Twin

    assert cfg.memory.recall_budget_ms / 1000 < 0.4 < PATIENT_RECALL_S
    twin = Twin(cfg.model_copy(update={"data_dir": tmp_path}), components, clock=steady_clock)
    twin.memory = twin.memory_bridge.memory = SlowMemory(["You live in Lyon"], 0.4)
    general = asyncio.run(twin.ask("What is the capital of France?"))
    assert "Lyon" not in twin.history[-3]["content"] and general.status == "completed"
    mine = asyncio.run(twin.ask("Where do I live?"))
    assert "Lyon" in twin.history[-3]["content"]  # the memory reached the prompt
    assert mine.reply == "You told me: you live in Lyon.", mine.reply


def test_what_the_words_ask_decides_whether_the_planner_is_asked():
    from pipeline.conversation.answering import read_request

    def skip(text, mcp=False):
        return read_request(text, [], mcp).skip_planner

    assert skip("What is my daughter allergic to?")  # memory's: the planner adds only its delay
    assert skip("what's NVDA's share price")  # no tool of Twin's own knows it
    assert not skip("what's NVDA's share price", mcp=True)  # a server may
    assert not skip("What is my shopping list?")  # the list tool's own words
    assert not skip("set a timer for ten minutes")
    assert read_request("Where do I live?", [], True).mine  # recall still waits for memory


def test_the_answer_comes_from_the_first_source_that_has_it():
    from pipeline.conversation.answering import decide, read_request

    def answer(text, composed=None, recalled=(), dialogue=()):
        asked = read_request(text, list(dialogue), False)
        return decide(text, "en", composed, None, list(recalled), list(dialogue), asked)

    assert answer("What time is it?", composed="It is 09:00.").direct == "It is 09:00."
    none = answer("What is my daughter allergic to?")
    assert none.direct == MINE.said and none.no_source
    assert (
        answer("Where do I live?", recalled=["You live in Lyon"]).direct == "You told me: you live in Lyon."
    )
    assert answer("My cat died last week.").direct.startswith("I'm so sorry for your loss")
    weather = answer("What's the weather in Paris?")
    assert weather.direct.startswith("I can't check the weather") and weather.topic.name == "weather"
    chat = answer("Tell me about octopuses")
    assert chat.direct is None and chat.lead == "" and not chat.guard(["x"], False).live  # the model's
