"""The hub's HTTP side: `GET /health` (JSON), the browser client (`GET /`, `/worklet.js`,
`POST /pair`, WebSocket `/ws`), and the user's own data for a paired device (`/api/...`, the
device's token as `Authorization: Bearer TOKEN`; see `data_api.py`). The only module that imports
starlette and uvicorn. Off 127.0.0.1 it serves HTTPS/WSS with the hub's certificate (`tls.py`).

A browser is a device like a satellite: after its hello (a token from pairing, checked against the
stored hash) it gets a `DeviceSession`; binary messages are its 16 kHz 16-bit microphone, the reply
comes back as JSON (`transcript`, `reply`, `audio-start`, `audio-stop`) and binary PCM. An unknown
or revoked token, a bad hello, an oversized message or another rate: a typed error and the socket
closed. Push-to-talk: the page sends audio only while the button is held and `{"type": "end"}` on
release, and the utterance ends then: a front-end event (`StreamSource.end_utterance`, the
endpointer's `end_now`), not silence fed to the endpointer."""

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

from .data_api import BadRequestError, DataApi, DataApiError, Viewer
from .device import (
    AudioClose,
    AudioData,
    AudioOpen,
    ControlRate,
    DeviceSession,
    SayReplyText,
    SayTranscript,
    TimerNote,
)
from .errors import (
    DeviceDisconnectedError,
    DeviceInUseError,
    MalformedEventError,
    OversizedEventError,
)
from .hub import Hub
from .registry import Device, PairingError
from .tls import TlsFiles, check_plain
from .web import PAGE_HTML, WORKLET_JS

MAX_MESSAGE = 256 * 1024
HELLO_TIMEOUT_S = 10.0
MAX_API_BODY = 64 * 1024
PTT_MIN_GAP_S = 0.3  # `end`s closer together than this are one


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

    data = DataApi(hub)

    def api(call: Any, with_body: bool = False, download: bool = False) -> Any:
        """A data route: the token -> the device's `Viewer`, the call on the memory worker (in
        order with memory writes), typed errors as JSON {code, message, hint} with their status."""

        async def endpoint(request: Request) -> Response:
            loop = asyncio.get_running_loop()
            auth = request.headers.get("authorization", "")
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
            try:
                body: Any = None
                if with_body:
                    raw = await request.body()
                    if len(raw) > MAX_API_BODY:
                        raise BadRequestError(
                            f"the request is over {MAX_API_BODY} bytes", "send less at once"
                        )
                    try:
                        body = json.loads(raw or b"null")
                    except ValueError:
                        raise BadRequestError("the request is not JSON", "send a JSON object") from None
                viewer: Viewer = await loop.run_in_executor(None, data.viewer, token)
                args = (viewer, body) if with_body else (viewer,)
                result = await loop.run_in_executor(hub.c.pools.memory, call, *args)
            except DataApiError as exc:
                hub.log.error("data_request_refused", exc, path=request.url.path)
                return JSONResponse(
                    {"code": exc.code, "message": exc.message, "hint": exc.hint}, status_code=exc.status
                )
            except TwinError as exc:  # memory's, the audit's: typed, the hub goes on
                hub.log.error("data_request_failed", exc, path=request.url.path)
                return JSONResponse(
                    {"code": exc.code, "message": exc.message, "hint": exc.hint}, status_code=500
                )
            except Exception as exc:  # a bug: this request fails, typed; the hub and stored data do not
                hub.log.error("data_request_failed", exc, path=request.url.path)
                return JSONResponse(
                    {
                        "code": "internal_error",
                        "message": f"the hub could not answer ({type(exc).__name__})",
                        "hint": "see the hub's log (DATA_DIR/logs/hub.jsonl)",
                    },
                    status_code=500,
                )
            if download:
                name = f"twin-{viewer.device.name}-export.json"
                return Response(
                    json.dumps(result, ensure_ascii=False, indent=1),
                    media_type="application/json",
                    headers={"content-disposition": f'attachment; filename="{name}"'},
                )
            return JSONResponse(result)

        return endpoint

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/", page),
            Route("/worklet.js", worklet),
            Route("/pair", pair, methods=["POST"]),
            WebSocketRoute("/ws", ws),
            Route("/api/settings", api(data.settings)),
            Route("/api/memories", api(data.memories)),
            Route("/api/audit", api(data.audit_entries)),
            Route("/api/voices", api(data.voices)),
            Route("/api/export", api(data.export, download=True)),
            Route("/api/memories/forget", api(data.plan_forget, True), methods=["POST"]),
            Route("/api/memories/forget/confirm", api(data.confirm_forget, True), methods=["POST"]),
            Route("/api/memories/forget/cancel", api(data.cancel_forget, True), methods=["POST"]),
            Route("/api/voices/forget", api(data.plan_forget_voice, True), methods=["POST"]),
            Route("/api/voices/forget/confirm", api(data.confirm_forget, True), methods=["POST"]),
            Route("/api/voices/forget/cancel", api(data.cancel_forget, True), methods=["POST"]),
        ]
    )


class BrowserLink:
    def __init__(self, hub: Hub, websocket: WebSocket) -> None:
        self.hub = hub
        self.ws = websocket
        self.name = "browser"
        self._send_lock = asyncio.Lock()
        self._last_end = 0.0
        self._control: ControlRate | None = None  # the flood check, once the link knows its device

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
        if device.name in self.hub.browser_links:
            # one link per device: a copied or replayed token never takes over the device's session
            # (nor anyone else's: a link's device and person come from its token alone)
            await self._refuse(
                DeviceInUseError(
                    f"a second link offered the token of {device.name}, which is connected now",
                    "close the other page first; if this device is not yours, remove it: "
                    f"twin devices remove {device.name}",
                ),
                4409,
            )
            return
        self.hub.browser_links.add(device.name)
        try:
            await self._serve(device, rate)
        finally:
            self.hub.browser_links.discard(device.name)

    async def _serve(self, device: Device, rate: int) -> None:
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
                session.push_audio(data)  # past the bounded queue: dropped, counted, logged
                await asyncio.sleep(0)  # a device sending as fast as it can never starves the others
                continue
            if self._control is None:
                self._control = ControlRate(
                    f"browser {self.name}",
                    "the page sends a few a turn: check the client; the session was closed, reconnect "
                    "to go on",
                )
            self._control.count()
            try:
                message = json.loads(msg.get("text") or "")
                kind = message["type"]
            except (ValueError, KeyError, TypeError):
                raise MalformedEventError(
                    f"browser {self.name} sent a message that is not JSON with a type", ""
                ) from None
            if kind == "end":  # push-to-talk released: the utterance ends now
                self._end_utterance(session)
            elif kind == "start":  # push-to-talk pressed: a reply under way stops (barge-in)
                stopped = session.barge_in()
                self.hub.log.event("push_to_talk_start", device=self.name, interrupted=stopped)
            elif kind == "played":
                session.device_played()
                self.hub.log.event(
                    "device_played",
                    device=self.name,
                    samples=message.get("samples"),
                    rate=message.get("rate"),
                )

    def _end_utterance(self, session: DeviceSession) -> None:
        """Push-to-talk released: a front-end event, not audio. The microphone's last partial frame
        goes out marked `ends_utterance`, and the endpointer ends the open utterance at that frame
        (no silence is fed, no window waited for, no pending end-of-turn verdict held)."""
        now = asyncio.get_running_loop().time()
        if now - self._last_end < PTT_MIN_GAP_S:
            return  # a flood of `end`s: one is enough (each would be a frame in the queue)
        self._last_end = now
        session.source.end_utterance()
        self.hub.log.event("push_to_talk_end", device=self.name, frames_in=session.source.frames_in)

    async def _write(self, session: DeviceSession) -> None:
        while True:
            item = await session.outbox.get()
            if isinstance(item, AudioData):
                async with self._send_lock:
                    await self.ws.send_bytes(item.pcm)
            elif isinstance(item, SayTranscript):
                await self._send_json({"type": "transcript", "text": item.text, "language": item.language})
            elif isinstance(item, SayReplyText):
                await self._send_json({"type": "reply", "text": item.text})
            elif isinstance(item, AudioOpen):
                await self._send_json({"type": "audio-start", "rate": item.rate})
            elif isinstance(item, AudioClose):
                await self._send_json({"type": "audio-stop"})
            elif isinstance(item, TimerNote):
                await self._send_json(
                    {
                        "type": f"timer-{item.event}",
                        "id": item.id,
                        "seconds": item.seconds,
                        "name": item.name,
                        "active": item.active,
                    }
                )

    async def _watch(self, session: DeviceSession) -> None:
        """Sends each finished turn's stage timings to the page, and ends the link when the hub
        closes the session (the device was removed: its token revoked)."""
        seen = session.stats.turns
        while session.state == "listening":
            await asyncio.sleep(0.2)
            if session.stats.turns != seen:
                seen = session.stats.turns
                last = session.stats.last_turn
                timings = {k: round(v) for k, v in last.get("timings_ms", {}).items() if v is not None}
                await self._send_json(
                    {"type": "timings", "turn": last.get("turn"), "status": last.get("status"), "ms": timings}
                )

    async def _send_json(self, message: dict[str, Any]) -> None:
        async with self._send_lock:  # one message at a time on the socket (the writer and the watch)
            await self.ws.send_json(message)


async def serve_http(
    hub: Hub,
    host: str,
    port: int,
    ready: asyncio.Event | None = None,
    tls: TlsFiles | None = None,
    insecure: bool = False,
) -> None:
    """Serve until cancelled: HTTPS/WSS with `tls`; plain HTTP only on this machine, or off it with
    `insecure` (else `InsecureBindError`, before anything listens)."""
    if tls is None:
        check_plain(host, insecure)
    config = uvicorn.Config(
        make_app(hub),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        ws="websockets",
        ssl_certfile=str(tls.cert) if tls else None,
        ssl_keyfile=str(tls.key) if tls else None,
    )
    server = _Server(config)
    scheme = "https" if tls else "http"
    fields: dict[str, Any] = {"url": f"{scheme}://{host}:{port}/"}
    if tls:
        fields["sha256"] = tls.fingerprint
    hub.log.event("http_listening", **fields)
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
