"""Twin asks, the user answers out loud: the seam between a turn that needs an answer (a
confirmation, a name) and the live loop that hears it.

The turn speaks its question, then waits here. While it waits, the live loop sends the next whole
utterance to it instead of starting a new turn; nothing is spoken over the question, and what the
microphone picked up while Twin was speaking is dropped (half duplex).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from voice.audio import AudioClip


@dataclass
class AnswerWaiter:
    _future: asyncio.Future[AudioClip] | None = None
    wanted: asyncio.Event = field(default_factory=asyncio.Event)
    fresh: bool = False  # the loop has not yet dropped what it heard before the question ended

    @property
    def waiting(self) -> bool:
        return self._future is not None and not self._future.done()

    async def wait(self, timeout_s: float) -> AudioClip | None:
        """The user's next utterance, or None when none came within `timeout_s`."""
        loop = asyncio.get_running_loop()
        self._future = loop.create_future()
        self.fresh = True
        self.wanted.set()
        try:
            return await asyncio.wait_for(self._future, timeout_s)
        except TimeoutError:
            return None
        finally:
            self.wanted.clear()
            self._future = None

    def answer(self, audio: AudioClip) -> bool:
        """Called by the live loop with a finished utterance; False when nobody is waiting."""
        if not self.waiting:
            return False
        self._future.set_result(audio)  # type: ignore[union-attr]
        self.wanted.clear()  # now, not when the waiter resumes: the loop may wait for the next ask
        return True


async def wait_turn_or_question(task: asyncio.Task[Any], waiter: AnswerWaiter) -> None:
    """For input fed faster than real time: wait for the turn, or for it to ask the user something
    (the answer is still to come from the same input, so waiting for the turn would never end)."""
    asked = asyncio.ensure_future(waiter.wanted.wait())
    try:
        await asyncio.wait([task, asked], return_when=asyncio.FIRST_COMPLETED)
    finally:
        asked.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asked
