"""Housekeeping as memory grows: without it, months of small episodes crowd out the facts in recall
and trivia lingers forever. Run off the voice path (the engine submits it when a session warms up)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .items import Kind, MemoryItem

if TYPE_CHECKING:
    from .service import Memory


def consolidate(mem: Memory, now: float | None, episode_days: float, fade_days: float) -> dict[str, int]:
    """Episodes older than `episode_days` become one summary per speaker and week (the originals are
    deleted); low-value items unused for `fade_days` fade away. Use reinforces: recall refreshes
    `last_used`, and importance slows the fade."""
    now = now or time.time()
    summarised = faded = 0
    groups: dict[tuple[str, int], list[MemoryItem]] = {}
    for it in list(mem.items.values()):
        age_days = (now - it.valid_from) / 86400
        if it.kind == Kind.EPISODE and age_days > episode_days and it.source != "summary":
            week = int(it.valid_from // (7 * 86400))
            groups.setdefault((it.speaker, week), []).append(it)
    for (speaker, week), items in groups.items():
        if len(items) < 2:
            continue
        items.sort(key=lambda it: it.valid_from)
        start = time.strftime("%d %B %Y", time.localtime(week * 7 * 86400))
        text = f"In the week of {start}: " + "; ".join(_lower_first(it.text) for it in items) + "."
        summary = MemoryItem(
            text=text[:2000],
            kind=Kind.EPISODE,
            speaker=speaker,
            source="summary",
            importance=max(it.importance for it in items),
            created=items[0].valid_from,
            valid_from=items[0].valid_from,
            use_count=sum(it.use_count for it in items),
        )
        mem.add_many([summary])
        summarised += mem.forget([it.id for it in items])
    for it in list(mem.items.values()):
        idle_days = (now - (it.last_used or it.created)) / 86400
        strength = it.importance * (1 + it.use_count)
        if it.current and strength < 0.5 and idle_days > fade_days * (1 + strength):
            faded += mem.forget([it.id])
    return {"episodes_summarised": summarised, "faded": faded}


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != "I " else text
