"""Twin's ASR, TTS and conversation as Wyoming services, for a Home Assistant installation to add
(see the package's docstring): one `TwinServiceHandler` per client connection."""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
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
from wyoming.server import AsyncEventHandler, AsyncServer
from wyoming.tts import Synthesize

from models.errors import TwinError
from voice.audio import SAMPLE_RATE, AudioClip, resample

from ..errors import AudioFormatError, MalformedEventError, OversizedEventError
from ..hub import Hub
from .wire import parse_event

MAX_SERVICE_AUDIO_S = 60.0
ATTRIBUTION = Attribution(name="Twin", url="https://github.com/")


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
            await self.write_event(Pong(text=parse_event("client", event, Ping).text).event())
        elif Transcribe.is_type(event.type):
            self.language = parse_event("client", event, Transcribe).language
            self.audio, self.seconds = [], 0.0
        elif AudioStart.is_type(event.type):
            start = parse_event("client", event, AudioStart)
            self._check_format(start.width, start.channels)
            self.rate, self.audio, self.seconds = start.rate, [], 0.0
        elif AudioChunk.is_type(event.type):
            chunk = parse_event("client", event, AudioChunk)
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
            text = parse_event("client", event, Synthesize).text.strip()
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
            text = parse_event("client", event, Transcript).text
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
