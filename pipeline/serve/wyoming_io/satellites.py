"""Satellites: the hub drives an unmodified `wyoming-satellite` the way Home Assistant does (see the
package's docstring), one `SatelliteConnection` per connection, kept up by `run_satellite_link`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.satellite import PauseSatellite, RunSatellite
from wyoming.snd import Played
from wyoming.timer import TimerCancelled, TimerFinished, TimerStarted, TimerUpdated
from wyoming.tts import Synthesize

from models.errors import TwinError

from ..device import (
    AudioClose,
    AudioData,
    AudioOpen,
    ControlRate,
    DeviceSession,
    SayReplyText,
    SayTranscript,
    TimerNote,
)
from ..errors import (
    DeviceDisconnectedError,
    DeviceError,
    DeviceProtocolError,
    DeviceUnreachableError,
    MalformedEventError,
)
from ..hub import Hub
from ..registry import Device
from .wire import MAX_LINE, GuardedReader, parse_event, read_event

CONNECT_TIMEOUT_S = 5.0
DESCRIBE_TIMEOUT_S = 10.0
PAUSE_TIMEOUT_S = 1.0  # `pause-satellite` on the way out: sent if it goes within this, else not at all
MAX_ANNOUNCE_CHARS = 1000  # an announce pipeline's text (Wyoming `announce_text`)
MAX_ANNOUNCING = 3  # announce pipelines waiting to be said on one satellite; more are refused


def outgoing_event(item: Any) -> Event:
    if isinstance(item, SayTranscript):
        return Transcript(text=item.text, language=item.language).event()
    if isinstance(item, SayReplyText):
        return Synthesize(text=item.text).event()
    if isinstance(item, AudioOpen):
        return AudioStart(rate=item.rate, width=2, channels=1, timestamp=0).event()
    if isinstance(item, AudioData):
        return AudioChunk(rate=item.rate, width=2, channels=1, audio=item.pcm).event()
    if isinstance(item, AudioClose):
        return AudioStop().event()
    if isinstance(item, TimerNote):
        if item.event == "started":
            return TimerStarted(id=item.id, total_seconds=item.seconds, name=item.name or None).event()
        if item.event == "updated":
            return TimerUpdated(id=item.id, is_active=item.active, total_seconds=item.seconds).event()
        if item.event == "cancelled":
            return TimerCancelled(id=item.id).event()
        return TimerFinished(id=item.id).event()
    raise TypeError(item)


class SatelliteConnection:
    """One connection to one satellite, for as long as it lasts."""

    def __init__(
        self, hub: Hub, device: Device, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.hub = hub
        self.device = device
        self.reader = GuardedReader(reader, device.name)
        self.writer = writer
        self.session: DeviceSession | None = None
        self._announcing: set[asyncio.Task[None]] = set()

    async def send(self, event: Event) -> None:
        try:
            await async_write_event(event, self.writer)
        except (ConnectionError, RuntimeError) as exc:
            raise DeviceDisconnectedError(f"device {self.device.name} went away ({exc})", "") from None

    async def handshake(self) -> dict[str, Any]:
        await self.send(Describe().event())
        async with asyncio.timeout(DESCRIBE_TIMEOUT_S):
            while True:
                event = await read_event(self.reader)
                if Info.is_type(event.type):
                    break
        info = parse_event(self.device.name, event, Info)
        if info.satellite is None:
            raise DeviceProtocolError(
                f"{self.device.uri} ({self.device.name}) answers the Wyoming protocol but is not a satellite",
                "add the address of a wyoming-satellite (its --uri), not of a service",
            )
        return {
            "satellite": info.satellite.name,
            "area": info.satellite.area,
            "has_vad": info.satellite.has_vad,
        }

    async def run(self) -> None:
        info = await self.handshake()
        session = self.session = await self.hub.open_session(self.device)
        self.hub.log.event("satellite_connected", device=self.device.name, **info)
        await self.send(RunSatellite().event())
        reading = asyncio.create_task(self._read(session))
        writing = asyncio.create_task(self._write(session))
        try:
            done, _ = await asyncio.wait({reading, writing}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # raises the typed error that ended the connection
        except asyncio.CancelledError:  # the hub stops, or the device was removed
            await self.pause()
            raise
        finally:
            for task in (reading, writing):  # an announcement under way ends with the session
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _read(self, session: DeviceSession) -> None:
        name = self.device.name
        control = ControlRate(
            f"device {name}",
            "a satellite sends a few events a turn besides its audio: check it; the hub reconnects",
        )
        while True:
            event = await read_event(self.reader)
            if AudioChunk.is_type(event.type):  # bounded by the session's queue (`push_audio`)
                chunk = parse_event(name, event, AudioChunk)
                session.feed(chunk.audio, chunk.rate, chunk.width, chunk.channels)
                continue
            control.count()  # any other event, known or not: a flood closes the session
            if AudioStart.is_type(event.type):
                start = parse_event(name, event, AudioStart)
                session.feed(b"", start.rate, start.width, start.channels)  # the format check
            elif AudioStop.is_type(event.type):
                # a VAD satellite stops streaming: the open utterance ends now (a front-end event)
                session.source.end_utterance()
            elif RunPipeline.is_type(event.type):
                run = parse_event(name, event, RunPipeline)
                self.hub.log.event(
                    "pipeline_requested",
                    device=name,
                    start=str(run.start_stage.value),
                    end=str(run.end_stage.value),
                )
                if run.start_stage == PipelineStage.TTS and run.announce_text:
                    self._announce(session, run.announce_text)
            elif Played.is_type(event.type):
                session.device_played()
                self.hub.log.event("device_played", device=name)
            elif Ping.is_type(event.type):
                await self.send(Pong(text=parse_event(name, event, Ping).text).event())
            elif Error.is_type(event.type):
                err = parse_event(name, event, Error)
                self.hub.log.event("satellite_error", "warning", device=name, text=err.text, code=err.code)

    def _announce(self, session: DeviceSession, text: str) -> None:
        """An announce pipeline (`run-pipeline` from tts to tts with `announce_text`): the text is
        said on this satellite in Twin's voice, as a ring is (once no turn is under way), while the
        connection keeps reading. Over-long text is a typed error; the connection goes on."""
        name = self.device.name
        text = " ".join(str(text).split())
        if len(text) > MAX_ANNOUNCE_CHARS:
            self.hub.log.error(
                "satellite_announce_refused",
                MalformedEventError(
                    f"device {name} asked to announce {len(text)} characters (limit {MAX_ANNOUNCE_CHARS})",
                    "announce a shorter text",
                ),
                device=name,
            )
            return
        if len(self._announcing) >= MAX_ANNOUNCING:
            self.hub.log.error(
                "satellite_announce_refused",
                MalformedEventError(
                    f"device {name} asked for an announcement while {len(self._announcing)} wait to be said",
                    "wait until the satellite has played the ones it asked for",
                ),
                device=name,
            )
            return

        async def say() -> None:
            heard = False  # also when the device goes away mid-announcement (its turn is cancelled)
            try:
                heard = await session.ring(text)
            finally:
                self.hub.log.event("satellite_announced", device=name, chars=len(text), heard=heard)

        task = asyncio.create_task(say())
        self._announcing.add(task)
        task.add_done_callback(self._announcing.discard)

    async def pause(self) -> None:
        """Tell the satellite the hub will run no pipeline now (the hub stops, or the device was
        removed), as Home Assistant does before it disconnects."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.send(PauseSatellite().event()), PAUSE_TIMEOUT_S)

    async def _write(self, session: DeviceSession) -> None:
        while True:
            item = await session.outbox.get()
            await self.send(outgoing_event(item))


async def run_satellite_link(hub: Hub, device: Device) -> None:
    """Keep one satellite connected: connect, serve, and on a fault log it, close the session and
    retry with a growing wait (1 s to 30 s). Ends when the device is removed or the hub stops."""
    backoff = 1.0
    name = device.name
    told = False  # "unreachable" is logged once per outage, not on every retry
    while not hub.stopping:
        host, port = device.host_port
        hub.link_state[name] = "connecting"
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                reader, writer = await asyncio.open_connection(host, port, limit=MAX_LINE)
        except (OSError, TimeoutError) as exc:
            if not told:
                told = True
                hub.log.error(
                    "device_error",
                    DeviceUnreachableError(
                        f"cannot reach device {name} at {device.uri} ({exc})",
                        "check that wyoming-satellite runs there with that --uri; retrying",
                    ),
                    device=name,
                )
            hub.link_state[name] = "unreachable"
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
            continue
        told = False
        conn = SatelliteConnection(hub, device, reader, writer)
        hub.link_state[name] = "connected"
        began = time.monotonic()
        error: BaseException | None = None
        try:
            await conn.run()
        except asyncio.CancelledError:
            raise
        except (DeviceError, TimeoutError) as exc:
            error = exc
        except TwinError as exc:
            error = exc
        except Exception as exc:  # a bug must not take the hub down: this device's session only
            error = exc
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if conn.session is not None:
                mid_turn = conn.session.in_turn
                await hub.close_session(conn.session, "device_error" if error else "ended", error)
                if error is not None:
                    hub.log.event(
                        "device_turn_aborted" if mid_turn else "device_dropped", "warning", device=name
                    )
            elif error is not None:
                hub.log.error("device_error", error, device=name)
        hub.link_state[name] = "retrying"
        if time.monotonic() - began > 10:
            backoff = 1.0
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, 30.0)
