"""The hub's HTTP side: `GET /health` (JSON), the browser client (`GET /`, `/worklet.js`,
`POST /pair`, WebSocket `/ws`). The only module that imports starlette and uvicorn.

A browser is a device like a satellite: after its hello (a token from pairing, checked against the
stored hash) it gets a `DeviceSession`; binary messages are its 16 kHz 16-bit microphone, the reply
comes back as JSON (`transcript`, `reply`, `audio-start`, `audio-stop`) and binary PCM. An unknown
or revoked token, a bad hello, an oversized message or another rate: a typed error and the socket
closed."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from models.errors import TwinError

from .device import (
    AudioClose,
    AudioData,
    AudioOpen,
    DeviceSession,
    SayReplyText,
    SayTranscript,
    TimerNote,
)
from .errors import DeviceDisconnectedError, MalformedEventError, OversizedEventError
from .hub import Hub
from .registry import PairingError
from .web import PAGE_HTML, WORKLET_JS

MAX_MESSAGE = 256 * 1024
HELLO_TIMEOUT_S = 10.0


class UnpairedError(PairingError):
    code = "device_unpaired"


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the hub owns SIGTERM and SIGINT, and stops this server itself


def make_app(hub: Hub) -> Starlette:
    async def health(request: Request) -> JSONResponse:
        body = hub.health()
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE_HTML)

    async def worklet(request: Request) -> Response:
        return Response(WORKLET_JS, media_type="text/javascript")

    async def pair(request: Request) -> JSONResponse:
        try:
            body = await request.json()
            name, code = str(body["name"]), str(body["code"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"code": "bad_input", "message": "send {name, code}"}, status_code=400)
        try:
            device, token = await asyncio.get_running_loop().run_in_executor(
                None, hub.registry.pair, name, code
            )
        except TwinError as exc:
            hub.log.error("pairing_refused", exc, device=name)
            return JSONResponse({"code": exc.code, "message": exc.message, "hint": exc.hint}, status_code=403)
        hub.log.event("device_paired", device=device.name, profile=device.profile, kind="browser")
        return JSONResponse({"token": token, "device": device.name, "profile": device.profile})

    async def ws(websocket: WebSocket) -> None:
        await BrowserLink(hub, websocket).run()

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/", page),
            Route("/worklet.js", worklet),
            Route("/pair", pair, methods=["POST"]),
            WebSocketRoute("/ws", ws),
        ]
    )


class BrowserLink:
    def __init__(self, hub: Hub, websocket: WebSocket) -> None:
        self.hub = hub
        self.ws = websocket
        self.name = "browser"

    async def _refuse(self, exc: TwinError, close_code: int) -> None:
        self.hub.log.error("device_error", exc, device=self.name)
        with contextlib.suppress(Exception):
            await self.ws.send_json({"type": "error", "code": exc.code, "message": exc.message})
            await self.ws.close(close_code, exc.code)

    async def run(self) -> None:
        await self.ws.accept()
        try:
            hello = json.loads(await asyncio.wait_for(self.ws.receive_text(), HELLO_TIMEOUT_S))
            token, rate = str(hello["token"]), int(hello.get("rate", 16000))
        except (WebSocketDisconnect, TimeoutError):
            return
        except (ValueError, KeyError, TypeError):
            await self._refuse(
                MalformedEventError("the browser's hello is not {type, token, rate}", ""), 4400
            )
            return
        device = await asyncio.get_running_loop().run_in_executor(
            None, self.hub.registry.device_for_token, token
        )
        if device is None:
            await self._refuse(
                UnpairedError(
                    "a browser offered a token no paired device has", "pair it: twin devices pair NAME"
                ),
                4401,
            )
            return
        self.name = device.name
        session = await self.hub.open_session(device)
        error: BaseException | None = None
        try:
            session.feed(b"", rate, 2, 1)  # the format check
            await self.ws.send_json({"type": "ready", "device": device.name, "profile": device.profile})
            tasks = [
                asyncio.create_task(self._read(session)),
                asyncio.create_task(self._write(session)),
                asyncio.create_task(self._watch(session)),
            ]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
            finally:
                for task in tasks:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
        except TwinError as exc:
            error = exc
        except Exception as exc:  # this device only
            error = exc
        finally:
            if session.state == "listening":
                await self.hub.close_session(session, "device_error" if error else "ended", error)
            with contextlib.suppress(Exception):
                await self.ws.close(4403 if session.state == "closed" and error is None else 1011)

    async def _read(self, session: DeviceSession) -> None:
        while True:
            msg = await self.ws.receive()
            if msg["type"] == "websocket.disconnect":
                raise DeviceDisconnectedError(f"browser {self.name} closed the connection", "")
            data: Any = msg.get("bytes")
            if data is not None:
                if len(data) > MAX_MESSAGE:
                    raise OversizedEventError(f"browser {self.name} sent {len(data)} bytes at once", "")
                session.source.push(data)
                continue
            try:
                message = json.loads(msg.get("text") or "")
                kind = message["type"]
            except (ValueError, KeyError, TypeError):
                raise MalformedEventError(
                    f"browser {self.name} sent a message that is not JSON with a type", ""
                ) from None
            if kind == "played":
                self.hub.log.event(
                    "device_played",
                    device=self.name,
                    samples=message.get("samples"),
                    rate=message.get("rate"),
                )

    async def _write(self, session: DeviceSession) -> None:
        while True:
            item = await session.outbox.get()
            if isinstance(item, AudioData):
                await self.ws.send_bytes(item.pcm)
            elif isinstance(item, SayTranscript):
                await self.ws.send_json({"type": "transcript", "text": item.text, "language": item.language})
            elif isinstance(item, SayReplyText):
                await self.ws.send_json({"type": "reply", "text": item.text})
            elif isinstance(item, AudioOpen):
                await self.ws.send_json({"type": "audio-start", "rate": item.rate})
            elif isinstance(item, AudioClose):
                await self.ws.send_json({"type": "audio-stop"})
            elif isinstance(item, TimerNote):
                await self.ws.send_json(
                    {"type": f"timer-{item.event}", "id": item.id, "seconds": item.seconds, "name": item.name}
                )

    async def _watch(self, session: DeviceSession) -> None:
        """Ends the link when the hub closes the session (the device was removed: its token revoked)."""
        while session.state == "listening":
            await asyncio.sleep(0.2)


async def serve_http(hub: Hub, host: str, port: int, ready: asyncio.Event | None = None) -> None:
    """Serve until cancelled."""
    config = uvicorn.Config(
        make_app(hub),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        ws="websockets",
    )
    server = _Server(config)
    hub.log.event("http_listening", url=f"http://{host}:{port}/")
    task = asyncio.create_task(server.serve())
    try:
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if ready is not None:
            ready.set()
        await asyncio.shield(task)
    finally:
        server.should_exit = True  # finish open requests and close the socket
        with contextlib.suppress(Exception):
            await task
