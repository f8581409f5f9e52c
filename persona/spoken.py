"""Turn model text into something that sounds right when spoken: no markdown, no emoji, no code."""

from __future__ import annotations

import re

_EMOJI = re.compile("[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f900-\U0001f9ff\U0000fe0f\U0000200d]+")
_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")
_CODE_FENCE = re.compile(r"```.*?(```|$)", re.S)
_LIST_MARKER = re.compile(r"^\s*(?:[-*•+]|\d+[.)])\s+", re.M)
_HEADING = re.compile(r"^\s*#+\s*", re.M)
_EMPHASIS = re.compile(r"(\*\*|__|\*|`|~~)")
_URL = re.compile(r"https?://\S+")


def to_spoken(text: str) -> str:
    text = _CODE_FENCE.sub(" ", text)
    text = _MARKDOWN_LINK.sub(r"\1", text)
    text = _URL.sub("the link", text)
    text = _HEADING.sub("", text)
    text = _LIST_MARKER.sub("", text)
    text = _EMPHASIS.sub("", text)
    text = _EMOJI.sub("", text)
    text = text.replace("&", " and ")
    return re.sub(r"\s+", " ", text).strip()
