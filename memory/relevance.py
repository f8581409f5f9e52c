"""When a memory is about something: recall's relevance floor, and what "forget everything about my
old job" reaches (`on_topic`). Search always returns its best few items, related or not; only those about the
question go into the prompt, or the model weaves an unrelated memory into its reply.

A memory is about a question if it is close enough in meaning, or shares a word with it.
use-m3 puts a question and a fact in different languages further apart than the same pair in one
language (median cosine of related pairs 0.40 across languages, 0.48 within one; unrelated pairs
~0.07 either way), so a question and a memory in different scripts (CJK vs Latin) get a lower floor.
It was calibrated on 40 facts, each written in Chinese and in English, with a question about each in
both languages and 20 pieces of small talk a language: 0.31 lets through about the same share of
unrelated pairs across languages (0.66%) as 0.35 does within one (0.61%), and keeps 82% of the
related cross-language pairs (0.35 kept 66%).

Forgetting is stricter, and goes by meaning alone: one shared word ("old job" and "new job", "my
old car") once deleted five unrelated memories out of six. FORGET_MIN_COSINE was calibrated in
tests/test_forget_topic.py on a labelled set (topics, the memories about each, and look-alikes
sharing a word that are not about it): 0.46 gives the best precision-weighted F (F0.5: precision
1.00, recall 0.77 there); on held-out topics it measures precision 0.73, recall 0.67. A deletion is
previewed and confirmed, so a missed item can be forgotten by id; a wrong one cannot come back.
Across scripts the floor is lowered by the same margin as recall's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .index import terms
from .items import MemoryItem
from .language import is_cjk

RECALL_MIN_COSINE = 0.35
RECALL_MIN_COSINE_CROSS_SCRIPT = 0.31
FORGET_MIN_COSINE = 0.46
FORGET_MIN_COSINE_CROSS_SCRIPT = FORGET_MIN_COSINE - (RECALL_MIN_COSINE - RECALL_MIN_COSINE_CROSS_SCRIPT)


def about(
    query: str,
    q: np.ndarray,
    found: Iterable[tuple[MemoryItem, np.ndarray | None]],
    min_cosine: float | None = None,
) -> list[MemoryItem]:
    """The items of `found` (each with its stored unit vector, None when it is gone) that are about
    `query`, whose unit vector is `q`, in the order given. The cosine floor is recall's, by script,
    unless `min_cosine` sets one (forgetting asks for a stricter match than recalling)."""
    words = set(terms(query))
    query_cjk = is_cjk(query)
    out = []
    for item, vec in found:
        if vec is None:
            continue
        floor = min_cosine
        if floor is None:
            floor = RECALL_MIN_COSINE if is_cjk(item.text) == query_cjk else RECALL_MIN_COSINE_CROSS_SCRIPT
        if float(vec @ q) >= floor or words & set(terms(item.text)):
            out.append(item)
    return out


def on_topic(
    topic: str,
    q: np.ndarray,
    found: Iterable[tuple[MemoryItem, np.ndarray | None]],
    min_cosine: float | None = None,
) -> list[MemoryItem]:
    """The items of `found` that are about `topic` by meaning: cosine at or above the forget floor
    (by script), never because of one shared word. `min_cosine` overrides the same-script floor."""
    floor = FORGET_MIN_COSINE if min_cosine is None else min_cosine
    cross = floor - (FORGET_MIN_COSINE - FORGET_MIN_COSINE_CROSS_SCRIPT)
    topic_cjk = is_cjk(topic)
    return [
        item
        for item, vec in found
        if vec is not None and float(vec @ q) >= (floor if is_cjk(item.text) == topic_cjk else cross)
    ]
