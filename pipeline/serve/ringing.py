"""The hub's one clock: timers, alarms and reminders ring on the right device.

Each device's own live loop rings nothing of the clock's in the hub (`ToolDesk.serve_device`); this
clock reads what came due once a second and routes each item (`pipeline.runtime.clock.ring_target`):
to the device where it was set; if that device is gone, to where its owner last spoke; otherwise to
any connected device. An item is marked rung only after its device said it, so a device that goes
away mid-ring, or no device at all, leaves it due: it rings later, elsewhere, or after a restart
(at least once, never lost). A device is also told of its own timers as they start, are paused,
resumed or given more time, are cancelled and finish (Wyoming `timer-started` / `timer-updated` /
`timer-cancelled` / `timer-finished`).

A slow tool call's result (pipeline/acting/background.py, the household's `Hub.calls`) is said where
its owner last spoke, else on the device it was asked on (`result_target`); with neither connected
it waits until one is (kept in DATA_DIR/tools/calls.json, so a restart does not lose it). It is
marked said only after the device said it.

Announcements (pipeline/tools/families/intercom.py) go only to the device they name: said once that
device is connected and idle, then dropped; one not said within the intercom's `KEEP_FOR` is dropped
unsaid (`announcement_expired`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from models.errors import TwinError
from pipeline.acting.background import result_target
from pipeline.runtime.clock import ring_target, ring_text
from pipeline.tools.families.clock import Clock
from pipeline.tools.families.intercom import Intercom, announcement_text
from pipeline.tools.family import Context

from .device import DeviceSession, TimerNote

if TYPE_CHECKING:
    from .hub import Hub


def _key(item: dict[str, Any]) -> str:
    return f"{item.get('kind', 'timer')}:{item['id']}"


def _running(timer: dict[str, Any]) -> tuple[bool, float, float]:
    """What a device is told about when it changes: paused or resumed, time added (its length),
    time left while paused."""
    return bool(timer.get("paused")), float(timer.get("seconds") or 0), float(timer.get("left") or 0)


def _seconds_to(due: str) -> float:
    return max(0.0, (datetime.fromisoformat(due) - datetime.now().astimezone()).total_seconds())


class HubClock:
    def __init__(self, hub: Hub, period_s: float = 1.0) -> None:
        self.hub = hub
        self.period_s = period_s
        ctx = Context(hub.cfg.data_path, lambda: datetime.now().astimezone())
        self.clock = Clock(ctx)
        self.intercom = Intercom(ctx)
        self.ringing: dict[str, asyncio.Task[None]] = {}
        self.known: dict[str, dict[str, Any]] | None = None  # timers set, by id (None: not read yet)
        self._waiting_told: set[str] = set()
        # a tick's read and a ring's commit never interleave: a read from before the commit would
        # ring the item again, or take a rung timer for a new one
        self._lock = asyncio.Lock()

    async def run(self) -> None:
        told = ""  # the last fault logged: a damaged state file is logged once, not every second
        while True:
            try:
                await self.tick()
                told = ""
            except (OSError, TwinError) as exc:  # a damaged or unwritable state file: logged, go on
                if str(exc) != told:
                    told = str(exc)
                    self.hub.log.error("clock_failed", exc)
            await asyncio.sleep(self.period_s)

    def _connected(self) -> dict[str, DeviceSession]:
        return {n: s for n, s in self.hub.sessions.items() if s.state == "listening"}

    async def tick(self) -> None:
        async with self._lock:
            await self._route()

    async def _route(self) -> None:
        loop = asyncio.get_running_loop()
        timers, due, (said, expired) = await loop.run_in_executor(
            self.hub.c.pools.memory,
            lambda: (self.clock.timers_set(), self.clock.due(), self.intercom.pending()),
        )
        self._note_changes(timers, {_key(i) for i in due})
        connected = self._connected()
        for item in expired:
            await loop.run_in_executor(self.hub.c.pools.memory, self.intercom.done, item)
            self.hub.log.event("announcement_expired", "warning", device=item["device"], id=item["id"])
        for item in said:
            key = _key(item)
            if key in self.ringing or item["device"] not in connected:
                continue  # only the device it names: it waits for that one (up to KEEP_FOR)
            self.ringing[key] = asyncio.create_task(self._announce(connected[item["device"]], item, key))
        for item in due:
            waiting = {"kind": item.get("kind"), "id": item["id"]}
            self._dispatch(item, ring_target, self._ring, connected, "ring_waiting", waiting)
        for item in self.hub.calls.ready():
            waiting = {"id": item["id"], "asked_on": item.get("device")}
            self._dispatch(item, result_target, self._say_result, connected, "result_waiting", waiting)

    def _dispatch(
        self,
        item: dict[str, Any],
        target_of: Callable[..., str | None],
        say: Callable[[DeviceSession, dict[str, Any], str], Awaitable[None]],
        connected: dict[str, DeviceSession],
        waiting_event: str,
        waiting: dict[str, Any],
    ) -> None:
        """Start saying `item` on the device `target_of` picks, unless it is being said already; with
        no such device, log `waiting_event` once and leave it for a later tick."""
        key = _key(item)
        if key in self.ringing:
            return
        target = target_of(item, connected.keys(), self.last_device)
        if target is None:
            if key not in self._waiting_told:
                self._waiting_told.add(key)
                self.hub.log.event(waiting_event, **waiting)
            return
        self._waiting_told.discard(key)
        self.ringing[key] = asyncio.create_task(say(connected[target], item, key))

    def last_device(self, speaker: str) -> str | None:
        try:
            return self.hub.conversations.last_device(speaker)
        except Exception as exc:  # the store unreadable: route without it
            self.hub.log.error("clock_failed", exc)
            return None

    def _note_changes(self, timers: list[dict[str, Any]], due: set[str]) -> None:
        """Tell each device of its timers that started or were cancelled since the last tick."""
        now = {t["id"]: t for t in timers}
        if self.known is None:  # the first read (a restart): these started before; tell nothing
            self.known = now
            return
        for tid, t in now.items():
            if tid not in self.known and t.get("kind") == "timer":
                self._tell(t, TimerNote("started", tid, int(round(float(t.get("seconds") or 0))), t["label"]))
            elif tid in self.known and t.get("kind") == "timer" and _running(t) != _running(self.known[tid]):
                left = float(t.get("left") or 0) if t.get("paused") else _seconds_to(t["due"])
                self._tell(t, TimerNote("updated", tid, int(round(left)), t["label"], not t.get("paused")))
        for tid, t in self.known.items():
            if tid not in now and _key(t) not in self.ringing and _key(t) not in due:
                self._tell(t, TimerNote("cancelled", tid))
        self.known = now

    def _tell(self, item: dict[str, Any], note: TimerNote) -> None:
        session = self._connected().get(str(item.get("device") or ""))
        if session is not None:
            session.outbox.put_nowait(note)
            self.hub.log.event("timer_told", device=session.device.name, note=note.event, id=note.id)

    async def _ring(self, session: DeviceSession, item: dict[str, Any], key: str) -> None:
        name = session.device.name
        try:
            note = TimerNote("finished", item["id"]) if item.get("kind") in ("timer", "alarm") else None
            if not await session.ring(ring_text(item), note):
                self.hub.log.event(
                    "ring_unheard", "warning", device=name, kind=item.get("kind"), id=item["id"]
                )
                return  # still due: the next tick routes it again
            loop = asyncio.get_running_loop()
            async with self._lock:
                await loop.run_in_executor(self.hub.c.pools.memory, self.clock.rang, item)
                if self.known is not None:
                    self.known.pop(item["id"], None)
                self.ringing.pop(key, None)
            self.hub.log.event(
                "rang",
                device=name,
                kind=item.get("kind", "timer"),
                id=item["id"],
                label=item.get("label", ""),
                set_on=item.get("device") or None,
                speaker=item.get("speaker") or None,
            )
        except (OSError, TwinError) as exc:
            self.hub.log.error("ring_failed", exc, device=name, id=item["id"])
        finally:
            self.ringing.pop(key, None)

    async def _say_result(self, session: DeviceSession, item: dict[str, Any], key: str) -> None:
        name = session.device.name
        try:
            if not await session.ring(ring_text(item)):
                self.hub.log.event("result_unheard", "warning", device=name, id=item["id"])
                return  # still ready: the next tick routes it again
            self.hub.calls.said(item["id"])
            self.hub.log.event(
                "result_said",
                device=name,
                id=item["id"],
                asked_on=item.get("device") or None,
                speaker=item.get("speaker") or None,
            )
        except (OSError, TwinError) as exc:
            self.hub.log.error("result_failed", exc, device=name, id=item["id"])
        finally:
            self.ringing.pop(key, None)

    async def _announce(self, session: DeviceSession, item: dict[str, Any], key: str) -> None:
        name = session.device.name
        try:
            if not await session.ring(announcement_text(item)):
                self.hub.log.event("announcement_unheard", "warning", device=name, id=item["id"])
                return  # still pending: said when the device is back (up to KEEP_FOR)
            loop = asyncio.get_running_loop()
            async with self._lock:
                await loop.run_in_executor(self.hub.c.pools.memory, self.intercom.done, item)
                self.ringing.pop(key, None)
            self.hub.log.event("announced", device=name, id=item["id"], sent_from=item.get("from") or None)
        except (OSError, TwinError) as exc:
            self.hub.log.error("announcement_failed", exc, device=name, id=item["id"])
        finally:
            self.ringing.pop(key, None)

    async def stop(self) -> None:
        for task in list(self.ringing.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
