"""The clock beside the live loop: timers, alarms and reminders that came due are announced, each
when no turn is under way, so a ring never talks over a reply. A damaged state file or a full disk
is logged and the clock goes on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from concurrent.futures import Executor
from typing import Any

from models.errors import TwinError

log = logging.getLogger(__name__)


async def ring_due(
    fire_due: Callable[[], list[dict[str, Any]]],
    pool: Executor,
    say: Callable[[str], Awaitable[None]],
    idle: Callable[[], bool],
    period_s: float = 1.0,
) -> None:
    loop = asyncio.get_running_loop()
    while True:
        try:
            due = await loop.run_in_executor(pool, fire_due)
        except (OSError, TwinError) as exc:
            log.warning("could not update timers: %s", exc)
            due = []
        for item in due:
            while not idle():
                await asyncio.sleep(0.1)
            await say(ring_text(item))
        await asyncio.sleep(period_s)


def ring_target(
    item: dict[str, Any], connected: Collection[str], last_device: Callable[[str], str | None]
) -> str | None:
    """Where the hub rings a due item: on the device where it was set; if that device is gone, where
    its owner last spoke; otherwise on any connected device (the first by name, so the choice is
    stable). None: no device is connected, and the item stays due until one is."""
    if not connected:
        return None
    device = str(item.get("device") or "")
    if device in connected:
        return device
    speaker = str(item.get("speaker") or "")
    if speaker:
        where = last_device(speaker)
        if where is not None and where in connected:
            return where
    return min(connected)


def ring_text(item: dict[str, Any]) -> str:
    kind, label = item.get("kind", "timer"), str(item.get("label", "")).strip()
    if kind == "tool_result":  # a slow tool call's result, already worded (acting/background.py)
        return label
    if kind == "reminder":
        return f"A reminder: {label}."
    if kind == "alarm":
        name = label if label.lower().endswith("alarm") else f"{label} alarm".strip()
        return f"Your {name} is ringing."
    name = label if label.lower().endswith("timer") else f"{label} timer".strip()
    return f"Your {name} is done."
