"""Words that name a tool's business but ask for nothing to be done never change anything: a
refusal ("no, don't turn the volume up") is answered at once and acts on nothing; a report ("my
neighbour turned the volume up all night", "the song says turn it up") and a comparison ("louder
than words") settle no call; a request for something made up ("a story about the timers") is the
reply model's. Needs said as needs ("it's far too loud", "we need eggs") still act."""

from __future__ import annotations

import asyncio
import json

import pytest

from pipeline.acting.permissions import Provenance, Speaker
from pipeline.acting.plain_reading import PlainReading
from pipeline.acting.planner import Planner
from pipeline.acting.runner import TurnTools
from pipeline.acting.speech_act import classify, refused
from pipeline.tools.base import ToolCall

REFUSALS = [
    "no, don't turn the volume up",
    "don't set a timer",
    "please don't remind me about the dentist",
    "nope, do not add milk to the shopping list",
    "never play that song again",
]
REPORTS = [
    "my neighbour turned the volume up all night",
    "the song says turn it up",
    "my brother is always on mute in meetings",
    "she turned the volume down on her feelings",
    "the kids muted the TV again",
]
STILL_ASKED = {  # text -> its kind: none of these is a refusal or a report
    "don't let me forget to buy bread": "request",
    "don't forget to call mum": "request",
    "don't you think it's late": "question",
    "don't set a timer, set an alarm for 7": "request",
    "my sister called, set a timer for 5 minutes": "statement",
    "we need eggs": "statement",
    "I can't hear it from the kitchen": "statement",
    "the washing up liquid is nearly finished": "statement",
}


@pytest.mark.parametrize("text", REFUSALS)
def test_a_refusal_is_its_own_kind_and_changes_nothing(text):
    act = classify(text)
    assert act.kind == "refusal" and act.asks_nothing_done and not act.may_change_state, act
    assert not act.asks


@pytest.mark.parametrize("text", REPORTS)
def test_a_report_is_its_own_kind_and_changes_nothing(text):
    act = classify(text)
    assert act.kind == "report" and act.asks_nothing_done and not act.may_change_state, act


@pytest.mark.parametrize("text", sorted(STILL_ASKED))
def test_requests_and_needs_that_look_alike_keep_their_kind(text):
    assert classify(text).kind == STILL_ASKED[text]


def test_what_a_refusal_asks_not_to_do_is_said_back_to_the_user():
    assert refused("no, don't remind me about my dentist") == "remind you about your dentist"
    assert refused("please do not turn the volume up.") == "turn the volume up"
    assert refused("turn the volume up") == ""


@pytest.fixture()
def reading(tmp_path):
    from pipeline.config import ensure_data_dir, load_config
    from pipeline.tools.local import LocalTools

    cfg = load_config(data_dir=tmp_path)
    ensure_data_dir(cfg.data_path)
    return PlainReading(LocalTools(cfg.data_path).registry(), None)


def test_the_words_alone_settle_no_call_for_what_asks_nothing(reading):
    # each of these was a call by words alone before: the volume up, mute, the timers read
    for text in [*REFUSALS, *REPORTS, "louder than words is a good song", "tell me a story about the timers"]:
        assert reading.call(text) is None, text
        assert reading.candidates(text) == ((), False), text
    # needs said as needs, and orders, still settle theirs
    assert json.loads(reading.call("it's far too loud") or "{}")["tool"] == "set_volume"
    assert json.loads(reading.call("quiet please, the baby is sleeping") or "{}")["tool"] == "mute"
    assert json.loads(reading.call("we need eggs") or "{}")["args"]["item"] == "eggs"
    assert json.loads(reading.call("turn it up a bit louder") or "{}")["args"] == {"change": 10}


class ActingModel:
    """Unit isolation for the planner loop: a model that would turn the volume up whenever asked,
    as the words alone used to; it counts how often it was asked."""

    def __init__(self) -> None:
        self.calls = 0

    def choose(self, messages, schema, stop=None) -> str:
        self.calls += 1
        return json.dumps({"action": "call", "tool": "set_volume", "args": {"change": 10}})


@pytest.fixture()
def session(plain_session):
    plain_session.planner = Planner(ActingModel(), plain_session.registry, plain_session.runner, 3, 5.0)
    return plain_session


def _plan(session, text):
    return asyncio.run(session.plan(text))


def test_a_refusal_is_answered_at_once_and_nothing_runs(session):
    r = _plan(session, "no, don't turn the volume up")
    assert r.reply == "Okay, I won't turn the volume up." and r.outcomes == []
    r = _plan(session, "please don't remind me about my dentist appointment")
    assert r.reply == "Okay, I won't remind you about your dentist appointment."
    assert session.planner.model.calls == 0 and session.audit.entries() == []
    assert session.local.device.read()["volume"] == 50
    assert session.local.reminders.read()["reminders"] == []
    # a refusal about nothing a tool does is the reply model's ("don't be silly" is no refusal at all)
    r = _plan(session, "don't eat the cake")
    assert r.reply is None and r.outcomes == []


def test_a_refusal_just_after_the_deed_is_told_it_was_done(session):
    _plan(session, "add milk to the shopping list")
    assert session.local.lists.read()["lists"] == {"shopping": ["milk"]}
    r = _plan(session, "no, don't add milk to the shopping list")
    # put back and said (tests/test_undo.py), never silently
    assert r.reply == "I had already done it, so I undid it. Took milk off the shopping list again."
    assert session.local.lists.read()["lists"] == {}
    # a refusal about another tool is a plain refusal
    assert _plan(session, "don't set a timer").reply == "Okay, I won't set a timer."


def test_a_report_plans_nothing_and_a_later_clause_still_asks(session):
    for text in REPORTS:
        r = _plan(session, text)
        assert r.outcomes == [] and r.reply is None, text  # the reply model answers
    assert session.planner.model.calls == 0 and session.local.device.read()["volume"] == 50
    r = _plan(session, "don't set a timer, set an alarm for 7 am")
    assert [o.tool for o in r.outcomes if o.done] == ["set_alarm"]
    assert [t["kind"] for t in session.local.timers.read()["timers"]] == ["alarm"]  # and no timer


def test_the_runner_blocks_an_act_for_words_that_ask_nothing(session):
    text = "my neighbour turned the volume up all night"
    turn = TurnTools(Speaker("owner", "owner"), Provenance(text), act=classify(text))
    out = asyncio.run(session.runner.run(ToolCall("set_volume", {"change": 10}), turn))
    assert (out.decision, out.status) == ("denied", "blocked") and out.reasons == ("nothing_asked",)
    assert session.local.device.read()["volume"] == 50


@pytest.mark.models
def test_real_turns_a_refusal_and_a_report_change_nothing(cfg, components, tmp_path):
    from pipeline.runtime.session import Twin

    twin = Twin(cfg.model_copy(update={"data_dir": tmp_path}), components)
    refusal = asyncio.run(twin.ask("no, don't turn the volume up"))
    assert refusal.reply == "Okay, I won't turn the volume up."
    report = asyncio.run(twin.ask("my neighbour turned the volume up all night"))
    assert report.status == "completed" and report.reply
    assert twin.tools.local.device.read()["volume"] == 50
    session = twin.tools.session
    assert session is None or all(e["tier"] == "read" for e in session.audit.entries())
