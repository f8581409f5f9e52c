"""What the words say about a feeling: English keyword cues and VADER's sentiment, a Chinese lexicon
of feeling words (negation aware), and syllable counts for the speaking rate.

The one module that imports vaderSentiment (lazily: its lexicon loads on the first English text).
"""

from __future__ import annotations

import re

import numpy as np

_VOWELS = re.compile(r"[aeiouy]+", re.I)
_CUES = {
    "anxious": re.compile(
        r"\b(worr(y|ied|ying)|nervous|anxious|scared|afraid|panic\w*|stress\w*|what if|frighten\w*)\b", re.I
    ),
    "tired": re.compile(r"\b(tired|exhausted|sleepy|worn out|knackered|no energy|drained)\b", re.I),
    "angry": re.compile(
        r"\b(angry|furious|annoy\w*|hate|ridiculous|useless|stupid|fed up|sick of|damn\w*)\b", re.I
    ),
    "sad": re.compile(
        r"\b(sad|lonely|alone|miss(ed)? (him|her|them)|cry\w*|depress\w*|heartbroken|grief)\b", re.I
    ),
    "happy": re.compile(r"\b(great|wonderful|amazing|happy|glad|excited|love|fantastic|yay)\b", re.I),
}


# Chinese: no offline sentiment model for conversational Chinese ships (SnowNLP's, trained on
# shop reviews, rates "我很担心" as positive), so a small lexicon of feeling words does it, with
# negation (不/没/别 just before a word turns it around: "我不累" is not tired).
_ZH_CUES = {
    "anxious": ("担心", "紧张", "焦虑", "害怕", "不安", "慌", "压力好大", "压力很大", "怎么办"),
    "tired": ("累", "疲惫", "困", "没精神", "没力气", "筋疲力尽", "好困"),
    "angry": ("生气", "气死", "烦死", "讨厌", "恼火", "受够了", "愤怒", "可恶", "太过分"),
    "sad": ("难过", "伤心", "孤单", "寂寞", "想哭", "哭了", "失落", "沮丧", "难受", "想念"),
    "happy": ("开心", "高兴", "快乐", "太好了", "太棒", "喜欢", "兴奋", "幸福", "真好", "好极了"),
}
_ZH_POSITIVE = _ZH_CUES["happy"] + ("不错", "满意", "放心", "舒服", "谢谢", "好玩", "顺利")
_ZH_NEGATIVE = (
    _ZH_CUES["anxious"]
    + _ZH_CUES["tired"]
    + _ZH_CUES["angry"]
    + _ZH_CUES["sad"]
    + (
        "糟糕",
        "倒霉",
        "痛",
        "失望",
        "后悔",
    )
)
_ZH_NEGATION = ("不", "没", "别", "未")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _zh_hits(text: str, words: tuple[str, ...]) -> tuple[int, int]:
    """(plain mentions, negated mentions) of any of `words`; a word inside a longer listed word
    counts once."""
    plain = negated = 0
    taken: list[tuple[int, int]] = []
    for w in sorted(words, key=len, reverse=True):
        for m in re.finditer(re.escape(w), text):
            if any(a <= m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            before = text[max(0, m.start() - 2) : m.start()]
            if any(n in before for n in _ZH_NEGATION) and not w.startswith(_ZH_NEGATION):
                negated += 1
            else:
                plain += 1
    return plain, negated


def zh_cues(text: str) -> dict[str, bool]:
    return {label: _zh_hits(text, words)[0] > 0 for label, words in _ZH_CUES.items()}


def feeling_cues(text: str) -> dict[str, bool]:
    """Which feelings the words name outright (label -> mentioned): the Chinese lexicon for text
    holding Chinese characters, the English keyword patterns otherwise; none for no text."""
    if text and _CJK.search(text):
        return zh_cues(text)
    return {label: bool(rx.search(text)) for label, rx in _CUES.items()} if text else {}


def syllable_count(text: str) -> int:
    """English syllables by vowel groups; each Chinese character is one syllable."""
    latin = sum(max(1, len(_VOWELS.findall(w))) for w in re.findall(r"[A-Za-z']+", text))
    return latin + len(_CJK.findall(text))


def text_valence(text: str, language: str = "en") -> float | None:
    """VADER's compound sentiment for English, the feeling-word lexicon for Chinese (negation
    aware); None for other languages or no text."""
    if not text.strip():
        return None
    lang = language or "en"
    if lang.startswith("zh") or (
        lang.startswith("en") and _CJK.search(text) and not re.search("[A-Za-z]", text)
    ):
        pos, neg_pos = _zh_hits(text, _ZH_POSITIVE)
        neg, pos_neg = _zh_hits(text, _ZH_NEGATIVE)
        good, bad = pos + pos_neg * 0.1, neg + neg_pos  # "不开心" is bad; "不累" only a little good
        if good + bad == 0:
            return 0.0
        return float(np.tanh(1.2 * (good - bad)))
    if not lang.startswith("en"):
        return None
    return float(_vader().polarity_scores(text)["compound"])


_VADER = None


def _vader():
    global _VADER
    if _VADER is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _VADER = SentimentIntensityAnalyzer()
    return _VADER
