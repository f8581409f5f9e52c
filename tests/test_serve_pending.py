"""A task asked in the car goes on at home: the hub's one set of calls under way, across devices.

In an in-process hub on the real models, with a real MCP server (tests/mcp_servers/facts_server.py,
stdio) whose report tool takes seconds:
- the car asks for a report; the call outlives the turn's patience ("I'm on it") and goes on;
- the car goes away (its session closed, as when the engine stops);
- in the kitchen the same person asks "is the report ready?": Twin knows the call asked in the car;
- the result arrives and is said in the kitchen, where its owner last spoke (the hub's clock), and
  the audit log records the call once, as done.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hub_process import log_waits

pytestmark = pytest.mark.models

FACTS = [sys.executable, str(Path(__file__).parent / "mcp_servers" / "facts_server.py")]


@pytest.fixture()
def hub_cfg(cfg, tmp_path, monkeypatch):
    from pipeline.config import McpServerConfig

    monkeypatch.setenv("FACTS_REPORT_SECONDS", "4")  # the server reads it when the hub starts it
    mcp = {"facts": McpServerConfig(command=FACTS, allow=["write_report"], tier="read", timeout_s=30)}
    c = cfg.model_copy(
        update={
            "data_dir": tmp_path / "hub",
            "tools": cfg.tools.model_copy(update={"mcp": mcp, "patience_s": 0.5}),
        }
    )
    c.data_path.mkdir(parents=True)
    return c


async def _turn(session, text: str):
    """A spoken turn on the device's session, its words as the front end's transcript (the audio is
    a second of quiet: what is tested here is where the task goes, not hearing)."""
    from pipeline.events import Utterance
    from pipeline.runtime.endpointing import Endpoint
    from voice.asr import Transcript
    from voice.audio import AudioClip

    clip = AudioClip(np.zeros(16_000, np.float32), 16_000, "quiet")
    now = time.monotonic()
    utt = Utterance(audio=clip, start=0.0, end=clip.duration, speech_end_t=now, endpoint_t=now)
    words = Transcript(text, "en", 1.0, clip.duration)
    # its own task, as the live loop runs each turn (the device is busy while that task runs)
    turn = session.twin.voice_turn(clip, Endpoint(utt), speak=False, transcript=words)
    result = await asyncio.create_task(turn)
    session._on_turn(result)  # as the device's live loop does with each turn's result
    return result


def test_a_task_asked_in_the_car_goes_on_at_home(hub_cfg, components):
    from pipeline.acting.audit import AuditLog
    from pipeline.acting.session import audit_path
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog
    from pipeline.serve.registry import Device

    log = HubLog(None, stream=None)
    hub = Hub(hub_cfg, components, log=log, poll_s=0.2)
    logged, wait_for = log_waits(log)
    out: dict[str, object] = {}

    async def scenario() -> None:
        car = await hub.open_session(Device("car", "browser", "car", kind="browser"))
        home = await hub.open_session(Device("kitchen", "browser", "speaker", kind="browser"))
        clock = asyncio.create_task(hub.clock.run())
        try:
            out["before"] = await _turn(car, "Is the report ready?")  # nothing under way yet
            out["asked"] = await _turn(car, "Write me a report on sleep.")
            out["running"] = [(p.tool, p.speaker, p.device) for p in hub.calls.pending()]
            await hub.close_session(car, "device_gone")  # the engine stops: the car is gone
            out["status"] = await _turn(home, "Is the report ready?")
            await wait_for(lambda: logged("result_said"), 60, "the report's result to be said")
            out["said"] = home.stats.results[-1]
        finally:
            clock.cancel()
            await hub.shutdown()

    asyncio.run(scenario())

    before = out["before"].reply  # type: ignore[attr-defined]
    assert before == "I'm not working on the report right now. Ask me if you'd like me to start.", before
    asked = out["asked"]
    assert "i'm on it" in asked.reply.lower(), asked.reply  # type: ignore[attr-defined]
    assert out["running"] == [("facts__write_report", "owner", "car")], out["running"]
    status = out["status"].reply  # type: ignore[attr-defined]
    assert status == (
        "I'm still working on write report, which you asked for in the car. I'll tell you when it's done."
    ), status
    (said,) = logged("result_said")
    assert (said["device"], said["asked_on"], said["speaker"]) == ("kitchen", "car", "owner"), said
    result = out["said"]
    assert "report on sleep" in result.reply.lower(), result.reply  # type: ignore[attr-defined]
    assert hub.calls.ready() == [] and hub.calls.pending() == []  # said once, nothing left
    calls = [e for e in AuditLog(audit_path(hub_cfg)).entries() if e.get("tool") == "facts__write_report"]
    assert [(e["status"], e["decision"]) for e in calls] == [("ok", "auto")], calls


def test_the_result_waits_for_its_owner_and_a_guest_cannot_ask_about_it(hub_cfg, components):
    """Nothing of the owner's is said to another room while neither their device nor the one it was
    asked on is connected, and a guest's "never mind the report" does not stop it."""
    from pipeline.acting.background import BackgroundCalls, result_target
    from pipeline.tools.base import Tier, Tool

    calls = BackgroundCalls()
    report = Tool("facts__write_report", "", Tier.READ, {}, lambda a: None)
    calls.start("k1", report, {"topic": "sleep"}, None, "owner", "car")
    assert calls.cancel_spoken("never mind the report", "unknown", "car") is None  # a guest's words
    assert calls.status_spoken("is the report ready?", "alice", "kitchen") is None  # someone else's
    assert calls.status_spoken("is dinner ready?", "owner", "kitchen") is None  # not about the call
    assert "write report" in calls.status_spoken("what are you working on?", "owner", "car")
    assert calls.status_spoken("Where were we?", "owner", "kitchen") == (
        "I'm still working on write report, which you asked for in the car. I'll tell you when it's done."
    )
    assert calls.status_spoken("where were we?", "alice", "kitchen") is None  # the model and history
    calls.finish("k1", "About write report: Report on sleep.")
    (item,) = calls.ready()
    last = {"owner": "kitchen"}.get
    assert result_target(item, {"bedroom"}, last) is None  # waits: never to whoever is elsewhere
    assert result_target(item, {"bedroom", "car"}, last) == "car"  # where it was asked
    assert result_target(item, {"car", "kitchen"}, last) == "kitchen"  # where its owner last spoke
    guest = item | {"speaker": "unknown"}
    assert result_target(guest, {"car", "kitchen"}, {"unknown": "kitchen"}.get) == "car"  # its own device
    calls.said("k1")
    assert calls.ready() == []


def test_a_restart_says_the_unsaid_results_and_the_calls_it_lost(hub_cfg, components):
    """The hub keeps its calls under way and unsaid results on disk: after the process is gone (a
    stop or kill -9: here the object is simply dropped, as a killed process's memory is), the next
    hub says the result that was ready, and says plainly that the call under way was lost (its
    worker died with the process). A call the user had stopped waiting for is not brought back."""
    from pipeline.acting.background import CALLS_FILE, BackgroundCalls
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog
    from pipeline.tools.base import Tier, Tool
    from pipeline.tools.store import JsonState

    def tool(name: str) -> Tool:
        return Tool(name, "", Tier.READ, {}, lambda a: None)

    path = hub_cfg.data_path / "tools" / CALLS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    before = BackgroundCalls(JsonState(path, {"pending": {}, "said": {}}))
    before.start("done", tool("facts__write_report"), {"topic": "sleep"}, None, "owner", "car")
    before.start("lost", tool("translate_text"), {"text": "hello"}, None, "alice", "kitchen")
    before.start("stopped", tool("facts__get_weather"), {"city": "Oslo"}, None, "owner", "car")
    before.finish("done", "About write report: Report on sleep.")
    assert before.cancel_spoken("never mind the weather", "owner", "car").startswith("Okay")
    del before  # the process is gone

    log = HubLog(None, stream=None)
    hub = Hub(hub_cfg, components, log=log)
    ready = {item["id"]: item for item in hub.calls.ready()}
    assert set(ready) == {"done", "lost"}, ready
    assert ready["done"]["label"] == "About write report: Report on sleep."
    assert (ready["done"]["speaker"], ready["done"]["device"]) == ("owner", "car")
    assert ready["lost"]["label"] == (
        "I lost track of translate text when I restarted. Ask me again if you still need it."
    )
    assert (ready["lost"]["speaker"], ready["lost"]["device"]) == ("alice", "kitchen")
    assert [r["results"] for r in log.lines if r["event"] == "calls_recovered"] == [2]
    hub.calls.said("done")
    hub.calls.said("lost")
    # said once: a third start finds nothing
    assert Hub(hub_cfg, components, log=HubLog(None, stream=None)).calls.ready() == []


def test_is_the_report_ready_with_nothing_under_way_starts_nothing():
    """With no call under way, "is the report ready?" is about a task, never a request to start a
    server's `write_report` (the question rule would otherwise call that read-only tool); other
    questions are left alone."""
    from pipeline.acting.background import asked_about

    names = lambda: ["facts__write_report", "facts__get_weather"]  # noqa: E731
    assert asked_about("Is the report ready?", names) == "the report"
    assert asked_about("is my report done yet", names) == "my report"
    assert asked_about("any news on the weather in Paris", names) is None  # a weather question
    assert asked_about("is dinner ready?", names) is None  # no tool's words
    assert asked_about("write me a report on sleep", names) is None  # a request


def test_a_damaged_calls_file_is_left_as_it_is_and_logged(hub_cfg, components):
    """A calls file that is not JSON (a disk fault, a hand edit) is never overwritten: the hub logs a
    typed error that says what to do, serves on without the old calls, and the file is unchanged."""
    from pipeline.acting.background import CALLS_FILE
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog

    path = hub_cfg.data_path / "tools" / CALLS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"pending": {"x": ')  # cut short by a crash mid-write on a disk without atomic rename
    log = HubLog(None, stream=None)
    hub = Hub(hub_cfg, components, log=log)
    [line] = [r for r in log.lines if r["event"] == "calls_unreadable"]
    assert line["level"] == "error" and "damaged" in line["message"] and "move it aside" in line["hint"]
    assert hub.calls.ready() == []
    assert path.read_text() == '{"pending": {"x": '
