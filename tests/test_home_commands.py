"""A brain that knows its limits (issue #11): a request to control or query a thing no tool
declares (a light, a lock, the heating, music to play) gets an honest answer and changes nothing;
an act tool runs only for what it declares; a live state is never made up; a timer's length is
read as a person says it and said back the same way.

The phrasings here are written for these tests (none is taken from the recordings the lead's run
reports); the real-session cases run typed turns through the real Twin on the real models."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import steady_clock

from pipeline.acting.quantities import with_digits
from pipeline.acting.reach import ask, covers, out_of_reach
from pipeline.acting.routing import route
from pipeline.conversation.honesty import cannot_check, live_topic
from pipeline.tools.base import Tier, Tool, ToolRegistry, ToolResult
from pipeline.tools.errors import ToolError
from pipeline.tools.families.clock import (
    _duration,
    plain_alarm,
    plain_cancel,
    plain_duration,
    plain_more_time,
    plain_pause,
    plain_reminder,
    plain_resume,
)
from pipeline.tools.family import catalog
from pipeline.tools.local import LocalTools


@pytest.fixture(scope="module")
def registry():
    return LocalTools(Path(tempfile.mkdtemp())).registry()


@pytest.mark.parametrize(
    ("said", "verb", "obj"),
    [
        ("could you switch the hallway lamp off", "switch off", "the hallway lamp"),
        ("unlock the back door please", "unlock", "the back door"),
        ("put on some jazz", "put on", "some jazz"),
        ("dim the living room lights to 20 percent", "dim", "the living room lights"),
        ("start the washing machine", "start", "the washing machine"),
        ("turn the heating up", "turn up", "the heating"),
        ("make the bedside lamp dimmer", "make", "the bedside lamp"),  # said: "...lamp dimmer from here"
    ],
)
def test_a_thing_no_tool_declares_is_out_of_reach(said, verb, obj):
    a = out_of_reach(said, catalog())
    assert a is not None and (a.kind, a.verb, a.obj) == ("control", verb, obj), a
    assert (
        a.sentence
        == f"I can't {verb} {obj}{' ' + a.after if a.after else ''} from here: none of my tools can do that."
    )
    assert live_topic(said) is not None and cannot_check(live_topic(said)) == a.sentence


@pytest.mark.parametrize(
    ("said", "noun"),
    [
        ("is the garage door open", "whether the garage door is open"),
        ("are the kitchen lights still on", "whether the kitchen lights are on"),
        ("did I leave the iron on", "whether the iron is on"),
        ("can you check whether the side gate is locked", "whether the side gate is locked"),
        ("what's the thermostat set to", "what the thermostat is set to"),
    ],
)
def test_a_state_no_tool_can_read_is_never_guessed(said, noun):
    topic = live_topic(said)
    assert topic is not None and topic.noun == noun
    assert cannot_check(topic).startswith(f"I can't check {noun} from here, and I won't guess.")


@pytest.mark.parametrize(
    "said",
    [
        "turn it up a bit",  # a pronoun: the conversation's, never blocked
        "set a countdown for twelve minutes",
        "set an alarm for half past six",
        "stop the music",
        "is the timer still running",
        "remind me to shut the back door at nine",  # the thing is inside the reminder's text
        "add light bulbs to the shopping list",
        "play a word game with me",
        "what temperature does butter melt at",  # general knowledge, not a live reading
    ],
)
def test_what_twins_own_tools_cover_is_not_blocked(said):
    assert out_of_reach(said, catalog()) is None
    topic = live_topic(said)
    assert topic is None or topic.name not in ("home", "temperature"), topic


@pytest.mark.parametrize(
    "said",
    [
        "start a story about a lighthouse keeper",
        "lower your voice a little",
        "play the part of a detective",
        "change the subject",
        "set a goal for me this week",
        "make me a cup of tea",
    ],
)
def test_the_conversations_own_requests_keep_their_reply(said, registry):
    """Routing offers them no tool that does not declare their object, but the honest "I can't"
    is only for a thing one controls, a device's verb, or something to play: the model answers."""
    assert live_topic(said) is None
    assert route(said, registry) == []


def test_temperature_is_a_live_fact():
    for said in ("what's the temperature right now", "how warm is it in the bedroom"):
        topic = live_topic(said)
        assert topic is not None and topic.name == "temperature", said


def test_an_act_tool_near_by_meaning_is_never_offered_for_another_thing(registry, components):
    """The meaning index finds the volume near a light's brightness and a list removal near a
    lock: what the tools declare keeps both out."""
    index = components.tool_index
    for said in (
        "make the desk lamp brighter, 80 percent",
        "lock up the shed",
        "play some Miles Davis",
        "switch on movie mode",
        "turn off the landing light in ten minutes",
    ):
        assert route(said, registry, index) == [], said
    # and what they do declare still reaches them
    assert route("turn the music down a little", registry, index) == ["set_volume"]
    assert "set_timer" in route("set a countdown for twelve minutes", registry, index)
    both = route("turn on the porch light and set a timer for ten minutes", registry, index)
    assert both == ["set_timer"]


def test_a_third_party_tool_that_declares_the_thing_covers_it(registry):
    lights = Tool(
        "home__set_light",
        "Turn a light on or off, or set its brightness",
        Tier.ACT,
        {"name": {"type": "string"}, "brightness": {"type": "integer"}},
        lambda a: ToolResult(True, "ok"),
        source="mcp:home",
    )
    a = ask("dim the hallway light")
    assert a is not None and not covers(registry.get("set_volume"), a)
    assert not covers(lights, a)  # "dim" is a specific verb it does not declare
    assert covers(lights, ask("switch off the hallway light"))
    reg = ToolRegistry([*registry, lights])
    assert route("switch off the hallway light", reg) == ["home__set_light"]
    assert out_of_reach("switch off the hallway light", reg) is None


@pytest.mark.parametrize(
    ("said", "args", "spoken"),
    [
        ("set a timer for two hours and fifteen minutes", {"minutes": 135}, "2 hours 15 minutes"),
        ("start a countdown for an hour and a half", {"minutes": 90}, "1 hour 30 minutes"),
        ("set a timer for half an hour", {"minutes": 30}, "30 minutes"),
        ("timer for four minutes thirty seconds", {"minutes": 4, "seconds": 30}, "4 minutes 30 seconds"),
        ("set an egg timer for 6 minutes", {"minutes": 6, "label": "egg"}, "6 minutes"),
    ],
)
def test_a_timer_length_is_read_and_said_as_a_person_does(said, args, spoken):
    assert plain_duration(with_digits(said)) == args
    secs = args["minutes"] * 60 + args.get("seconds", 0)
    assert _duration(secs) == spoken


def test_timer_readers_leave_other_requests_alone():
    for said in (
        "send a note to Sam and then set a timer for 5 minutes",  # the timer is not the first clause
        "remind me in 10 minutes to stir the soup",
        "the rice takes 12 minutes",
        "add 5 minutes to the timer",
        "set a timer for the bread",  # no length said: the model asks or fills it in
    ):
        assert plain_duration(with_digits(said)) is None, said
    assert plain_cancel("please clear all my timers") == {"label": ""}
    assert plain_cancel("cancel the bread timer") == {"label": "bread"}  # named by one word
    assert plain_pause("Pause the timer.") == plain_pause("please hold all my timers") == {"label": ""}
    assert plain_pause("pause the pasta timer") == {"label": "pasta"}
    assert plain_resume("resume the timer") == plain_resume("unpause my timers") == {"label": ""}
    assert plain_resume("resume the kitchen timer") == {"label": ""}  # a kitchen's timer is any timer
    for said in ("pause the big red timer", "pause", "restart the timer", "pause the music"):
        assert plain_pause(said) is None and plain_resume(said) is None, said  # the model's to read
    # a bare "resume" reaches the timers alone (no tool of Twin's plays music): every paused one
    assert plain_resume("Resume.") == plain_resume("please unpause") == {"label": ""}


@pytest.mark.parametrize(
    ("said", "args"),
    [
        ("remind me to feed the fish at eight pm", {"text": "feed the fish", "time": "8:00 pm"}),
        (
            "Remind me in fifteen minutes to take the bread out.",
            {"text": "take the bread out", "time": "in 15 minutes"},
        ),
        (
            "please remind me to stretch in an hour and a half",
            {"text": "stretch", "time": "in an hour and a half"},
        ),
        ("remind me at 6 to ring the garage", {"text": "ring the garage", "time": "6"}),
        ("remind me to put the bins out at 19:45", {"text": "put the bins out", "time": "19:45"}),
        ("remind me to check on the roast at 7 tonight", {"text": "check on the roast", "time": "7:00 pm"}),
        (
            "remind me to open the windows at 8 in the morning",
            {"text": "open the windows", "time": "8:00 am"},
        ),
        ("remind me about the vet at 4 p.m.", {"text": "the vet", "time": "4:00 pm"}),
        ("remind me to switch on the heater at noon", {"text": "switch on the heater", "time": "12:00"}),
        (
            "remind me to take my vitamins every morning at 7 am",
            {"text": "take my vitamins", "time": "7:00 am", "repeat": "daily"},
        ),
        (
            "remind me every week at 10 am to water the ferns",
            {"text": "water the ferns", "time": "10:00 am", "repeat": "weekly"},
        ),
        ("remind me to meet Jo at the library at 3", {"text": "meet Jo at the library", "time": "3"}),
    ],
)
def test_a_reminder_is_read_as_said(said, args):
    assert plain_reminder(with_digits(said)) == args


def test_the_reminder_reader_leaves_days_dates_and_unclear_times_to_the_model():
    for said in (
        "remind me to call the bank tomorrow at 9 am",  # a day: the tool keeps a time of day only
        "remind me on Friday at 5 pm to pay the window cleaner",
        "remind me to pay the rent in 3 days",
        "remind me to ring Liz at 5:30",  # morning or evening?
        "remind me to ring Liz at half past 5",
        "remind me to ring Liz",  # no time
        "remind me to buy stamps at the post office",
        "set a timer for 5 minutes",
    ):
        assert plain_reminder(with_digits(said)) is None, said


def test_a_reminder_time_is_the_next_one_meant(tmp_path):
    """An hour said alone is the next such hour, morning or evening; "in N minutes" counts from now to
    the next whole minute; a padded hour is the morning's; beyond a day is refused with a hint."""
    from datetime import datetime

    from pipeline.tools.errors import ToolArgumentError

    clock = {"now": datetime(2026, 1, 5, 14, 10, 30)}
    local = LocalTools(tmp_path, now=lambda: clock["now"])

    def at(time: str) -> str:
        return local.add_reminder({"text": "x", "time": time}).data["time"]

    assert [at("5"), at("2"), at("12"), at("05"), at("05:00"), at("9pm")] == [
        "17:00",
        "02:00",
        "00:00",
        "05:00",
        "05:00",
        "21:00",
    ]
    assert [at("in 20 minutes"), at("in an hour and a half"), at("in 30 seconds")] == [
        "14:31",
        "15:41",
        "14:11",
    ]
    clock["now"] = datetime(2026, 1, 5, 3, 0, 0)
    assert at("5") == "05:00"
    for bad in ("in 25 hours", "in 2 days", "in a while"):
        with pytest.raises(ToolArgumentError):
            at(bad)


def test_added_time_and_alarms_are_read_as_said():
    assert plain_more_time(with_digits("add five minutes to the timer")) == {"minutes": 5, "label": ""}
    assert plain_more_time("add 2 minutes and 30 seconds to the rice timer") == {
        "minutes": 2,
        "seconds": 30,
        "label": "rice",
    }
    assert plain_more_time("add some time to the timer") is None  # no length said: the model asks
    assert plain_alarm("set an alarm for 6:45 am") == {"time": "6:45 am"}
    assert plain_alarm(with_digits("wake me up at seven in the morning")) == {"time": "7:00 am"}
    assert plain_alarm("Set an alarm for 06:30.") == {"time": "06:30"}
    for said in ("set an alarm for 7", "set an alarm for 7 tomorrow", "wake me up in 20 minutes"):
        assert plain_alarm(said) is None, said  # morning or evening? a day? a timer's length?


def test_a_timer_with_hours_rings_when_it_says(tmp_path):
    from datetime import datetime

    now = datetime(2026, 1, 5, 9, 0, 0)
    local = LocalTools(tmp_path, now=lambda: now)
    out = local.set_timer({"hours": 1, "minutes": 5})
    assert out.ok and out.summary == "timer set for 1 hour 5 minutes (rings at 10:05:00)", out.summary
    assert local.cancel_timer({}).summary == "cancelled 1 timer"


def test_an_act_call_keeps_only_the_numbers_the_user_said():
    from pipeline.acting.grounding import ground
    from pipeline.acting.permissions import Provenance

    timer = next(t for t in catalog() if t.name == "set_timer")
    said = "switch the fan off and start a timer for seven minutes"
    args, why, note = ground(timer, {"hours": 1, "minutes": 7}, Provenance(said))
    assert (args, why) == ({"minutes": 7}, None) and "hours" in note
    # an hour said as "an hour", a half as "half": both are the user's
    for said, args in (
        ("set a timer for an hour and five minutes", {"hours": 1, "minutes": 5}),
        ("timer for half an hour", {"minutes": 30}),
    ):
        assert ground(timer, args, Provenance(said))[0] == args
    # no length said at all ("resume the timer" heard as "Resin the timer."): the small model's
    # minutes=10 is not the user's, and the tool says what it needs
    for said in ("Resin the timer.", "set a timer"):
        args, why, note = ground(timer, {"minutes": 10}, Provenance(said))
        assert (args, why, note) == ({}, None, "dropped minutes: not said"), said
    with pytest.raises(ToolError, match="needs a length"):
        LocalTools(Path(tempfile.mkdtemp())).set_timer(args)
    # a reader's own reading of the words keeps its numbers ("turn the volume up": up by 10)
    volume = next(t for t in catalog() if t.name == "set_volume")
    said = Provenance("turn the volume up")
    assert ground(volume, {"change": 10}, said, read=True)[0] == {"change": 10}


# -- real turns through the real session ----------------------------------------------------------


@pytest.fixture(scope="module")
def twin(cfg, components, tmp_path_factory):
    from pipeline.runtime.session import Twin

    return Twin(
        cfg.model_copy(update={"data_dir": tmp_path_factory.mktemp("home")}), components, clock=steady_clock
    )


def _turn(twin, said: str):
    session = twin.tools.session
    seen = len(session.audit.entries()) if session is not None else 0
    state = _state(twin)
    result = asyncio.run(twin.ask(said))
    session = twin.tools.session
    ran = [e for e in (session.audit.entries()[seen:] if session else []) if e.get("phase") != "intent"]
    return result, ran, state != _state(twin)


def _state(twin) -> str:
    folder = twin.cfg.data_path / "tools"
    files = sorted(folder.glob("*.json")) if folder.exists() else []
    return json.dumps({f.name: f.read_text() for f in files})


@pytest.mark.models
@pytest.mark.parametrize(
    ("said", "reply"),
    [
        ("bedroom lamp to 30 percent brightness", "I can't control bedroom lamp from here"),  # no verb
        ("set the reading light brightness to 40", "I can't set the reading light brightness from here"),
        ("lock the garage door", "I can't lock the garage door from here"),
        ("play something by Nina Simone", "I can't play something from here"),
        ("is the back door locked", "I can't check whether the back door is locked from here"),
        ("what's the temperature in the kitchen", "I can't check the temperature from here"),
    ],
)
def test_out_of_reach_requests_change_nothing_and_say_so(twin, said, reply):
    result, ran, changed = _turn(twin, said)
    assert not changed and not [e for e in ran if e.get("status") == "ok" and e.get("tier") != "read"], ran
    if reply is not None:
        assert result.reply.startswith(reply), result.reply


@pytest.mark.models
def test_timers_by_voice_run_the_right_tool_with_the_right_length(twin):
    result, ran, _ = _turn(twin, "set a timer for one hour and twenty minutes")
    assert [(e["tool"], e["args"], e["status"]) for e in ran] == [("set_timer", {"minutes": 80}, "ok")]
    assert result.reply.startswith("Timer set for 1 hour 20 minutes"), result.reply
    result, ran, _ = _turn(twin, "please cancel all the timers")
    assert [(e["tool"], e["status"]) for e in ran] == [("cancel_timer", "ok")]
    assert result.reply.startswith("Cancelled 1 timer"), result.reply
    # the part no tool reaches is said, the part one does is done (by the model: no plain words)
    result, ran, _ = _turn(twin, "switch the fan off and then start a timer for seven minutes")
    assert [(e["tool"], e["args"].get("minutes"), e["args"].get("hours")) for e in ran] == [
        ("set_timer", 7, None)
    ], ran
    assert result.reply.startswith("Timer set for 7 minutes"), result.reply
    assert result.reply.endswith("I can't switch off the fan from here: none of my tools can do that.")


@pytest.mark.models
def test_pausing_and_resuming_the_timer_needs_no_model(twin, monkeypatch):
    """ "Pause the timer" and "resume the timer" state every argument: read plainly, as "cancel all the
    timers" is, not planned by the model (2.3-4.3 s a call on a slow 2-core machine)."""
    _turn(twin, "set a timer for 5 minutes")
    planner = twin.tools.session.planner

    async def no_model(*args, **kwargs):
        raise AssertionError("the planner's model was asked")

    monkeypatch.setattr(planner, "_choose", no_model)
    result, ran, changed = _turn(twin, "pause the timer")
    assert [(e["tool"], e["args"], e["status"]) for e in ran] == [("pause_timer", {"label": ""}, "ok")]
    assert changed and "paused" in result.reply.lower(), result.reply
    result, ran, changed = _turn(twin, "resume the timer")
    assert [(e["tool"], e["status"]) for e in ran] == [("resume_timer", "ok")]
    assert changed and "running again" in result.reply.lower(), result.reply
    _turn(twin, "pause the timer")
    result, ran, changed = _turn(twin, "Resume.")  # bare: the timers' (no tool of Twin's plays music)
    assert [(e["tool"], e["status"]) for e in ran] == [("resume_timer", "ok")] and changed, ran
    result, ran, _ = _turn(twin, "Pause.")  # bare: what is playing (the speaker's stop), not the timer
    assert [(e["tool"], e["status"]) for e in ran] == [("stop", "ok")] and result.reply == "Stopped.", ran
    _turn(twin, "cancel all the timers")


@pytest.mark.models
def test_named_timers_added_time_and_alarms_need_no_model(twin, monkeypatch):
    """A timer named by one word, time added to it, and an alarm at a stated time are read plainly:
    the planner's model (2.3-4.3 s a call on a slow 2-core machine) is never asked."""
    _turn(twin, "cancel all the timers")  # the tool session starts with a first tool turn
    planner = twin.tools.session.planner

    async def no_model(*args, **kwargs):
        raise AssertionError("the planner's model was asked")

    monkeypatch.setattr(planner, "_choose", no_model)
    steps = [
        ("set an egg timer for 3 minutes", "set_timer"),
        ("add two minutes to the egg timer", "add_time_to_timer"),
        ("pause the egg timer", "pause_timer"),
        ("set an alarm for 6:45 am", "set_alarm"),
    ]
    for said, tool in steps:
        _, ran, changed = _turn(twin, said)
        assert [(e["tool"], e["status"]) for e in ran] == [(tool, "ok")] and changed, (said, ran)
    timers = {t["label"]: t for t in twin.tools.local.timers.read()["timers"]}
    assert timers["egg"]["paused"] and round(timers["egg"]["left"]) in range(295, 301), timers
    assert timers["alarm"]["due"][11:16] == "06:45", timers
    _turn(twin, "cancel all the timers and alarms")
    assert twin.tools.local.timers.read()["timers"] == []


@pytest.mark.models
def test_a_reminder_said_plainly_needs_no_model(twin, monkeypatch):
    """ "Remind me to ... at 6 pm every day" states every argument: set without the planner's model
    (2.3-4.3 s a call on a slow 2-core machine), and said back as set."""
    _turn(twin, "which reminders are set?")  # the tool session starts with a first tool turn
    planner = twin.tools.session.planner

    async def no_model(*args, **kwargs):
        raise AssertionError("the planner's model was asked")

    monkeypatch.setattr(planner, "_choose", no_model)
    result, ran, changed = _turn(twin, "remind me to water the tomatoes at six pm every day")
    assert [(e["tool"], e["args"], e["status"]) for e in ran] == [
        ("add_reminder", {"text": "water the tomatoes", "time": "6:00 pm", "repeat": "daily"}, "ok")
    ]
    said_back = "I'll remind you at six p.m. every day: water the tomatoes."
    assert changed and result.reply == said_back, result.reply


@pytest.mark.models
def test_a_read_the_words_settle_is_planned_before_the_turn_has_ended(twin):
    """During the pause, before the end of the turn is decided: "what time is it" and "which
    reminders are set" change nothing and need no model, so they are planned (and their answers
    worded) at once; an act, or a read the model must fill in, waits for the end."""
    from pipeline.conversation.hearing import SpeakerIdentity
    from pipeline.events import Utterance
    from pipeline.runtime.asking import TurnVoice
    from pipeline.runtime.endpointing import Endpoint
    from pipeline.runtime.turn import TurnRecorder
    from voice.audio import AudioClip

    def turn() -> TurnVoice:
        return TurnVoice(TurnRecorder(1, "voice"), None, SpeakerIdentity(), voiced=True)

    async def planned_before_the_end(said: str, wait_s: float = 5.0) -> bool:
        endpoint = Endpoint()
        task = asyncio.ensure_future(twin.tools.plan(said, endpoint, turn()))
        done, _ = await asyncio.wait([task], timeout=wait_s)
        clip = AudioClip(np.zeros(1600, np.float32))
        endpoint.confirm(Utterance(audio=clip, start=0.0, end=0.1, speech_end_t=0.0, endpoint_t=0.0))
        result = await task
        assert result is not None and result.outcomes, said
        return bool(done)

    _turn(twin, "cancel all the timers")
    assert asyncio.run(planned_before_the_end("What time is it?"))
    assert asyncio.run(planned_before_the_end("which reminders are set"))
    assert not asyncio.run(planned_before_the_end("set a timer for 3 minutes", 1.5))
    assert twin.tools.local.timers.read()["timers"]  # set once the turn had ended
    _turn(twin, "cancel all the timers")


def test_the_clock_says_what_was_asked(tmp_path):
    from datetime import datetime

    from pipeline.tools.families.clock import plain_clock_part

    local = LocalTools(tmp_path, now=lambda: datetime(2026, 3, 2, 9, 5))
    said = {t: local.get_time(plain_clock_part(t)).summary for t in ("what time is it", "what's the date")}
    assert said == {"what time is it": "it is 09:05", "what's the date": "today is Monday, 2 March 2026"}
    assert local.get_time({}).summary == "it is 09:05 on Monday, 2 March 2026"  # both, when unclear
    assert plain_clock_part("what's the time and date") == {"part": "both"}
    assert plain_clock_part("what day is it") == {"part": "date"}


def test_the_time_somewhere_else_is_that_places_or_honestly_not_known(tmp_path):
    """'What time is it in Tokyo?' was answered with the time here, as if it were Tokyo's. Now a
    city the tz database names gets its own time; any other place is said not to be known."""
    from datetime import UTC, datetime

    from pipeline.tools.errors import ToolArgumentError
    from pipeline.tools.families.clock import plain_clock_part

    local = LocalTools(tmp_path, now=lambda: datetime(2026, 3, 2, 9, 5, tzinfo=UTC))
    asked = plain_clock_part("What time is it in Tokyo?")
    assert asked == {"part": "time", "place": "Tokyo"}
    assert local.get_time(asked).summary == "in Tokyo it is 18:05"
    new_york = plain_clock_part("what's the date in new york right now")
    assert new_york == {"part": "date", "place": "new york"}
    assert local.get_time(new_york).summary == "in New York it is Monday, 2 March 2026"
    assert plain_clock_part("what time is it in the morning") == {"part": "time"}
    with pytest.raises(ToolArgumentError) as err:
        local.get_time({"part": "time", "place": "Osaka"})
    assert "which time zone Osaka is in" in err.value.message


# -- beyond Twin's own tools, beyond first place, beyond English (tests/test_reach_more.py) ----------


@pytest.mark.models
def test_a_second_place_request_out_of_reach_is_said_in_a_real_turn(twin):
    result, ran, _ = _turn(twin, "set a timer for 4 minutes and turn on the porch light")
    assert [(e["tool"], e["status"]) for e in ran] == [("set_timer", "ok")], ran
    assert result.reply.startswith("Timer set for 4 minutes"), result.reply
    assert result.reply.endswith("I can't turn on the porch light from here: none of my tools can do that.")
    result, ran, _ = _turn(twin, "please cancel all the timers")
    assert [(e["tool"], e["status"]) for e in ran] == [("cancel_timer", "ok")]


@pytest.mark.models
@pytest.mark.parametrize(
    ("said", "reply"),
    [
        ("帮我把客厅的空调打开", "我在这里没办法打开客厅的空调：我的工具都做不到。"),
        ("阳台的门锁了吗", "我在这里查不到阳台的门是不是锁上了，也不会乱猜。"),
    ],
)
def test_a_chinese_request_out_of_reach_is_answered_in_chinese(twin, said, reply):
    result, ran, changed = _turn(twin, said)
    assert not changed and not [e for e in ran if e.get("status") == "ok"], ran
    assert result.reply == reply, result.reply


@pytest.mark.models
def test_an_mcp_tool_that_declares_the_thing_gets_the_request_not_an_i_cant(cfg, components, tmp_path):
    """A real Twin with a real MCP server (tests/mcp_servers/home_server.py) whose light tool says
    so in its description: "switch on the kitchen light" goes to the planner with that tool, and
    Twin never says it cannot; a later clause the server covers is planned on its own; what the
    server does not declare still gets the honest answer, and what the model called no tool for is
    said not to be done, never claimed."""
    import sys

    from pipeline.config import McpServerConfig
    from pipeline.runtime.session import Twin

    server = [sys.executable, str(Path(__file__).parent / "mcp_servers" / "home_server.py")]
    conf = McpServerConfig(command=server, allow=["set_light", "power", "curtains"], tier="act", timeout_s=10)
    tools = cfg.tools.model_copy(update={"mcp": {"home": conf}})
    twin = Twin(cfg.model_copy(update={"data_dir": tmp_path, "tools": tools}), components, clock=steady_clock)
    result, ran, _ = _turn(twin, "switch on the kitchen light")
    assert "I can't" not in result.reply, result.reply
    assert [e["tool"] for e in ran] == ["home__set_light"], ran
    result, ran, _ = _turn(twin, "set a timer for 2 minutes and close the curtains")
    assert [(e["tool"], e["status"]) for e in ran] == [("set_timer", "ok"), ("home__curtains", "ok")], ran
    assert result.reply.startswith("Timer set for 2 minutes"), result.reply
    result, ran, _ = _turn(twin, "lock the garage door")
    assert result.reply.startswith("I can't lock the garage door from here"), result.reply
    assert ran == []
    result, ran, _ = _turn(twin, "拉上窗帘")
    done = [e for e in ran if e["tool"] == "home__curtains" and e["status"] == "ok"]
    assert done or result.reply == "我没有拉上窗帘：我没弄清该用哪个工具。", (result.reply, ran)


def test_contractions_typed_without_an_apostrophe_get_it_back():
    from pipeline.conversation.typed_text import restore_apostrophes

    assert restore_apostrophes("Whats the date in London") == "What's the date in London"
    assert restore_apostrophes("im out of milk, dont forget") == "i'm out of milk, don't forget"
    # English words without the apostrophe stay as typed
    assert restore_apostrophes("its well, we were ill") == "its well, we were ill"


@pytest.mark.models
def test_a_typed_whats_reaches_the_clock_as_a_spoken_one_does(twin):
    """ "whats the time in Tokyo" typed went to the reply model (the clock's cue expects "what's"),
    which guessed a date; now it is read as the spoken words are."""
    result, ran, changed = _turn(twin, "whats the time in Tokyo")
    assert [e["tool"] for e in ran] == ["get_time"], ran
    assert result.reply.startswith("In Tokyo it is"), result.reply
    assert not changed
