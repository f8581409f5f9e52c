"""A device can never act as another device or another person, against a real hub over its WebSocket:

- a link's device (and the person it is bound to) come from its token alone: a hello that names
  another device and another speaker is served as the token's device;
- a second link with the token of a device that is connected (a copied or replayed token) is
  refused with a typed error (`device_in_use`, close code 4409); the live link and its session go
  on untouched, and once it has closed the token works again;
- the car's rule for others present is the car device's own in the hub: its session counts voices
  (no personal memories aloud with more than one voice), a speaker's does not.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hub_process import log_waits

from bench.satellites import free_port


def test_a_token_is_one_device_and_cannot_be_replayed_while_it_is_connected(hub_cfg, components):
    import websockets

    from pipeline.serve.http import serve_http
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog

    log = HubLog(None, stream=None)
    hub = Hub(hub_cfg, components, log=log, poll_s=0.2)
    port = free_port()
    url = f"ws://127.0.0.1:{port}/ws"
    logged, wait_for = log_waits(log)
    out: dict[str, Any] = {}

    async def hello(ws: Any, token: str, **extra: Any) -> dict:
        await ws.send(json.dumps({"type": "hello", "token": token, "rate": 16000, **extra}))
        return json.loads(await ws.recv())

    async def scenario() -> None:
        stop, ready = asyncio.Event(), asyncio.Event()
        runner = asyncio.create_task(hub.run(stop, [lambda: serve_http(hub, "127.0.0.1", port, ready)]))
        await ready.wait()
        _, phone = hub.registry.pair("phone", hub.registry.start_pairing("phone", "companion"))
        hub.registry.pair("tablet", hub.registry.start_pairing("tablet", "speaker"))
        try:
            async with websockets.connect(url) as first:
                # names another device and a person: served as the token's device all the same
                out["first"] = await hello(first, phone, device="tablet", speaker="tess")
                session = hub.sessions["phone"]
                async with websockets.connect(url) as replay:
                    out["replay"] = await hello(replay, phone)
                    with pytest.raises(websockets.ConnectionClosed) as closed:
                        await asyncio.wait_for(replay.recv(), 10)
                    out["replay_close"] = closed.value.rcvd.code if closed.value.rcvd else None
                out["same_session"] = hub.sessions.get("phone") is session and session.state == "listening"
                await first.send(json.dumps({"type": "played", "samples": 0, "rate": 22050}))
                await wait_for(lambda: logged("device_played", device="phone"), 10, "the first link")
            await wait_for(lambda: logged("session_closed", device="phone"), 30, "the first to close")
            async with websockets.connect(url) as again:
                out["again"] = await hello(again, phone)
        finally:
            stop.set()
            await runner

    asyncio.run(scenario())

    assert out["first"] == {"type": "ready", "device": "phone", "profile": "companion"}, out["first"]
    assert "tablet" not in [r.get("device") for r in logged("session_opened")]
    assert out["replay"]["type"] == "error" and out["replay"]["code"] == "device_in_use", out["replay"]
    assert out["replay_close"] == 4409, out
    assert out["same_session"], "the replayed token took over the live session"
    refused = [r for r in logged("device_error", device="phone") if r["code"] == "device_in_use"]
    assert len(refused) == 1 and refused[0]["hint"], refused
    assert out["again"]["type"] == "ready", out["again"]  # the token itself is not burned


def test_the_car_rule_for_others_present_is_the_car_devices_own(hub_cfg, components):
    from pipeline.serve.components import DeviceComponents
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog

    hub = Hub(hub_cfg, components, log=HubLog(None, stream=None), poll_s=0.2)

    def device(profile: str) -> DeviceComponents:
        return DeviceComponents(hub.c, hub_cfg.model_copy(update={"profile": profile}), hub.planner)

    car, speaker = device("car"), device("speaker")
    assert car.cfg.device_profile.others_may_listen and car.listener.count_voices
    assert car.listener is not hub.c.listener  # its own count of who is in the car
    assert not speaker.listener.count_voices
