"""Feed events into one stage and assert what comes out (as Pipecat's run_test does).

A stage here is anything with `push(event) -> event | None` (the endpointer), or a Twin whose turns
are observed through an EventQueue: the events are the contract between stages, so a test states
the events in and the events out, not the stage's internals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from pipeline.events import Event, EventQueue


class Stage(Protocol):
    def push(self, event: Any) -> Event | None: ...


def run_stage(stage: Stage, events: Iterable[Event]) -> list[tuple[int, Event]]:
    """Each input event in order; returns (index of the input, event out) for each output."""
    out = []
    for i, event in enumerate(events):
        result = stage.push(event)
        if result is not None:
            out.append((i, result))
    return out


def names(events: Iterable[Event | tuple[int, Event]]) -> list[str]:
    return [type(e[1] if isinstance(e, tuple) else e).__name__ for e in events]


async def observe(twin: Any, run: Callable[[], Awaitable[Any]]) -> list[Event]:
    """Everything Twin emitted while `run()` ran, in the order an observer receives it."""
    queue = EventQueue()
    twin.observers.append(queue)
    try:
        await run()
    finally:
        twin.observers.remove(queue)
    out = []
    while len(queue):
        out.append(await asyncio.wait_for(queue.get(), 1))
    return out
