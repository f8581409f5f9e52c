"""The browser client end to end in headless Chromium (Debian's chromium): its fake microphone plays
a human recording; the page pairs with a one-time code, streams 16 kHz PCM from an AudioWorklet over
the WebSocket, gets the transcript and Twin's spoken answer, plays it and reports how much it
played. Then: a wrong code and an unknown token are refused (typed), and removing the device
revokes it (its session closes)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import urllib.error
import urllib.request

from conftest import fixture_path, normalize, require
from hub_process import log_waits

from bench.satellites import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_browser_pairs_talks_and_is_revoked(hub_cfg, components, tmp_path):
    require(CHROMIUM is not None, "chromium is not installed (scripts/setup.sh installs it)")
    import websockets

    from pipeline.serve.http import serve_http
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog

    wav = tmp_path / "question.wav"
    shutil.copy(fixture_path("speech_to_phrase_en/wav/what's the date.wav"), wav)
    log = HubLog(None, stream=None)
    hub = Hub(hub_cfg, components, log=log, poll_s=0.2)
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    logged, wait_for = log_waits(log)

    out: dict = {}

    async def scenario() -> None:
        stop = asyncio.Event()
        ready = asyncio.Event()
        runner = asyncio.create_task(hub.run(stop, [lambda: serve_http(hub, "127.0.0.1", port, ready)]))
        await ready.wait()
        loop = asyncio.get_running_loop()
        code = hub.registry.start_pairing("phone", "companion")
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        out["wrong"] = await loop.run_in_executor(
            None, _post, f"{base}/pair", {"name": "phone", "code": wrong}
        )
        browser = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--autoplay-policy=no-user-gesture-required",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}%noloop",
                f"--user-data-dir={tmp_path / 'chromium'}",
                f"{base}/?name=phone&code={code}&autostart=1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            await wait_for(lambda: logged("device_paired", device="phone"), 60, "pairing")
            await wait_for(lambda: logged("turn", device="phone"), 120, "the browser's turn")
            await wait_for(lambda: logged("device_played", device="phone"), 30, "the page to play the answer")
            # an unknown token is refused with a typed error
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws:
                await ws.send(json.dumps({"type": "hello", "token": "not-a-token", "rate": 16000}))
                out["refused"] = json.loads(await ws.recv())
            # revoke: the device's token is gone and its session closes
            await loop.run_in_executor(None, hub.registry.remove, "phone")
            await wait_for(lambda: logged("session_closed", device="phone"), 30, "revocation")
        finally:
            browser.kill()
            browser.wait(10)
            stop.set()
            await runner

    asyncio.run(scenario())

    status, body = out["wrong"]
    assert status == 403 and body["code"] == "pairing_refused", body
    heard = logged("transcript", device="phone")[0]["text"]
    assert normalize(heard) == normalize("what's the date"), heard
    turn = logged("turn", device="phone")[0]
    assert turn["status"] == "completed" and turn["profile"] == "companion" and turn["reply"], turn
    played = logged("device_played", device="phone")[0]
    assert played["samples"] / played["rate"] > 0.8, played  # the page scheduled the answer's audio
    assert out["refused"]["code"] == "device_unpaired", out["refused"]
    assert logged("session_closed", device="phone", reason="device_removed")
    stored = (hub_cfg.data_path / "devices.json").read_text()
    assert "token_sha256" not in stored or '"phone"' not in stored  # removed with its token hash
