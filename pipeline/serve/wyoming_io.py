"""The Wyoming adapter: the only module that imports `wyoming` (the protocol is the package's; no
event is written by hand here).

Two sides:

- **Satellites** (`run_satellite_link`): the hub drives an unmodified `wyoming-satellite` the way
  Home Assistant does: connect to it, `describe` -> `info` (it must say it is a satellite),
  `run-satellite`, then take its `run-pipeline` and microphone `audio-chunk`s into the device's
  session, and send back `transcript`, `synthesize` (the reply's text) and the reply as
  `audio-start` / `audio-chunk` / `audio-stop`. `ping` is answered with `pong`.
- **Services** (`serve_services`): Twin's ASR (`transcribe` + audio -> `transcript`), TTS
  (`synthesize` -> audio) and conversation (`transcript` -> `handled`, the handle service), with a
  `describe` -> `info` that names the real models, for a Home Assistant installation to add.

A device that sends an event that does not parse, an oversized one, or audio in another format gets
a typed error in the log and its session closed; the other devices are not touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import numpy as np
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.handle import Handled, NotHandled
from wyoming.info import (
    AsrModel,
    AsrProgram,
    Attribution,
    Describe,
    HandleModel,
    HandleProgram,
    Info,
    TtsProgram,
    TtsVoice,
)
from wyoming.ping import Ping, Pong
from wyoming.pipeline import RunPipeline
from wyoming.satellite import RunSatellite
from wyoming.server import AsyncEventHandler, AsyncServer
from wyoming.tts import Synthesize

from models.errors import TwinError
from voice.audio import SAMPLE_RATE, AudioClip, resample

from .device import AudioClose, AudioData, AudioOpen, DeviceSession, SayReplyText, SayTranscript
from .errors import (
    AudioFormatError,
    DeviceDisconnectedError,
    DeviceError,
    DeviceProtocolError,
    DeviceUnreachableError,
    MalformedEventError,
    OversizedEventError,
)
from .hub import Hub
from .registry import Device

MAX_LINE = 64 * 1024  # an event's JSON header line
MAX_BODY = 256 * 1024  # its data or payload (a microphone chunk is ~2 KiB; 256 KiB is 8 s of audio)
CONNECT_TIMEOUT_S = 5.0
DESCRIBE_TIMEOUT_S = 10.0
MAX_SERVICE_AUDIO_S = 60.0
ATTRIBUTION = Attribution(name="Twin", url="https://github.com/")


class GuardedReader:
    """The stream the package's `async_read_event` reads through, with limits: an over-long line or
    body is a typed error, not an unbounded read."""

    def __init__(self, reader: asyncio.StreamReader, device: str) -> None:
        self._r = reader
        self.device = device
        self.last_line = b""

    async def readline(self) -> bytes:
        try:
            self.last_line = await self._r.readline()
        except ValueError:  # asyncio's limit on a line
            raise OversizedEventError(
                f"device {self.device} sent an event header over {MAX_LINE} bytes",
                "check the device's software",
            ) from None
        return self.last_line

    async def readexactly(self, n: int) -> bytes:
        if n > MAX_BODY:
            raise OversizedEventError(
                f"device {self.device} announced an event body of {n} bytes (limit {MAX_BODY})",
                "check the device's software; microphone chunks are a few KiB",
            )
        return await self._r.readexactly(n)

    def at_eof(self) -> bool:
        return self._r.at_eof()


async def read_event(reader: GuardedReader) -> Event:
    """The next event, or a typed error: the device went away, or sent something unreadable."""
    try:
        event = await async_read_event(reader)  # type: ignore[arg-type]
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        raise DeviceDisconnectedError(
            f"device {reader.device} went away in the middle of an event ({exc})", ""
        ) from None
    except (KeyError, TypeError, AttributeError):
        raise MalformedEventError(
            f"device {reader.device} sent an event without a type: {reader.last_line[:120]!r}",
            "check the device's software (it must speak the Wyoming protocol)",
        ) from None
    if event is None:
        if reader.at_eof() and not reader.last_line.strip():
            raise DeviceDisconnectedError(f"device {reader.device} closed the connection", "")
        raise MalformedEventError(
            f"device {reader.device} sent an event that does not parse: {reader.last_line[:120]!r}",
            "check the device's software (it must speak the Wyoming protocol)",
        )
    if not isinstance(event.data, dict):
        raise MalformedEventError(
            f"device {reader.device} sent {event.type!r} with data that is not an object", ""
        )
    return event


def _parse(device: str, event: Event, kind: Any) -> Any:
    try:
        return kind.from_event(event)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise MalformedEventError(
            f"device {device} sent a {event.type!r} event with missing or wrong fields: {event.data!r}"[:300],
            "check the device's software",
        ) from None


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
    raise TypeError(item)


# -- satellites -----------------------------------------------------------------------------------
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
        info = _parse(self.device.name, event, Info)
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
        finally:
            for task in (reading, writing):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _read(self, session: DeviceSession) -> None:
        name = self.device.name
        silence = b"\0\0" * int(SAMPLE_RATE * (session.twin.profile.endpoint_silence_ms / 1000 + 0.5))
        while True:
            event = await read_event(self.reader)
            if AudioChunk.is_type(event.type):
                chunk = _parse(name, event, AudioChunk)
                session.feed(chunk.audio, chunk.rate, chunk.width, chunk.channels)
            elif AudioStart.is_type(event.type):
                start = _parse(name, event, AudioStart)
                session.feed(b"", start.rate, start.width, start.channels)  # the format check
            elif AudioStop.is_type(event.type):
                # a VAD satellite stops streaming: silence lets the endpointer close the utterance
                session.source.push(silence)
            elif RunPipeline.is_type(event.type):
                run = _parse(name, event, RunPipeline)
                self.hub.log.event(
                    "pipeline_requested",
                    device=name,
                    start=str(run.start_stage.value),
                    end=str(run.end_stage.value),
                )
            elif Ping.is_type(event.type):
                await self.send(Pong(text=_parse(name, event, Ping).text).event())
            elif Error.is_type(event.type):
                err = _parse(name, event, Error)
                self.hub.log.event("satellite_error", "warning", device=name, text=err.text, code=err.code)

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


# -- services for Home Assistant --------------------------------------------------------------------
def describe_twin(hub: Hub) -> Info:
    c = hub.c
    asr = c.asr.descriptor
    tts = c.tts.descriptor
    asr_langs = list(getattr(asr, "languages", ()) or ["en"])
    tts_langs = list(getattr(tts, "languages", ()) or ["en"])
    return Info(
        asr=[
            AsrProgram(
                name="twin-asr",
                description="Twin's speech recognition (faster-whisper, on this machine)",
                attribution=ATTRIBUTION,
                installed=True,
                version=None,
                models=[
                    AsrModel(
                        name=asr.name,
                        description=asr.name,
                        attribution=ATTRIBUTION,
                        installed=True,
                        languages=asr_langs,
                        version=None,
                    )
                ],
            )
        ],
        tts=[
            TtsProgram(
                name="twin-tts",
                description="Twin's voice (Piper, on this machine)",
                attribution=ATTRIBUTION,
                installed=True,
                version=None,
                voices=[
                    TtsVoice(
                        name=tts.name,
                        description=tts.name,
                        attribution=ATTRIBUTION,
                        installed=True,
                        languages=tts_langs,
                        version=None,
                    )
                ],
            )
        ],
        handle=[
            HandleProgram(
                name="twin",
                description="Twin's conversation: memory, tools and the local LLM",
                attribution=ATTRIBUTION,
                installed=True,
                version=None,
                models=[
                    HandleModel(
                        name="twin",
                        description="Twin conversation agent",
                        attribution=ATTRIBUTION,
                        installed=True,
                        languages=["en"],
                        version=None,
                    )
                ],
            )
        ],
    )


class TwinServiceHandler(AsyncEventHandler):
    """One client connection (Home Assistant opens one per request)."""

    def __init__(self, hub: Hub, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        super().__init__(reader, writer)
        self.hub = hub
        self.audio: list[np.ndarray] = []
        self.rate = SAMPLE_RATE
        self.language: str | None = None
        self.seconds = 0.0

    async def handle_event(self, event: Event) -> bool:
        try:
            return await self._handle(event)
        except TwinError as exc:
            self.hub.log.error("service_error", exc, request=event.type)
            await self.write_event(Error(text=exc.message, code=exc.code).event())
            return False

    async def _handle(self, event: Event) -> bool:
        hub = self.hub
        loop = asyncio.get_running_loop()
        if Describe.is_type(event.type):
            await self.write_event(describe_twin(hub).event())
        elif Ping.is_type(event.type):
            await self.write_event(Pong(text=_parse("client", event, Ping).text).event())
        elif Transcribe.is_type(event.type):
            self.language = _parse("client", event, Transcribe).language
            self.audio, self.seconds = [], 0.0
        elif AudioStart.is_type(event.type):
            start = _parse("client", event, AudioStart)
            self._check_format(start.width, start.channels)
            self.rate, self.audio, self.seconds = start.rate, [], 0.0
        elif AudioChunk.is_type(event.type):
            chunk = _parse("client", event, AudioChunk)
            self._check_format(chunk.width, chunk.channels)
            self.rate = chunk.rate
            self.seconds += len(chunk.audio) / 2 / chunk.rate
            if self.seconds > MAX_SERVICE_AUDIO_S:
                raise OversizedEventError(
                    f"over {MAX_SERVICE_AUDIO_S:.0f} s of audio for one transcription", "send one utterance"
                )
            self.audio.append(np.frombuffer(chunk.audio, "<i2").astype(np.float32) / 32768.0)
        elif AudioStop.is_type(event.type):
            samples = np.concatenate(self.audio) if self.audio else np.zeros(0, np.float32)
            if self.rate != SAMPLE_RATE:
                samples = resample(samples, self.rate, SAMPLE_RATE)
            clip = AudioClip(samples.astype(np.float32), SAMPLE_RATE, "wyoming")
            a = hub.cfg.asr
            language = self.language or a.language
            tr = await loop.run_in_executor(
                hub.c.pools.asr, hub.c.asr.transcribe, clip, language, a.vad_filter
            )
            hub.log.event("service_transcribe", seconds=round(clip.duration, 2), text=tr.text)
            await self.write_event(Transcript(text=tr.text, language=tr.language).event())
            self.audio = []
        elif Synthesize.is_type(event.type):
            text = _parse("client", event, Synthesize).text.strip()
            if not text:
                raise MalformedEventError("synthesize came with no text", "send the text to speak")
            tts = hub.c.tts
            audio = await loop.run_in_executor(hub.c.pools.tts, tts.synthesize_all, text)
            pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
            rate = tts.sample_rate
            await self.write_event(AudioStart(rate=rate, width=2, channels=1).event())
            for i in range(0, len(pcm), 2048):
                await self.write_event(
                    AudioChunk(rate=rate, width=2, channels=1, audio=pcm[i : i + 2048]).event()
                )
            await self.write_event(AudioStop().event())
            hub.log.event("service_synthesize", chars=len(text), seconds=round(len(audio) / rate, 2))
        elif Transcript.is_type(event.type):
            # the handle service: Home Assistant's conversation agent hands Twin the user's words
            text = _parse("client", event, Transcript).text
            twin = await hub.service_twin()
            try:
                result = await twin.ask(text)
            except TwinError as exc:
                await self.write_event(NotHandled(text=exc.message).event())
                return True
            hub.log.event("service_handle", text=text, reply=result.reply)
            await self.write_event(Handled(text=result.reply).event())
        return True

    def _check_format(self, width: int, channels: int) -> None:
        if (width, channels) != (2, 1):
            raise AudioFormatError(
                f"audio of {8 * width}-bit, {channels} channel(s)", "send 16-bit mono PCM (any rate)"
            )


async def serve_services(hub: Hub, uri: str, ready: asyncio.Event | None = None) -> None:
    """Twin's Wyoming services at `uri` (tcp://127.0.0.1:10300), until cancelled."""
    server = AsyncServer.from_uri(uri)
    await server.start(lambda r, w: TwinServiceHandler(hub, r, w))  # no signal handler: the hub owns SIGTERM
    hub.log.event("services_listening", uri=uri)
    if ready is not None:
        ready.set()
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await server.stop()
