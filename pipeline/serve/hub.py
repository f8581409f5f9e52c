"""The hub: one process, the models loaded once, many devices at once.

Each device is a `DeviceSession`: its own `Twin` (profile, conversation, playback, streaming VAD)
over the hub's shared models, memory store and workers, so memory is per speaker and shared across
the household's devices. The wire side (`wyoming_io/`, `http.py`) pushes the device's microphone audio into
the session and sends what the session puts in its outbox; the hub never sees the protocol.

    satellite --audio--> StreamSource -> Twin.live (VAD, endpointing, turns) -> DeviceSink --+
        ^                                         \\-- observer: transcript, reply text ----+--> outbox
        +---------------- audio-start / audio-chunk / audio-stop, transcript <--------------+
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pipeline.acting.background import CALLS_FILE, BackgroundCalls
from pipeline.config import TwinConfig
from pipeline.runtime.components import Components
from pipeline.runtime.session import Twin
from pipeline.tools.store import JsonState

from .components import DeviceComponents, SharedPlanner
from .continuity import ConversationStore
from .device import DeviceSession
from .logs import HubLog
from .registry import Device, DeviceRegistry

SERVICE_DEVICE = "home-assistant"  # the device name of the Wyoming handle service's conversation

# A link runs one device's connection: connect, run the session, and on a fault close it and retry.
LinkRunner = Callable[["Hub", Device], Awaitable[None]]


class Hub:
    def __init__(
        self,
        cfg: TwinConfig,
        components: Components | None = None,
        log: HubLog | None = None,
        link: LinkRunner | None = None,
        poll_s: float = 1.0,
    ) -> None:
        self.cfg = cfg
        self.c = components or Components(cfg)
        self._own_components = components is None
        self.log = log or HubLog(cfg.data_path / "logs" / "hub.jsonl")
        self.registry = DeviceRegistry(cfg.data_path)
        self.planner = SharedPlanner(lambda: self.c.planner_model)
        self.sessions: dict[str, DeviceSession] = {}
        self.links: dict[str, asyncio.Task[None]] = {}
        self.link_state: dict[str, str] = {}
        self.browser_links: set[str] = set()  # devices with a browser link open (one link each)
        self.poll_s = poll_s
        self.started = time.monotonic()
        self.stopping = False
        if link is None:
            from .wyoming_io import run_satellite_link

            link = run_satellite_link
        self._link = link
        self._registry_mtime = -1.0
        self._service_twin: Twin | None = None
        # each speaker's recent conversation, across devices and restarts; and the one clock
        self.conversations = ConversationStore(cfg.data_path, cfg.llm.history_turns)
        # the household's slow tool calls under way, any device's, and their unsaid results: kept
        # on disk, so a restart says them (and says which calls were lost with the old process)
        (cfg.data_path / "tools").mkdir(mode=0o700, parents=True, exist_ok=True)
        self.calls = BackgroundCalls(
            JsonState(cfg.data_path / "tools" / CALLS_FILE, {"pending": {}, "said": {}})
        )
        if recovered := self.calls.recover():
            self.log.event("calls_recovered", results=len(recovered))
        if (lost := self.calls.unreadable) is not None:  # left as it is; the hub serves on without it
            self.log.event("calls_unreadable", "error", message=lost.message, hint=lost.hint)
        from .ringing import HubClock

        self.clock = HubClock(self, poll_s)

    # -- sessions -----------------------------------------------------------------------------------
    async def open_session(self, device: Device) -> DeviceSession:
        """A fresh Twin for the device over the shared models (its own conversation and playback)."""
        cfg = self.cfg.model_copy(update={"profile": device.profile})
        comps = DeviceComponents(self.c, cfg, self.planner)
        comps.load_all()
        twin = Twin(cfg, comps)
        self._join(twin, device.name)
        loop = asyncio.get_running_loop()
        # the system prompt into the model's cache, on the LLM's own thread (never beside a reply)
        await loop.run_in_executor(self.c.pools.llm, twin.warm_up)
        session = DeviceSession(self, device, twin)
        old = self.sessions.get(device.name)
        if old is not None:
            await old.close("replaced", graceful=False)
        self.sessions[device.name] = session
        session.start()
        self.log.event("session_opened", device=device.name, profile=device.profile, uri=device.uri)
        return session

    async def service_twin(self) -> Twin:
        """The conversation Home Assistant reaches through the handle service: one session of its
        own (the speaker profile), so its history is not a satellite's."""
        if self._service_twin is None:
            cfg = self.cfg.model_copy(update={"profile": "speaker"})
            twin = Twin(cfg, DeviceComponents(self.c, cfg, self.planner))
            self._join(twin, SERVICE_DEVICE)
            await asyncio.get_running_loop().run_in_executor(self.c.pools.llm, twin.warm_up)
            self._service_twin = twin
        return self._service_twin

    def _join(self, twin: Twin, name: str) -> None:
        """A device's Twin into the household: its timers are the hub clock's to ring (recorded as
        set on `name`), and its speaker's conversation goes on from any device."""
        twin.tools.serve_device(name, self.calls)

        def resumed(speaker: str, turns: int, devices: list[str]) -> None:
            self.log.event("conversation_resumed", device=name, speaker=speaker, turns=turns, devices=devices)

        twin.continuity = self.conversations.thread(name, resumed)

    async def close_session(
        self, session: DeviceSession, reason: str, error: BaseException | None = None
    ) -> None:
        graceful = error is None
        await session.close(reason, graceful=graceful, error=error)
        if self.sessions.get(session.device.name) is session:
            del self.sessions[session.device.name]

    # -- devices ------------------------------------------------------------------------------------
    def sync_devices(self) -> None:
        """Start a link for each added device and stop the links of removed ones (the device list is
        re-read whenever `twin devices add|remove` changes it)."""
        mtime = self.registry.mtime()
        if mtime == self._registry_mtime:
            return
        self._registry_mtime = mtime
        try:
            wanted = {d.name: d for d in self.registry.list()}
        except Exception as exc:  # a damaged list: keep serving the devices we have
            self.log.error("devices_unreadable", exc)
            return
        for name, task in list(self.links.items()):
            if name not in wanted:
                task.cancel()
                del self.links[name]
                self.log.event("device_removed", device=name)
        for name, session in list(self.sessions.items()):
            if session.device.kind == "browser" and name not in wanted:  # revoked: its token is gone
                asyncio.create_task(self.close_session(session, "device_removed"))
                self.log.event("device_removed", device=name)
        for name, device in wanted.items():
            if device.kind != "wyoming-satellite":
                continue  # browsers connect to the hub, with their token
            if name not in self.links or self.links[name].done():
                self.links[name] = asyncio.create_task(self._link(self, device), name=f"link-{name}")

    # -- health -------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        import psutil

        devices = []
        try:
            added = self.registry.list()
        except Exception:  # a damaged list (logged by sync_devices): report the devices being served
            added = [s.device for s in self.sessions.values()]
        for d in added:
            s = self.sessions.get(d.name)
            devices.append(
                {
                    "name": d.name,
                    "profile": d.profile,
                    "uri": d.uri,
                    "link": self.link_state.get(d.name, "starting"),
                    "session": s.state if s else None,
                    "turns": s.stats.turns if s else 0,
                    "failed_turns": s.stats.failed if s else 0,
                    "last_turn": s.stats.last_turn if s else None,
                }
            )
        return {
            "status": "stopping" if self.stopping else "ok",
            "uptime_s": round(time.monotonic() - self.started, 1),
            "pid": os.getpid(),
            "rss_mb": round(psutil.Process().memory_info().rss / 2**20, 1),
            "devices": devices,
        }

    # -- running --------------------------------------------------------------------------------------
    def load(self) -> None:
        t0 = time.monotonic()
        self.c.load_all()
        self.log.event("models_loaded", seconds=round(time.monotonic() - t0, 1))

    async def run(
        self, stop: asyncio.Event, extra: list[Callable[[], Awaitable[None]]] | None = None
    ) -> None:
        """Serve until `stop` is set, then shut down gracefully: links stop, each turn under way
        finishes (or is cancelled after the grace), memory writes are flushed."""
        tasks = [asyncio.create_task(f()) for f in (extra or [])]
        tasks.append(asyncio.create_task(self.clock.run(), name="hub-clock"))
        self.log.event("hub_started", pid=os.getpid(), data_dir=str(self.cfg.data_path))
        try:
            while not stop.is_set():
                self.sync_devices()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_s)
        finally:
            await self.shutdown(tasks)

    async def shutdown(self, tasks: list[asyncio.Task[None]] | None = None) -> None:
        self.stopping = True
        self.log.event("hub_stopping", sessions=len(self.sessions))
        sessions = list(self.sessions.values())
        await asyncio.gather(
            *(self.close_session(s, "hub_stopping") for s in sessions), return_exceptions=True
        )
        for task in [*self.links.values(), *(tasks or [])]:
            task.cancel()
        await self.clock.stop()
        for task in [*self.links.values(), *(tasks or [])]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.links.clear()
        if self._service_twin is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._service_twin.flush_memory, 10.0)
        if self._own_components:
            await asyncio.get_running_loop().run_in_executor(None, self.c.close)  # memory writes finish
        self.log.event("hub_stopped")
