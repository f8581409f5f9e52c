"""A question never changes state: the speech act is decided from the words (and the voice's final
pitch), not from a transcript's question mark, and every act or sensitive call checks it."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from pipeline.acting.permissions import Provenance, Speaker
from pipeline.acting.planner import Planner
from pipeline.acting.runner import TurnTools
from pipeline.acting.session import ToolSession
from pipeline.acting.speech_act import classify
from pipeline.tools.base import ToolCall

QUESTIONS = [
    # the case: transcribed without its question mark
    "Remind me — what's my name and where am I going",
    "remind me what my daughter is called",
    "could you tell me when my next reminder is",
    "do you know where I parked",
    "what's on my shopping list",
    "is the speaker muted",
    "are there any timers running",
    "the timer is done, right",
    "um so how long is left on the timer",
    "我女儿叫什么名字",
    "提醒我一下我明天要干什么",
]
REQUESTS = [
    "remind me to call mum at six",
    "Remind me tomorrow to water the plants",
    "can you set a timer for five minutes?",
    "Hey Twin, um, add milk to the shopping list",
    "don't let me forget to buy bread",  # was taken for a question ("don't ...")
    "set the volume to 40",
    "would you mind turning it down",
    "send a message to Anna",
    "I want you to cancel all my timers",
    "提醒我明天买牛奶",
    "帮我设一个十分钟的计时器",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_questions_are_questions_whatever_the_punctuation(text):
    act = classify(text)
    assert act.kind == "question" and not act.may_change_state, (text, act)
    assert classify(text + "?").kind == "question"


@pytest.mark.parametrize("text", REQUESTS)
def test_requests_may_change_state(text):
    act = classify(text)
    assert act.kind == "request" and act.may_change_state, (text, act)


def test_statements_chat_and_the_voice_rising_at_the_end():
    assert classify("I need milk").kind == "statement"
    assert classify("thanks!").kind == "chat" and not classify("thanks!").may_change_state
    # a declarative sentence is a question when the voice rises at its end, not when it falls
    assert classify("the alarm is set").kind == "statement"
    assert classify("the alarm is set", final_rise_st=4.0).kind == "question"
    assert classify("the alarm is set", final_rise_st=-3.0).kind == "statement"
    # words outrank the pitch: an instruction said with a rising voice is still an instruction
    assert classify("set an alarm for seven", final_rise_st=5.0).kind == "request"


def _glide(f0_start: float, f0_end: float, seconds: float = 1.6, sr: int = 16000) -> np.ndarray:
    """A voiced glide with harmonics (a sawtooth-like buzz), its pitch moving from start to end over
    the last half: the pitch tracker sees it as a voice."""
    t = np.arange(int(seconds * sr)) / sr
    half = seconds / 2
    f0 = np.where(t < half, f0_start, f0_start + (f0_end - f0_start) * (t - half) / half)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    wave = sum(np.sin(k * phase) / k for k in range(1, 12))
    return (0.2 * wave / np.max(np.abs(wave))).astype(np.float32)


def test_final_rise_is_measured_from_the_pitch_track():
    from voice.clip import AudioClip
    from voice.emotion.prosody import prosody_features

    rising = prosody_features(AudioClip(_glide(120, 190), 16000)).final_rise_st
    falling = prosody_features(AudioClip(_glide(160, 110), 16000)).final_rise_st
    flat = prosody_features(AudioClip(_glide(140, 140), 16000)).final_rise_st
    assert rising > 4 and falling < -3 and abs(flat) < 1, (rising, falling, flat)
    assert np.isnan(prosody_features(AudioClip(np.zeros(16000, np.float32), 16000)).final_rise_st)


@pytest.fixture()
def session(tmp_path, monkeypatch):
    from pipeline.config import load_config

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return ToolSession(load_config(data_dir=tmp_path / "data"))


class ScriptedModel:
    """Unit isolation for the loop: a model that makes the wrong choice the issue saw."""

    def __init__(self, step: dict) -> None:
        self.step = step

    def choose(self, messages, schema, stop=None) -> str:
        return json.dumps(self.step)


def test_the_runner_refuses_a_state_change_for_a_question_and_records_it(session):
    text = "Remind me what's my name and where am I going"
    turn = TurnTools(Speaker("owner", "owner"), Provenance(text), act=classify(text))
    call = ToolCall("add_reminder", {"text": "What's my name?", "time": "18:00"})
    out = asyncio.run(session.runner.run(call, turn))
    assert (out.decision, out.status) == ("denied", "blocked") and "question" in out.summary
    assert session.local.reminders.read()["reminders"] == []
    entries = session.audit.entries()
    assert [(e["tool"], e["status"]) for e in entries] == [("add_reminder", "blocked")]
    # reading is always allowed for a question
    out = asyncio.run(session.runner.run(ToolCall("list_reminders", {}), turn))
    assert out.status == "ok"


def test_the_planner_does_not_act_on_a_question_the_model_took_for_a_command(session):
    bad = {"action": "call", "tool": "add_reminder", "args": {"text": "What's my name?", "time": "18:00"}}
    session.planner = Planner(ScriptedModel(bad), session.registry, session.runner, 3, 5.0)
    r = asyncio.run(session.plan("Remind me — what's my name and where am I going"))
    assert not r.acted and session.local.reminders.read()["reminders"] == []
    assert any("asked a question" in n for n in r.notes)
    # the same kind of choice for a real request does run
    good = {"action": "call", "tool": "add_reminder", "args": {"text": "call mum", "time": "18:00"}}
    session.planner = Planner(ScriptedModel(good), session.registry, session.runner, 3, 5.0)
    r = asyncio.run(session.plan("remind me to call mum at 18:00"))
    assert [o.tool for o in r.outcomes if o.done] == ["add_reminder"]


@pytest.mark.models
def test_real_turn_a_question_without_its_mark_sets_no_reminder(cfg, components, tmp_path):
    from pipeline.runtime.session import Twin

    twin = Twin(cfg.model_copy(update={"data_dir": tmp_path}), components)
    result = asyncio.run(twin.ask("Remind me, what's my name and where am I going"))
    assert result.status == "completed" and result.reply
    assert twin.tools.local.reminders.read()["reminders"] == []
    session = twin.tools.session
    if session is not None:  # whatever the model chose, nothing that changes state ran
        assert all(e["tier"] == "read" or e["status"] != "ok" for e in session.audit.entries())
