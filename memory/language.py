"""Which language a piece of text is in, as far as memory cares: the write rules, the spoken commands
and the secret patterns differ for Chinese, and recall's relevance floor differs across scripts."""

from __future__ import annotations

import re

_HAN = re.compile(r"[\u4e00-\u9fff]")
# wider than Han: kana, hangul and the compatibility ideographs also sit far from Latin text in the
# embedding space, which is what the cross-script recall floor is about
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def is_chinese(text: str) -> bool:
    return _HAN.search(text) is not None


def starts_chinese(text: str) -> bool:
    """Chinese within the first two characters: the utterance is Chinese, not English quoting a name."""
    return _HAN.search(text[:2]) is not None


def is_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def clean(s: str) -> str:
    """Speech-to-text ends sentences with punctuation the patterns should not have to allow for."""
    return s.strip().rstrip(".!?").strip()
