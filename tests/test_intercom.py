"""Announcements reach the right room: the intercom family's rules, the planner choosing it from a
request, and the hub saying it on the named device only — a real, unmodified wyoming-satellite whose
speaker writes a file that Twin's ASR then reads back."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import numpy as np
import pytest
from conftest import fixture_path, normalize, require
from hub_process import log_waits

from bench.satellites import Satellite, free_port, satellite_available


@pytest.fixture()
def home(tmp_path):
    from pipeline.serve.registry import DeviceRegistry

    registry = DeviceRegistry(tmp_path)
    for name, port in (("kitchen", 10701), ("bedroom", 10702), ("garage", 10703)):
        registry.add(name, f"tcp://127.0.0.1:{port}", "speaker")
    return tmp_path


def _intercom(data_dir, origin="", now=None):
    from pipeline.tools.families.intercom import Intercom
    from pipeline.tools.family import Context

    family = Intercom(Context(data_dir, now or (lambda: datetime(2026, 3, 2, 18, 0).astimezone())))
    family.origin_device = origin
    return family


def test_targets_errors_and_expiry(home, tmp_path):
    from pipeline.tools.families.intercom import KEEP_FOR, AnnouncementError, announcement_text

    bedroom = _intercom(home, "bedroom")
    everyone = bedroom.queue("  Dinner is   ready ", "everyone", "owner")
    assert sorted(i["device"] for i in everyone) == ["garage", "kitchen"]  # not back to the sender
    assert {i["label"] for i in everyone} == {"Dinner is ready"}
    (one,) = bedroom.queue("the pizza is here", "the kitchen", "owner")
    assert one["device"] == "kitchen" and one["from"] == "bedroom" and one["speaker"] == "owner"
    assert announcement_text(one) == "An announcement from bedroom: the pizza is here."
    # stored before anything is said: another process (the hub) reads the same items
    assert len(_intercom(home).pending()[0]) == 3
    with pytest.raises(AnnouncementError, match="no device is called 'attic'") as err:
        bedroom.queue("hello", "attic")
    assert "bedroom, garage, kitchen" in err.value.hint
    with pytest.raises(AnnouncementError, match="needs the words"):
        bedroom.queue("  ", "kitchen")
    with pytest.raises(AnnouncementError, match="at most 300"):
        bedroom.queue("x" * 301, "kitchen")
    lone = tmp_path / "alone"
    lone.mkdir()
    with pytest.raises(AnnouncementError, match="no other device"):
        _intercom(lone, "bedroom").queue("hello", "")
    # stale news is not announced: past KEEP_FOR an item is expired, not said
    later = _intercom(
        home, now=lambda: datetime(2026, 3, 2, 18, 0).astimezone() + KEEP_FOR + timedelta(seconds=1)
    )
    fresh, expired = later.pending()
    assert fresh == [] and len(expired) == 3
    assert all(later.done(i) for i in expired) and later.pending() == ([], [])


def test_offered_only_on_a_hub_device(home):
    from pipeline.tools.local import LocalTools

    local = LocalTools(home)
    assert "announce" not in local.registry().names()
    for family in local.families:
        if hasattr(family, "origin_device"):
            family.origin_device = "bedroom"
    assert "announce" in local.registry().names()


@pytest.mark.models
def test_a_request_on_one_device_is_queued_for_another(cfg, components, home):
    import asyncio as aio

    from pipeline.runtime.session import Twin

    c = cfg.model_copy(update={"data_dir": home})
    twin = Twin(c, components)
    twin.tools.serve_device("bedroom")
    result = aio.run(twin.ask("Announce that dinner is ready."))
    assert result.status == "completed", result
    items = _intercom(home).pending()[0]
    assert items and all("dinner is ready" in i["label"].lower() for i in items), items
    assert all(i["from"] == "bedroom" for i in items) and {i["device"] for i in items} <= {
        "kitchen",
        "garage",
    }


def test_the_hub_says_it_on_the_named_device_only(cfg, components, tmp_path):
    require(satellite_available(), "wyoming-satellite venv .venv-satellite missing: run scripts/setup.sh")
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog
    from pipeline.serve.registry import DeviceRegistry
    from voice.audio import SAMPLE_RATE, AudioClip, resample

    hub_cfg = cfg.model_copy(update={"data_dir": tmp_path / "hub"})
    hub_cfg.data_path.mkdir(parents=True)
    quiet = [fixture_path("speech_to_phrase_en/wav/what's the date.wav")]  # never begun: a silent mic
    kitchen = Satellite("kitchen", quiet, tmp_path / "sat", gap=30)
    bedroom = Satellite("bedroom", quiet, tmp_path / "sat", gap=30)
    registry = DeviceRegistry(hub_cfg.data_path)
    registry.add("kitchen", kitchen.uri, "speaker")
    registry.add("bedroom", bedroom.uri, "speaker")
    registry.add("garage", f"tcp://127.0.0.1:{free_port()}", "speaker")  # added, never reachable
    log = HubLog(hub_cfg.data_path / "logs" / "hub.jsonl", stream=None)
    hub = Hub(hub_cfg, components, log=log, poll_s=0.2)
    sender = _intercom(hub_cfg.data_path, "bedroom", now=lambda: datetime.now().astimezone())
    (to_kitchen,) = sender.queue("Dinner is ready", "kitchen", "owner")
    (to_garage,) = sender.queue("The car is here", "garage", "owner")

    logged, wait_for = log_waits(log)

    async def scenario() -> None:
        kitchen.start()
        bedroom.start()
        stop = asyncio.Event()
        runner = asyncio.create_task(hub.run(stop))
        try:
            for name in ("kitchen", "bedroom"):
                await wait_for(lambda n=name: logged("satellite_connected", device=n), 60, name)
            await wait_for(lambda: logged("announced", device="kitchen"), 60, "the kitchen's announcement")
            # the garage never connects: its item waits, then is dropped unsaid once it is stale
            assert [i["id"] for i in sender.pending()[0]] == [to_garage["id"]]
            stale = (datetime.now().astimezone() - timedelta(minutes=11)).isoformat()
            sender.announcements.update(lambda s: s["announcements"][0].__setitem__("created", stale))
            await wait_for(lambda: logged("announcement_expired", device="garage"), 10, "the expiry")
            await asyncio.sleep(1.0)  # the kitchen's audio has all arrived
        finally:
            stop.set()
            await runner
            kitchen.stop()
            bedroom.stop()

    asyncio.run(scenario())
    raw = kitchen.output.read_bytes()
    pcm = np.frombuffer(raw[: len(raw) // 2 * 2], "<i2").astype(np.float32) / 32768.0
    heard = components.asr.transcribe(
        AudioClip(resample(pcm, 22050, SAMPLE_RATE), SAMPLE_RATE, "kitchen"), "en", True
    )
    # Twin's voice samples its prosody, so one word may be misheard: most of the sentence must be there
    said = set(normalize(heard.text))
    assert len(pcm) > 22050, "under a second of audio reached the kitchen"  # the satellite plays 22050 Hz
    assert len(said & {"announcement", "bedroom", "dinner", "ready"}) >= 3, heard.text
    assert not bedroom.output.exists() or bedroom.output.stat().st_size == 0, "the bedroom heard it too"
    assert logged("announced", device="kitchen")[0]["id"] == to_kitchen["id"]
    assert sender.pending() == ([], [])  # said once, expired once: nothing left
