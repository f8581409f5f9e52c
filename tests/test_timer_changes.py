"""Timers can be paused, resumed and given more time ("pause timer", "add five minutes to the
timer"), on a clock the test moves by hand; a device is told of each change (Wyoming
`timer-updated`, with whether it runs and what it has left); the planner picks these tools from the
words of a request."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from pipeline.tools.errors import ToolArgumentError

T0 = datetime(2026, 3, 2, 18, 0).astimezone()


class Hands:
    """A clock moved by the test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture()
def clock(tmp_path):
    from pipeline.tools.families.clock import Clock
    from pipeline.tools.family import Context

    hands = Hands()
    family = Clock(Context(tmp_path, hands))
    family.hands = hands  # type: ignore[attr-defined]
    return family


def test_pause_resume_and_add_time(clock):
    clock.set_timer({"minutes": 10, "label": "pasta"}, "owner")
    clock.hands.now = T0 + timedelta(minutes=4)
    paused = clock.pause_timer({"label": ""})
    assert paused.ok and paused.summary == "the pasta timer is paused, with 6 minutes left", paused.summary
    # paused, it never comes due, however long it waits
    clock.hands.now = T0 + timedelta(hours=2)
    assert clock.due() == [] and clock.fire_due() == []
    assert "paused with 6 minutes left" in clock.list_timers({}).summary
    more = clock.add_time_to_timer({"minutes": 2, "label": "pasta"})
    assert more.ok and more.summary == "added 2 minutes: the pasta timer is paused, with 8 minutes left", (
        more.summary
    )
    assert not clock.pause_timer({"label": "pasta"}).ok  # already paused: says so, changes nothing
    resumed = clock.resume_timer({"label": "the timer"})
    assert resumed.ok and resumed.data[0]["due"] == (clock.hands.now + timedelta(minutes=8)).isoformat()
    # said as a person would: what is left, not the second it rings ("rings at 20:08:00")
    assert resumed.summary == "the pasta timer is running again, with 8 minutes left", resumed.summary
    assert "the pasta timer has 8 minutes left (it rings at 20:08)" in clock.list_timers({}).summary
    added = clock.add_time_to_timer({"seconds": 30})  # the only timer: no label needed
    assert added.summary == "added 30 seconds: the pasta timer has 8 minutes 30 seconds left", added.summary
    clock.hands.now += timedelta(minutes=8)
    assert clock.due() == []
    clock.hands.now += timedelta(seconds=30)
    assert [t["label"] for t in clock.fire_due()] == ["pasta"]


def test_changes_that_cannot_be_made_say_why(clock):
    assert not clock.resume_timer({"label": ""}).ok  # nothing paused
    nothing = clock.cancel_timer({"label": ""})  # "cancel all timers" with none set
    assert not nothing.ok and nothing.summary == "no timer or alarm is set", nothing.summary
    assert "no timer is set" in clock.add_time_to_timer({"minutes": 1}).summary
    clock.set_timer({"minutes": 5, "label": "eggs"}, "owner")
    clock.set_timer({"minutes": 9, "label": "rice"}, "owner")
    with pytest.raises(ToolArgumentError, match="more than one timer"):
        clock.add_time_to_timer({"minutes": 1})
    with pytest.raises(ToolArgumentError, match="between 1 second and 24 hours"):
        clock.add_time_to_timer({"minutes": -3, "label": "eggs"})
    assert "no timer named 'tea'" in clock.add_time_to_timer({"minutes": 1, "label": "tea"}).summary
    clock.set_alarm({"time": "07:00"}, "owner")
    assert [t["label"] for t in clock.pause_timer({"label": "all"}).data] == ["eggs", "rice"]  # not the alarm


def test_a_device_is_told_of_a_change(cfg, tmp_path):
    """The hub's clock tells the device a timer was set on when it is paused or given more time;
    the satellite gets Wyoming's own `timer-updated` event."""
    from wyoming.timer import TimerUpdated

    from pipeline.serve.device import TimerNote
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog
    from pipeline.serve.wyoming_io.satellites import outgoing_event

    hub = Hub(
        cfg.model_copy(update={"data_dir": tmp_path}),
        components=SimpleNamespace(),
        log=HubLog(None, stream=None),
    )
    told: list[TimerNote] = []
    kitchen = SimpleNamespace(
        state="listening",
        device=SimpleNamespace(name="kitchen"),
        outbox=SimpleNamespace(put_nowait=told.append),
    )
    hub.sessions["kitchen"] = kitchen  # the clock's view of a connected device: its outbox
    clock = hub.clock.clock
    clock.origin_device = "kitchen"
    hub.clock._note_changes(clock.timers_set(), set())  # the first read
    timer = clock.set_timer({"minutes": 5, "label": "tea"}, "owner").data
    hub.clock._note_changes(clock.timers_set(), set())
    clock.pause_timer({"label": "tea"})
    hub.clock._note_changes(clock.timers_set(), set())
    clock.resume_timer({"label": "tea"})
    clock.add_time_to_timer({"minutes": 1})
    hub.clock._note_changes(clock.timers_set(), set())
    hub.clock._note_changes(clock.timers_set(), set())  # nothing changed: nothing told
    assert [n.event for n in told] == ["started", "updated", "updated"]
    paused, running = told[1], told[2]
    assert paused.id == timer["id"] and not paused.active and 290 <= paused.seconds <= 300
    assert running.active and 350 <= running.seconds <= 360
    event = outgoing_event(paused)
    assert TimerUpdated.is_type(event.type)
    assert TimerUpdated.from_event(event) == TimerUpdated(
        id=timer["id"], is_active=False, total_seconds=paused.seconds
    )


@pytest.mark.models
@pytest.mark.parametrize(
    ("said", "tool"),
    [
        ("Pause the timer.", "pause_timer"),
        ("Resume the timer.", "resume_timer"),
        ("Add five minutes to the timer.", "add_time_to_timer"),
        ("Timer status.", "list_timers"),
    ],
)
def test_the_planner_picks_the_change(cfg, components, tmp_path, said, tool):
    from pipeline.runtime.session import Twin
    from pipeline.tools.families.clock import Clock
    from pipeline.tools.family import Context

    c = cfg.model_copy(update={"data_dir": tmp_path})
    Clock(Context(tmp_path, lambda: datetime.now().astimezone())).set_timer({"minutes": 10}, "owner")
    twin = Twin(c, components)
    result = asyncio.run(twin.ask(said))
    audit = (tmp_path / "audit.jsonl").read_text()
    assert f'"tool": "{tool}"' in audit, (said, result.reply, audit[-800:])
