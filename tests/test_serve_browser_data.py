"""The browser page, driven in headless Chromium over the DevTools protocol (clicks, a held mouse
button, downloads, the page's own state), against a real hub:

- the user's own data: the paired phone lists a stored memory, downloads the export, erases the
  memory only after "Yes, erase" (a receipt and an audit entry follow; the memory is gone from the
  store); a guest's device sees only household items and cannot erase them; typed errors for a
  missing or revoked token, an unknown item and a bad request;
- push-to-talk: the button held while the fake microphone plays a human recording, released right
  after the words: the page sends nothing more, so only its `end` can close the utterance, and
  Twin's spoken answer comes back and is played; pressed again while it plays, the page stops what
  was still to play (barge-in), and that release, with no words, starts no turn."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
from conftest import fixture_path, normalize, require
from hub_process import log_waits

from bench.satellites import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _request(url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data, headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


class Chromium:
    """Headless Chromium with its DevTools endpoint; `page` speaks to the one tab."""

    def __init__(self, url: str, profile: Path, extra: list[str] = ()) -> None:
        self.profile = profile
        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--autoplay-policy=no-user-gesture-required",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                f"--user-data-dir={profile}",
                *extra,
                url,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.ws: Any = None
        self.browser_ws: Any = None
        self._id = 0

    async def connect(self) -> None:
        import websockets

        active = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (active.exists() and len(active.read_text().split()) == 2):
            assert time.monotonic() < deadline and self.proc.poll() is None, "chromium did not start"
            await asyncio.sleep(0.1)
        port, path = active.read_text().split()
        pages: list[dict] = []
        while not pages:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                pages = [t for t in json.loads(r.read()) if t["type"] == "page"]
            await asyncio.sleep(0.1)
        self.ws = await websockets.connect(pages[0]["webSocketDebuggerUrl"], max_size=None)
        self.browser_ws = await websockets.connect(f"ws://127.0.0.1:{port}{path}", max_size=None)

    async def call(self, method: str, browser: bool = False, **params: Any) -> dict:
        ws = self.browser_ws if browser else self.ws
        self._id += 1
        await ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            msg = json.loads(await ws.recv())
            if msg.get("id") == self._id:
                assert "error" not in msg, msg
                return msg["result"]

    async def js(self, expression: str) -> Any:
        out = await self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        assert "exceptionDetails" not in out, out
        return out["result"].get("value")

    async def until(self, expression: str, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        guarded = f"(() => {{ try {{ return ({expression}); }} catch (e) {{ return null; }} }})()"
        while not (value := await self.js(guarded)):  # null while the page is still loading
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(0.1)
        return value

    async def close(self) -> None:
        for ws in (self.ws, self.browser_ws):
            if ws is not None:
                with contextlib.suppress(Exception):
                    await ws.close()
        self.proc.kill()
        self.proc.wait(10)


def _enrol(data_dir: Path, name: str, role: str) -> None:
    """A voice profile on disk as `twin enroll` leaves it (the vectors do not matter here: the page
    reads names and roles, never voices)."""
    from voice.speakers.profiles import ProfileStore, SpeakerProfile
    from voice.speakers.resemblyzer_encoder import RESEMBLYZER_BACKEND

    vec = np.random.default_rng(len(name)).normal(size=256)
    profile = SpeakerProfile(
        name, [list(vec / np.linalg.norm(vec))], 0.7, RESEMBLYZER_BACKEND, time.time(), time.time(), role=role
    )
    ProfileStore(data_dir / "speakers", None).write(profile)


def _hub(hub_cfg, components):
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog

    log = HubLog(None, stream=None)
    return Hub(hub_cfg, components, log=log, poll_s=0.2), log


def test_page_shows_exports_and_erases_the_users_memories(hub_cfg, components, tmp_path):
    require(CHROMIUM is not None, "chromium is not installed (scripts/setup.sh installs it)")
    require(components.memory is not None, "memory is off in the config")
    assert hub_cfg.identity.speakers  # the household rules below are the ones with voices enrolled
    from pipeline.acting.audit import AuditLog
    from pipeline.acting.session import audit_path
    from pipeline.serve.http import serve_http

    mem = components.memory
    _enrol(hub_cfg.data_path, "tess", "owner")
    _enrol(hub_cfg.data_path, "ravi", "adult")

    def remember(text: str, speaker: str) -> Any:
        return mem.remember(text, speaker, "fact", importance=0.8, source="test")

    bike = remember("Tess keeps her bike in the blue shed.", "tess")
    router = remember("The wifi router is in the hallway cupboard.", "household")
    private = remember("Ravi's dentist is on Elm Street.", "ravi")
    hub, log = _hub(hub_cfg, components)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    downloads = tmp_path / "downloads"
    out: dict[str, Any] = {}

    async def scenario() -> None:
        stop, ready = asyncio.Event(), asyncio.Event()
        runner = asyncio.create_task(hub.run(stop, [lambda: serve_http(hub, "127.0.0.1", port, ready)]))
        await ready.wait()
        loop = asyncio.get_running_loop()

        def call(path: str, body: Any = None, token: str | None = None) -> Any:
            return loop.run_in_executor(None, _request, base + path, body, token)

        code = hub.registry.start_pairing("tess-phone", "companion", "tess")
        visitor_code = hub.registry.start_pairing("visitor", "companion")
        _, paired = await call("/pair", {"name": "visitor", "code": visitor_code})
        visitor = paired["token"]
        page = Chromium(f"{base}/?name=tess-phone&code={code}", tmp_path / "chromium")
        try:
            await page.connect()
            await page.until("!document.getElementById('data').hidden", 30, "the paired page")
            token = await page.js("localStorage.getItem('twin-token')")
            await page.js("document.getElementById('show').click()")
            out["listed"] = await page.until("window.twinState.memories", 30, "the memories")
            out["page_text"] = await page.js("document.getElementById('memories').innerText")
            out["voices"] = await page.js("document.getElementById('voices').innerText")
            # the download: a real file saved by the browser
            await page.call(
                "Browser.setDownloadBehavior", browser=True, behavior="allow", downloadPath=str(downloads)
            )
            await page.js("document.getElementById('download').click()")
            saved = downloads / "twin-tess-phone-export.json"
            deadline = time.monotonic() + 30
            while not saved.exists():
                assert time.monotonic() < deadline, "the export was not downloaded"
                await asyncio.sleep(0.1)
            out["export"] = json.loads(saved.read_text())
            # erase: the page shows what would go; nothing goes before "Yes, erase"
            await page.js(f"document.querySelector('button.erase[data-id=\"{bike.id}\"]').click()")
            out["plan"] = await page.until("window.twinState.confirming", 30, "the erase preview")
            out["confirm_shown"] = await page.js(
                "!document.getElementById('confirm').hidden && document.getElementById('confirm').innerText"
            )
            out["kept_before_yes"] = bike.id in mem.items
            await page.js("document.getElementById('confirm-yes').click()")
            out["erased"] = await page.until("window.twinState.erased[0]", 30, "the erase")
            out["gone"] = bike.id not in mem.items
            # a guest's device: household items only, and no erasing them
            out["guest_list"] = await call("/api/memories", token=visitor)
            out["guest_erase"] = await call("/api/memories/forget", {"ids": [router.id]}, visitor)
            out["guest_other"] = await call("/api/memories/forget", {"ids": [private.id]}, visitor)
            out["unknown"] = await call("/api/memories/forget", {"ids": ["no-such-id"]}, token)
            out["bad"] = await call("/api/memories/forget", b"{not json", token)
            out["both"] = await call("/api/memories/forget", {"ids": [router.id], "everything": True}, token)
            out["stale"] = await call("/api/memories/forget/confirm", {"confirmation": "nope"}, token)
            out["missing"] = await call("/api/memories")
            # revoked: the page and the old token can read nothing more
            await loop.run_in_executor(None, hub.registry.remove, "tess-phone")
            await page.js("document.getElementById('show').click()")
            await page.until(
                "window.twinState.errors.includes('device_unpaired')", 30, "the page to be refused"
            )
            out["revoked"] = await call("/api/memories", token=token)
            out["revoked_export"] = await call("/api/export", token=token)
        finally:
            await page.close()
            stop.set()
            await runner

    asyncio.run(scenario())

    texts = [m["text"] for m in out["listed"]]
    assert bike.text in texts and router.text in texts and private.text not in texts, texts
    assert bike.text in out["page_text"], out["page_text"]
    assert "tess (owner" in out["voices"] and "ravi" in out["voices"], out["voices"]  # the owner sees all
    doc = out["export"]
    assert doc["memories"]["format"] == "twin-memory" and doc["settings"]["device"]["speaker"] == "tess"
    exported = {i["id"] for i in doc["memories"]["items"]}
    assert bike.id in exported and router.id in exported and private.id not in exported
    assert out["plan"]["count"] == 1 and out["plan"]["ids"] == [bike.id], out["plan"]
    assert out["confirm_shown"] and "1 memory" in out["confirm_shown"], out["confirm_shown"]
    assert out["kept_before_yes"] and out["gone"]
    erased = out["erased"]
    assert erased["deleted"] == 1 and erased["ids"] == [bike.id] and erased["audit_error"] is None, erased
    receipt = json.loads((mem.receipts / erased["receipt"]).read_text())
    assert receipt["items"] == [{"id": bike.id, "kind": "fact"}] and "tess-phone" in receipt["who"]
    assert "blue shed" not in json.dumps(receipt)  # a receipt never holds the forgotten words
    entries = AuditLog(audit_path(hub_cfg)).entries()
    done = [e for e in entries if e.get("tool") == "memory.forget" and e.get("decision") == "confirmed"]
    assert done and "tess-phone" in done[-1]["who"] and done[-1]["result"]["deleted"] == 1, entries
    status, guest = out["guest_list"]
    assert status == 200 and {m["speaker"] for m in guest} == {"household"}, guest
    assert router.id in {m["id"] for m in guest}
    assert out["guest_erase"][0] == 403 and out["guest_erase"][1]["code"] == "not_allowed", out["guest_erase"]
    assert router.id in mem.items  # refused: still stored
    assert out["guest_other"][0] == 404 and out["guest_other"][1]["code"] == "memory_unknown_item"
    assert out["unknown"][0] == 404 and out["unknown"][1]["code"] == "memory_unknown_item"
    assert out["bad"][0] == 400 and out["bad"][1]["code"] == "bad_request" and out["bad"][1]["hint"]
    assert out["both"][0] == 400 and out["both"][1]["code"] == "bad_request"
    assert out["stale"][0] == 409 and out["stale"][1]["code"] == "confirmation_unknown"
    assert out["missing"][0] == 401 and out["missing"][1]["code"] == "token_missing"
    assert out["revoked"][0] == 401 and out["revoked"][1]["code"] == "device_unpaired", out["revoked"]
    assert out["revoked_export"][0] == 401
    for it in (router, private):
        mem.forget([it.id])  # the shared store as the other tests expect it


def test_push_to_talk_sends_a_recording_and_ends_on_release(hub_cfg, components, tmp_path):
    require(CHROMIUM is not None, "chromium is not installed (scripts/setup.sh installs it)")
    import soundfile as sf

    from pipeline.serve.http import serve_http

    # The words and 0.2 s after them: far less than the companion profile's silence window, and the
    # semantic end of turn (which may end a clearly finished question after 250 ms) is off here, so
    # the hub's endpointer cannot end the turn on its own; after release the page sends no audio.
    hub_cfg = hub_cfg.model_copy(
        update={"endpointing": hub_cfg.endpointing.model_copy(update={"semantic": False})}
    )
    x, rate = sf.read(fixture_path("speech_to_phrase_en/wav/what's the date.wav"), dtype="float32")
    words_s = 1.3
    wav = tmp_path / "question.wav"
    sf.write(wav, x[: int(words_s * rate)], rate, subtype="PCM_16")
    hub, log = _hub(hub_cfg, components)
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    logged, wait_for = log_waits(log)

    out: dict[str, Any] = {}

    async def scenario() -> None:
        stop, ready = asyncio.Event(), asyncio.Event()
        runner = asyncio.create_task(hub.run(stop, [lambda: serve_http(hub, "127.0.0.1", port, ready)]))
        await ready.wait()
        code = hub.registry.start_pairing("phone", "companion")
        page = Chromium(
            f"{base}/?name=phone&code={code}&autostart=1&ptt=1",
            tmp_path / "chromium",
            [
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}%noloop",
            ],
        )
        try:
            await page.connect()
            await page.until("window.twinState.ready", 60, "the hub's ready")
            box = await page.js(
                "(() => { const r = document.getElementById('ptt').getBoundingClientRect();"
                " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
            )
            press = {"x": box[0], "y": box[1], "button": "left", "clickCount": 1}
            await page.call("Input.dispatchMouseEvent", type="mouseMoved", x=box[0], y=box[1])
            await page.call("Input.dispatchMouseEvent", type="mousePressed", **press)
            await page.until("window.twinState.mic", 10, "the microphone to open on the press")
            await asyncio.sleep(words_s + 0.1)  # the file plays from the moment the microphone opens
            await page.call("Input.dispatchMouseEvent", type="mouseReleased", **press)
            await wait_for(lambda: logged("push_to_talk_end", device="phone"), 30, "the page's end")
            await wait_for(lambda: logged("turn", device="phone"), 120, "the push-to-talk turn")
            await wait_for(lambda: logged("device_played", device="phone"), 30, "the page to play the answer")
            # barge-in: the answer has all arrived and is still playing (the hub makes it faster than
            # it plays); the button pressed again stops the page's playback at once
            await page.call("Input.dispatchMouseEvent", type="mousePressed", **press)
            out["cut"] = await page.until("window.twinState.cut[0]", 10, "the playback to stop")
            await page.call("Input.dispatchMouseEvent", type="mouseReleased", **press)
            await page.until("window.twinState.ended === 2", 10, "the second release's end")
            await wait_for(lambda: logged("push_to_talk_start", device="phone"), 10, "the press at the hub")
            out["timings"] = await page.until("window.twinState.timings[0]", 30, "the turn's timings")
        finally:
            await page.close()
            stop.set()
            await runner

    asyncio.run(scenario())

    heard = logged("transcript", device="phone")[0]["text"]
    assert normalize(heard) == normalize("what's the date"), heard
    turn = logged("turn", device="phone")[0]
    assert turn["status"] == "completed" and turn["reply"], turn
    played = logged("device_played", device="phone")[0]
    assert played["samples"] / played["rate"] > 0.8, played
    # the press cut what was still to play (the hub's turn was over: nothing to interrupt there);
    # the release with no words after it started no turn
    assert out["cut"]["sources"] > 0 and out["cut"]["seconds"] > 0, out["cut"]
    assert [r["interrupted"] for r in logged("push_to_talk_start", device="phone")] == [0, 0]  # both presses
    assert len(logged("turn", device="phone")) == 1 and len(logged("transcript", device="phone")) == 1
    # the page shows the turn's stage timings, the hub's own figures
    assert out["timings"]["voice_to_voice"] == round(turn["timings_ms"]["voice_to_voice"]), out["timings"]
