"""Twin's last change put back when the user asks: "undo that", "take it back", or a refusal of what
it has just done ("no, don't add milk to the shopping list" right after milk was added). Each tool
says how to put back what it changed (`ToolResult.undo`); the runner runs it after an intent entry
in the audit log, and a change someone made since is left as it is and said."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from pipeline.acting.planner import asks_undo


def _plan(session, text):
    return asyncio.run(session.plan(text))


def _undo_entries(session):
    """Every record of an undo, its intent included."""
    return [e for e in session.audit.records() if str(e.get("tool", "")).startswith("undo ")]


@pytest.mark.parametrize(
    "text",
    ["undo that", "Undo.", "please undo it", "no, undo what you just did", "take that back", "revert it"],
)
def test_the_words_that_ask_for_an_undo(text):
    assert asks_undo(text)


@pytest.mark.parametrize(
    "text",
    ["how do I undo a git commit", "undo the knot in my lace", "reverse the car", "take the bins back in"],
)
def test_words_about_undoing_something_else_are_not_an_undo(text):
    assert not asks_undo(text)


def test_a_refusal_just_after_the_deed_puts_it_back(plain_session):
    s = plain_session
    _plan(s, "add milk and eggs to the shopping list")
    assert s.local.lists.read()["lists"] == {"shopping": ["milk", "eggs"]}
    r = _plan(s, "no, don't add milk and eggs to the shopping list")
    assert r.reply is not None and r.reply.startswith("I had already done it, so I undid it.")
    assert r.reply.endswith("Took milk and eggs off the shopping list again.")
    assert s.local.lists.read()["lists"] == {}  # the list the addition made goes too
    # recorded like any change: an intent before it, the outcome after it
    entries = _undo_entries(s)
    assert [(e["tool"], e["status"]) for e in entries] == [
        ("undo add_to_list", "intent"),
        ("undo add_to_list", "ok"),
    ]
    assert s.audit.verify().ok  # the chain holds the undo as any entry
    # undone once: the same refusal again is a plain refusal, and nothing more is taken off
    r = _plan(s, "no, don't add milk to the shopping list")
    assert r.reply == "Okay, I won't add milk to the shopping list."
    assert len(_undo_entries(s)) == 2


def test_undo_that_puts_the_volume_back_and_only_once(plain_session):
    s = plain_session
    assert s.local.device.read()["volume"] == 50
    assert _plan(s, "undo that").reply == "I haven't changed anything in this conversation to undo."
    _plan(s, "turn it up a bit louder")
    assert s.local.device.read()["volume"] == 60
    r = _plan(s, "undo that")
    assert r.reply == "Okay, I undid it. Set the volume back to 50."
    assert s.local.device.read()["volume"] == 50
    r = _plan(s, "undo that")
    assert r.reply == "There's nothing more to undo."
    assert s.local.device.read()["volume"] == 50 and r.outcomes == []


def test_an_undo_leaves_a_change_made_since_and_says_so(plain_session):
    s = plain_session
    _plan(s, "turn it up a bit louder")  # 50 -> 60
    s.local.device.update(lambda st: st.update(volume=30))  # someone else, from another device
    r = _plan(s, "undo that")
    assert r.reply == "I could not undo it. The volume was changed again since, so I left it."
    assert s.local.device.read()["volume"] == 30
    assert [e["status"] for e in _undo_entries(s)] == ["intent", "failed"]


def test_timers_set_and_cancelled_are_put_back(plain_session):
    s = plain_session
    _plan(s, "set a timer for 10 minutes")
    (timer,) = s.local.timers.read()["timers"]
    assert _plan(s, "take that back").reply == "Okay, I undid it. Took the timer away again."
    assert s.local.timers.read()["timers"] == []
    _plan(s, "set a timer for 10 minutes")
    _plan(s, "cancel all timers")
    assert s.local.timers.read()["timers"] == []
    r = _plan(s, "undo that")
    assert r.reply == "Okay, I undid it. Set the timer again."
    (again,) = s.local.timers.read()["timers"]
    due = [datetime.fromisoformat(t["due"]) for t in (again, timer)]
    assert due[0] > due[1] and again["seconds"] == 600  # the same timer, due when it was


def test_a_removal_is_undone_by_putting_the_item_back(plain_session):
    s = plain_session
    _plan(s, "add flour to the baking list")
    _plan(s, "remove flour from the baking list")
    assert s.local.lists.read()["lists"] == {"baking": []}
    assert _plan(s, "undo").reply == "Okay, I undid it. Put flour back on the baking list."
    assert s.local.lists.read()["lists"] == {"baking": ["flour"]}


def test_a_change_no_tool_can_put_back_is_told_not_undone(plain_session):
    s = plain_session
    s.local.device.update(lambda st: st.update(playing=True))
    _plan(s, "stop")
    assert s.local.device.read()["playing"] is False
    r = _plan(s, "undo that")
    assert r.reply == "I could not undo it. I have no way to undo stop playback."
    assert [e["status"] for e in _undo_entries(s)] == ["blocked"]


@pytest.mark.models
def test_real_turns_undo_the_last_change_without_the_model(cfg, components, tmp_path):
    from pipeline.runtime.session import Twin

    twin = Twin(cfg.model_copy(update={"data_dir": tmp_path}), components)
    asyncio.run(twin.ask("turn the volume up"))
    assert twin.tools.local.device.read()["volume"] == 60
    r = asyncio.run(twin.ask("undo that"))
    assert r.reply == "Okay, I undid it. Set the volume back to 50." and r.timings_ms["llm_total"] is None
    assert twin.tools.local.device.read()["volume"] == 50
    asyncio.run(twin.ask("add oat milk to the shopping list"))
    r = asyncio.run(twin.ask("no, don't add oat milk to the shopping list"))
    assert r.reply == "I had already done it, so I undid it. Took oat milk off the shopping list again."
    assert twin.tools.local.lists.read()["lists"] == {}


def test_a_speaker_the_policy_keeps_from_a_tool_cannot_undo_it(plain_session, monkeypatch):
    from pipeline.acting.permissions import Speaker

    s = plain_session
    _plan(s, "turn it up a bit louder")  # the owner: 50 -> 60
    # a household whose policy keeps guests off the speaker's volume
    policy = s.runner.gate.policy
    monkeypatch.setattr(
        type(policy), "allows", lambda self, who, tool: who.role != "guest" or tool.name != "set_volume"
    )
    r = asyncio.run(s.plan("undo that", Speaker("visitor", "guest")))
    assert r.reply == "I could not undo it. Not allowed: a guest may not change the volume."
    assert s.local.device.read()["volume"] == 60
    assert [e["status"] for e in _undo_entries(s)] == ["blocked"]


class NoteModel:
    """Unit isolation for the planner loop: a model that saves the note the words dictate (the
    words alone do not settle a note)."""

    def choose(self, messages, schema, stop=None) -> str:
        import json

        return json.dumps(
            {"action": "call", "tool": "add_note", "args": {"text": "the plumber comes on Friday"}}
        )


def test_a_note_just_saved_is_taken_away_again_and_no_other(plain_session):
    from pipeline.acting.planner import Planner

    s = plain_session
    s.planner = Planner(NoteModel(), s.registry, s.runner, 3, 5.0)
    s.local.notes.update(lambda st: st["notes"].append({"id": "older", "text": "buy stamps", "at": ""}))
    r = _plan(s, "take a note that the plumber comes on Friday")
    assert [n["text"] for n in s.local.notes.read()["notes"]] == ["buy stamps", "the plumber comes on Friday"]
    r = _plan(s, "no, don't take a note of that")
    assert r.reply == "I had already done it, so I undid it. Took the note away again."
    assert s.local.notes.read()["notes"] == [{"id": "older", "text": "buy stamps", "at": ""}]


def test_a_change_older_than_two_minutes_is_not_undone(plain_session):
    import time

    s = plain_session
    _plan(s, "turn it up a bit louder")  # 50 -> 60
    at, acts = s.planner._last_acts
    s.planner._last_acts = (time.monotonic() - 121, acts)  # as if said 2 minutes and a second ago
    assert _plan(s, "undo that").reply == "I haven't changed anything in the last 2 minutes to undo."
    r = _plan(s, "no, don't turn it up")
    assert r.reply.startswith("Okay, I won't") and s.local.device.read()["volume"] == 60


def test_an_undo_of_a_request_that_changed_nothing_says_so(plain_session):
    s = plain_session
    _plan(s, "add milk to the shopping list")
    _plan(s, "add milk to the shopping list")  # already there: nothing changed
    r = _plan(s, "undo that")
    assert r.reply == "Nothing had changed. Milk is already on the shopping list."
    assert r.outcomes == [] and _undo_entries(s) == []
    assert s.local.lists.read()["lists"] == {"shopping": ["milk"]}
    _plan(s, "unmute")  # it was not muted
    assert _plan(s, "undo that").reply == "Nothing had changed. Unmuted."
    _plan(s, "stop")  # nothing was playing
    assert _plan(s, "undo that").reply == "Nothing had changed. Stopped."


def test_an_undo_leaves_no_list_it_made(plain_session):
    s = plain_session
    _plan(s, "add call the plumber to my todo list")
    assert _plan(s, "undo that").reply == "Okay, I undid it. Took call the plumber off the to-do list again."
    assert s.local.lists.read()["lists"] == {}


def test_a_pause_a_resume_and_time_added_are_put_back(plain_session):
    s = plain_session
    _plan(s, "set a timer for 10 minutes")
    (running,) = s.local.timers.read()["timers"]
    _plan(s, "pause the timer")
    (paused,) = s.local.timers.read()["timers"]
    assert paused["paused"] is True
    assert _plan(s, "undo that").reply == "Okay, I undid it. Put the timer back as it was."
    assert s.local.timers.read()["timers"] == [running]  # running, due when it was
    _plan(s, "pause the timer")
    paused = s.local.timers.read()["timers"]
    _plan(s, "resume the timer")
    assert "paused" not in s.local.timers.read()["timers"][0]
    _plan(s, "undo that")
    assert s.local.timers.read()["timers"] == paused  # paused again, with the time it had left
    _plan(s, "resume the timer")
    before = s.local.timers.read()["timers"]
    _plan(s, "add 5 minutes to the timer")
    assert s.local.timers.read()["timers"][0]["seconds"] == 900
    _plan(s, "take it back")
    assert s.local.timers.read()["timers"] == before


@pytest.mark.models
def test_spoken_undo_through_the_live_loop(cfg, components, synth, tmp_path):
    """Both turns spoken (Twin's own voice, as the live loop hears a stream): the act, then "take
    that back", each ended by the end-of-turn rules and heard by the ASR. (A bare "Undo that." at
    the start of an utterance is heard as "And do that." by tiny.en in most voices: `python -m
    bench.undo --spoken`.)"""
    import numpy as np

    from devices.sinks import BufferSink
    from devices.sources import ClipSource
    from pipeline.runtime.session import Twin
    from voice.audio import SAMPLE_RATE, AudioClip

    twin = Twin(cfg.model_copy(update={"data_dir": tmp_path}), components)
    gap = np.zeros(int(1.5 * SAMPLE_RATE), np.float32)
    lead = np.zeros(int(0.3 * SAMPLE_RATE), np.float32)
    said = [synth("Turn the volume up.").samples, gap, synth("Take that back.").samples, gap]
    clip = AudioClip(np.concatenate([lead, *said]))
    results = asyncio.run(twin.live(ClipSource(clip, realtime=False), BufferSink()))
    assert [r.status for r in results] == ["completed", "completed"], [r.transcript for r in results]
    assert results[0].reply == "Volume set to 60."
    assert results[1].reply == "Okay, I undid it. Set the volume back to 50.", results[1].transcript
    assert twin.tools.local.device.read()["volume"] == 50


@pytest.mark.parametrize(
    "text", ["do that again", "And do it again.", "again", "once more please", "same again"]
)
def test_the_words_that_ask_for_it_again(text):
    from pipeline.acting.planner import asks_again

    assert asks_again(text) and not asks_undo(text)


@pytest.mark.parametrize(
    "text", ["say that again", "could you repeat that", "I won't do that again", "never again"]
)
def test_words_that_ask_for_something_else_again(text):
    from pipeline.acting.planner import asks_again

    assert not asks_again(text)


def test_do_that_again_makes_the_last_change_again(plain_session):
    s = plain_session
    assert _plan(s, "do that again").reply == "I haven't done anything in the last 2 minutes to do again."
    _plan(s, "turn it up a bit louder")  # 50 -> 60
    r = _plan(s, "do that again")  # read as a question by its form, asked plainly all the same
    assert r.reply == "Volume set to 70." and s.local.device.read()["volume"] == 70
    assert _plan(s, "once more").reply == "Volume set to 80."
    assert _plan(s, "undo that").reply == "Okay, I undid it. Set the volume back to 70."
    _plan(s, "add eggs to the shopping list")
    assert _plan(s, "again").reply == "Eggs are already on the shopping list."
    assert s.local.lists.read()["lists"] == {"shopping": ["eggs"]}


def test_an_undo_on_a_damaged_store_says_so_and_leaves_the_file(plain_session, tmp_path):
    s = plain_session
    _plan(s, "add milk to the shopping list")
    path = s.local.lists.path
    path.write_text("{ not json")  # damaged after the act (a disk fault, a hand edit)
    r = _plan(s, "undo that")
    assert r.reply.startswith("I could not undo it.") and "damaged" in r.reply, r.reply
    assert path.read_text() == "{ not json"  # left untouched, for the user to repair
    assert [e["status"] for e in _undo_entries(s)] == ["intent", "error"]
