"""A request to remember is answered with what was kept, never the model's words ("I'm sorry, but I
can't assist with that" while the fact was stored), in the language it was asked in; a secret is
refused honestly (only the fact that it exists is kept); nothing kept is said as nothing kept. And one
process holds one copy of the sentence encoder, however many stores it opens."""

from __future__ import annotations

import asyncio

import pytest

from memory import Memory, parse_command, parse_write_request
from memory.confirm import remember


@pytest.mark.parametrize(
    ("said", "fact"),
    [
        ("Remember that my sister Anna lives in Lisbon.", "my sister Anna lives in Lisbon"),
        ("Please remember my favourite colour is green", "my favourite colour is green"),
        ("Don't forget that my dentist appointment is on Friday.", "my dentist appointment is on Friday"),
        ("don\u2019t forget that Tom is vegetarian", "Tom is vegetarian"),
        ("Keep in mind I'm allergic to peanuts.", "I'm allergic to peanuts"),
        ("Hey Twin, can you please remember that Tom likes jazz.", "Tom likes jazz"),
        ("Remember this: the spare key is under the blue pot", "the spare key is under the blue pot"),
        ("Remember that.", ""),
        ("I want you to remember that my son Leo is seven", "my son Leo is seven"),
        ("Make sure to remember that the bins go out on Tuesday", "the bins go out on Tuesday"),
        ("Store in your memory that my bike is blue", "my bike is blue"),
        ("Never forget that Mum's birthday is 3 May", "Mum's birthday is 3 May"),
        ("Remember, my sister lives in Lisbon", "my sister lives in Lisbon"),
    ],
)
def test_requests_to_remember_are_recognised(said, fact):
    request = parse_write_request(said)
    assert request is not None and request.lang == "en" and request.fact == fact


@pytest.mark.parametrize(
    "said",
    [
        "Remember to buy milk",  # a reminder, not a fact
        "Remember what I told you about Anna",  # a question without its question mark
        "Do you remember my sister?",
        "Remember my voice",  # the voice enrolment's
        "Note that the milk is off",  # the notes tool's
        "Forget that",
        "What do you remember about me?",
        "记得带伞",  # a reminder
        "你还记得我女儿叫什么吗",
        "记住我女儿叫什么？",
    ],
)
def test_other_sayings_are_no_request_to_remember(said):
    assert parse_write_request(said) is None


def test_dont_forget_is_no_forget_command():
    assert parse_command("Don't forget that my dentist appointment is on Friday") is None
    assert parse_command("do not forget about my appointment") is None
    assert parse_command("Forget about my old job").action == "forget_about"


def test_the_reply_says_what_was_kept_updated_or_already_known(mem):
    said = remember(mem, "Remember that my sister Anna lives in Lisbon.", None, "turn 1")
    assert said == "I'll remember that your sister Anna lives in Lisbon."
    assert [it.text for it in mem.list()] == ["Your sister Anna lives in Lisbon"]
    again = remember(mem, "Remember that my sister Anna lives in Lisbon", None)
    assert again == "I already had that: your sister Anna lives in Lisbon."
    assert len(mem.list()) == 1
    remember(mem, "Please remember my favourite colour is green", None)
    changed = remember(mem, "Please remember my favourite colour is blue", None)
    assert changed == (
        "I'll remember that your favourite colour is blue. "
        "That replaces what I had before: your favourite colour is green."
    )
    assert "Your favourite colour is blue" in {it.text for it in mem.list()}
    assert "Your favourite colour is green" not in {it.text for it in mem.list()}  # history only
    assert remember(mem, "What's the weather like?", None) is None


def test_a_secret_is_refused_honestly_and_its_value_never_stored(mem):
    said = remember(mem, "Remember my password is hunter2", None)
    assert said == (
        "I never keep passwords, codes or other secrets, so I didn't store the value. "
        "I only noted that your password is set."
    )
    assert all("hunter2" not in it.text for it in mem.list(include_history=True))
    zh = remember(mem, "记住我的银行卡密码是123456", None)
    assert zh is not None and zh.startswith("密码、验证码这类机密我从不保存") and "123456" not in zh
    assert all("123456" not in it.text for it in mem.list(include_history=True))


def test_nothing_kept_is_said_as_nothing_kept(mem):
    before = len(mem.list())
    assert remember(mem, "Remember that", None) == (
        "What should I remember? Say, for example: remember that my sister lives in Lisbon."
    )
    too_long = "Remember that " + "my sister Anna lives in Lisbon and " * 80
    said = remember(mem, too_long, None)
    assert said is not None and said.startswith("I couldn't save that, so nothing was stored:")
    assert len(mem.list()) == before


def test_the_chinese_request_is_confirmed_in_chinese(mem):
    said = remember(mem, "记住我的女儿叫小美", None)
    assert said == "好的，我记住了：你的女儿叫小美。"
    (item,) = mem.list()
    assert item.text == "你的女儿叫小美" and item.key == "daughter.name"
    assert remember(mem, "请记住我住在上海。", None) == "好的，我记住了：你住在上海。"
    assert remember(mem, "别忘了我对花生过敏", None) == "好的，我记住了：你对花生过敏。"
    assert remember(mem, "帮我记一下我的生日是五月三号", None) == "好的，我记住了：你的生日是五月三号。"
    assert remember(mem, "记住这个", None) == "要我记住什么？比如可以说：记住我的女儿叫小美。"
    assert remember(mem, "记一下明天要开会吗", None) is None
    assert len(mem.list()) == 4


def test_two_stores_share_one_encoder(tmp_path):
    from memory.embedding import E5Encoder, UseEmbedder, shared_models

    a, b = Memory(tmp_path / "a"), Memory(tmp_path / "b")
    try:
        assert a.embedder is not b.embedder  # each store keeps its own embedder object ...
        assert a.embedder._model is b.embedder._model  # ... over the process's one model
        assert a.embedder._lock is b.embedder._lock  # and one lock serialises its use
        assert UseEmbedder()._model is a.embedder._model
        a.remember("my sister Anna lives in Lisbon")
        b.remember("my brother Tom lives in Porto")
        assert sum(p.endswith("weights.npz") for p in shared_models()) == 1
    finally:
        a.close()
        b.close()
    assert E5Encoder()._model is E5Encoder()._model


@pytest.mark.models
@pytest.mark.parametrize(
    ("said", "reply", "stored"),
    [
        (
            "Remember that my sister Anna lives in Lisbon.",
            "I'll remember that your sister Anna lives in Lisbon.",
            "Your sister Anna lives in Lisbon",
        ),
        (
            "Please remember my favourite colour is green",
            "I'll remember that your favourite colour is green.",
            "Your favourite colour is green",
        ),
        (
            "Don't forget that my dentist appointment is on Friday.",
            "I'll remember that your dentist appointment is on Friday.",
            "Your dentist appointment is on Friday",
        ),
        (
            "Keep in mind I'm allergic to peanuts.",
            "I'll remember that you're allergic to peanuts.",
            "You're allergic to peanuts",
        ),
        (
            "Remember my password is hunter2",
            "I never keep passwords, codes or other secrets, so I didn't store the value. "
            "I only noted that your password is set.",
            "Your password is set (the value is never stored)",
        ),
        ("记住我的女儿叫小美", "好的，我记住了：你的女儿叫小美。", "你的女儿叫小美"),
        (  # was "Note saved." (the notes tool): a memory was asked for
            "Store in your memory that the car is on level 3",
            "I'll remember that the car is on level 3.",
            "The car is on level 3",
        ),
    ],
)
def test_a_real_session_confirms_what_it_kept(twin, tmp_path, said, reply, stored):
    """Through a real typed turn (the session's fast path, before the planner and the model): the
    reply is the confirmation, the store holds exactly that one item (the write policy after the
    turn does not write it twice), and no tool ran (no reminder made of "remember ...")."""
    scratch = Memory.open(tmp_path / "memory")
    twin.memory_bridge.memory = scratch
    try:
        result = asyncio.run(twin.ask(said))
        twin.flush_memory()
        assert result.reply == reply
        assert [it.text for it in scratch.list(include_history=True)] == [stored]
        assert not [e for e in result.events if type(e).__name__.startswith(("Tool", "Llm"))]
    finally:
        scratch.close()


@pytest.mark.models
def test_a_spoken_request_is_confirmed_with_what_was_stored(twin, synth, tmp_path):
    """A spoken turn (the bundled voice, through the real ASR): the confirmation speaks exactly the
    line that was stored, whatever the recogniser heard."""
    from devices.sinks import BufferSink

    scratch = Memory.open(tmp_path / "memory")
    twin.memory_bridge.memory = scratch
    try:
        result = asyncio.run(
            twin.listen_clip(synth("Remember that my sister Anna lives in Lisbon."), BufferSink())
        )
        twin.flush_memory()
        (item,) = scratch.list()
        assert "sister" in item.text.lower()
        assert result.reply == f"I'll remember that {item.text[:1].lower()}{item.text[1:]}."
    finally:
        scratch.close()


@pytest.mark.models
def test_memory_switched_off_says_so(twin):
    twin.memory_bridge.memory = None
    result = asyncio.run(twin.ask("Remember that my sister Anna lives in Lisbon."))
    assert result.reply == "My memory is switched off, so I can't keep that."
