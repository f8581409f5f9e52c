"""Feelings first. When the user tells Twin how they feel or shares sad news, and asks for nothing,
the reply is composed here, not by the local model.

The bundled model is a coder-tuned 0.5B. Asked with the persona's prompt (and with the emotion
style line, and with a prompt that told it to answer feelings kindly), it said:
- to "My cat died last week.": "I'm sorry, but I can't assist with that.";
- to "I'm feeling a bit lonely today": "It's amazing how you feel today!";
- to "I can't sleep again": "I'm sorry, but I can't help with that.".

For a companion to someone living alone that is worse than any fixed line. So a statement that
names a feeling gets a short acknowledgement and an offer to talk. A fall or feeling unwell also
gets the advice to call for help.

Transparent rules, English and Chinese. A statement that also asks for something ("I'm bored, tell
me a joke", "I'm worried, what should I do?") is left to the model. So is good news: the model
answers that well enough ("That sounds great!").
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Feeling:
    name: str
    en: re.Pattern[str]
    zh: tuple[str, ...]
    reply_en: str
    reply_zh: str


def _en(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# In order: the first that matches answers (a loss before sadness, a fall before tiredness).
FEELINGS: tuple[Feeling, ...] = (
    Feeling(
        "loss",
        _en(
            r"\b(?:died|passed away|passed on|lost my (?:wife|husband|mother|mum|mom|father|dad|"
            r"sister|brother|friend|son|daughter|dog|cat)|funeral)\b"
        ),
        ("去世", "过世", "走了", "葬礼"),
        "I'm so sorry for your loss. Would you like to talk about it?",
        "听到这个消息我很难过。想和我聊聊吗？",
    ),
    Feeling(
        "unwell",
        _en(
            r"\b(?:i(?:'ve| have)? (?:fallen|fell)(?! asleep)|i(?:'m| am) (?:hurt|injured|dizzy|unwell|"
            r"sick|ill|in pain)|(?:chest|head|back|stomach)\s?(?:pain|ache)|i feel (?:sick|ill|dizzy|faint|"
            r"unwell))\b"
        ),
        ("摔倒", "摔了一跤", "不舒服", "头晕", "胸口疼", "胸痛", "生病了"),
        "I'm sorry you're not well. If you're hurt or it feels serious, please call for help now: "
        "your emergency number, or someone close to you.",
        "听到你不舒服，我很担心。如果受伤了或者情况严重，请马上打急救电话，或者联系身边的人。",
    ),
    Feeling(
        "lonely",
        _en(r"\b(?:lonely|so alone|all alone|no one to talk|nobody to talk|miss (?:him|her|them|my \w+))\b"),
        ("孤单", "寂寞", "孤独", "没人说话", "想念"),
        "I'm sorry you're feeling lonely. I'm here with you. Would you like to talk for a while?",
        "听到你觉得孤单，我很难过。我在这里陪着你，想聊一会儿吗？",
    ),
    Feeling(
        "sad",
        _en(r"\b(?:sad|feeling down|feel down|depressed|heartbroken|upset|crying|cried|miserable)\b"),
        ("难过", "伤心", "想哭", "哭了", "沮丧", "失落"),
        "I'm sorry you're feeling down. Do you want to tell me about it?",
        "听到你难过，我很心疼。想和我说说吗？",
    ),
    Feeling(
        "anxious",
        _en(r"\b(?:worried|worrying|nervous|anxious|scared|afraid|stressed|frightened)\b"),
        ("担心", "紧张", "焦虑", "害怕", "压力好大", "压力很大"),
        "That sounds worrying. Do you want to talk it through?",
        "听起来让人担心。想一起理一理吗？",
    ),
    Feeling(
        "tired",
        _en(
            r"\b(?:so tired|really tired|exhausted|worn out|can'?t sleep|couldn'?t sleep|no energy|"
            r"didn'?t sleep)\b"
        ),
        ("好累", "很累", "太累", "睡不着", "失眠", "没精神"),
        "That sounds hard. Is there anything I can do to make today easier?",
        "听起来很辛苦。有什么我能帮你的吗？",
    ),
)


def _asks(text: str) -> bool:
    """Whether a clause asks for something (speech_act's reading, clause by clause)."""
    from pipeline.acting.speech_act import asks_anything

    return asks_anything(text)


# "not" just before the feeling word turns it around ("I'm not worried", "我不累")
_NOT_EN = _en(r"(?:\bnot|\bnever|n't|\bno longer)\s+(?:\w+\s+)?$")
_NOT_ZH = ("不", "没", "别")


def _said(feeling: Feeling, text: str, language: str) -> bool:
    if language == "zh":
        return any(
            w in text and not text[max(0, text.index(w) - 1) : text.index(w)].endswith(_NOT_ZH)
            for w in feeling.zh
        )
    return any(_NOT_EN.search(text[: m.start()]) is None for m in feeling.en.finditer(text))


def feeling_in(text: str, language: str = "en") -> Feeling | None:
    """The feeling a statement names, or None (also when the words ask for something)."""
    if _asks(text) or text.rstrip().endswith(("?", "？")):
        return None
    return next((f for f in FEELINGS if _said(f, text, language)), None)


def acknowledge(text: str, language: str = "en") -> str | None:
    """The reply to a statement of a feeling that asks for nothing, or None."""
    feeling = feeling_in(text, language)
    if feeling is None:
        return None
    return feeling.reply_zh if language == "zh" else feeling.reply_en
