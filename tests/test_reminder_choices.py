"""A choice the user never made is not made for them: "remind me to call mom at 5pm" once became a
*daily* reminder (the small model filled the optional `repeat`). An act call's optional choice runs
only when the words state it."""

from __future__ import annotations

import asyncio
import json

import pytest
from conftest import steady_clock

from pipeline.acting.grounding import ground
from pipeline.acting.permissions import Provenance
from pipeline.tools.family import catalog

REMIND = next(t for t in catalog() if t.name == "add_reminder")


@pytest.mark.parametrize(
    ("said", "repeat"),
    [
        ("remind me to call mom at 5pm", None),
        ("remind me to take my pills at 8 every day", "daily"),
        ("remind me every morning at 7 to stretch", "daily"),
        ("remind me daily at 9 to water the plants", "daily"),
        ("remind me to put the bins out every Tuesday at 7pm", "weekly"),
        ("remind me weekly to call grandma", "weekly"),
    ],
)
def test_a_repeat_runs_only_when_said(said, repeat):
    # whatever the model offered (or left out), the repeat is the one the words state, or none
    for offered in ("daily", "weekly", "none", None):
        args = {"text": "x", "time": "17:00"} | ({"repeat": offered} if offered else {})
        out, why, note = ground(REMIND, args, Provenance(said))
        assert why is None
        assert out.get("repeat", "none") == (repeat or "none"), (said, offered, out)
        assert ("repeat" in note) == (out.get("repeat") != offered), (said, offered, note)


@pytest.mark.models
def test_a_one_off_reminder_stays_one_off(cfg, components, tmp_path):
    from pipeline.runtime.session import Twin

    twin = Twin(cfg.model_copy(update={"data_dir": tmp_path}), components, clock=steady_clock)
    result = asyncio.run(twin.ask("Remind me to call mom at 5pm"))
    assert result.status == "completed", result.reply
    stored = json.loads(next((tmp_path / "tools").glob("reminders*.json")).read_text())
    (reminder,) = stored["reminders"]
    assert reminder["time"] == "17:00" and reminder["repeat"] == "none", reminder
    assert "daily" not in result.reply
