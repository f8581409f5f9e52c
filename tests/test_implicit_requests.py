"""Requests that name no tool word (issue #11): number words read as digits, arguments read from
plain words without the model, tools' declarations in the user's terms, topics an object implies.
The routing cases are the DEV split's `IMPLICIT` kinds (bench/understanding_cases.py), never TEST's;
the planner cases run a scripted fake model only to prove the model was not needed (calls == 0)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest

from bench.understanding_cases import IMPLICIT
from pipeline.acting.quantities import with_digits
from pipeline.acting.routing import implied_words, might_need_tools, route
from pipeline.acting.session import ToolSession
from pipeline.tools.calc import convert
from pipeline.tools.errors import ToolArgumentError
from pipeline.tools.families.device import plain_mute, plain_stop, plain_volume
from pipeline.tools.families.lists import plain_need
from pipeline.tools.families.maths import plain_conversion, plain_sum
from pipeline.tools.local import LocalTools


@pytest.mark.parametrize(
    ("said", "read"),
    [
        ("what's forty two divided by six", "what's 42 divided by 6"),
        ("a hundred and ten", "110"),
        ("three thousand four hundred and twelve", "3412"),
        ("two point five kilos", "2.5 kilos"),
        ("twenty-six miles", "26 miles"),
        ("which one is it", "which one is it"),  # a lone "one" is no quantity
        ("no one came", "no one came"),
        ("one two three", "one two three"),  # a count, not one number
    ],
)
def test_number_words_become_digits(said, read):
    assert with_digits(said) == read


def test_colloquial_units_convert():
    assert round(convert(2, "kilos", "grams")) == 2000
    assert round(convert(10, "lbs", "kg"), 2) == 4.54
    assert round(convert(100, "kph", "mph"), 1) == 62.1
    with pytest.raises(ToolArgumentError):
        convert(1, "kilos", "miles")


def test_plain_readers():
    assert plain_sum(with_digits("what's forty two divided by six")) == {"expression": "42 divided by 6"}
    assert plain_sum("what is 8% of 250") == {"expression": "8 percent of 250"}
    # ... and such a sign reaches the tool: Whisper writes "fifteen percent of eighty" as "15% of 80",
    # which went to the reply model ("80 percent of 15 is 12.")
    local = LocalTools(Path(tempfile.mkdtemp())).registry()
    assert might_need_tools("What is 15% of 80?") and route("What is 15% of 80?", local) == ["calculate"]
    assert plain_sum("set a timer for 5 minutes") is None
    assert plain_conversion(with_digits("how many grams in two kilos")) == {
        "value": 2,
        "from_unit": "kilos",
        "to_unit": "grams",
    }
    assert plain_conversion("I walked 5 miles to the shop") is None  # "the shop" is no unit
    assert plain_volume("bring the music down a notch") == {"change": -10}
    assert plain_volume("much louder please") == {"change": 25}
    assert plain_volume("turn it up to 70") == {"level": 70}
    assert plain_volume("volume loud") is None
    assert plain_mute("hush now") == {"muted": True} and plain_mute("unmute") == {"muted": False}
    assert plain_mute("a quiet day today") is None
    assert plain_stop("Pause.") == plain_stop("stop the music please") == {}
    assert plain_stop("stop the timer") is None and plain_stop("pause the pasta timer") is None
    assert plain_need("we could do with some more rice") == {"list": "shopping", "item": "rice"}
    assert plain_need("the washing up liquid is nearly finished") == {
        "list": "shopping",
        "item": "washing up liquid",
    }
    for not_a_need in ("we need to talk about the holidays", "we need a break", "I'm out of time"):
        assert plain_need(not_a_need) is None, not_a_need


def test_an_object_implies_the_weather_only_with_a_place_or_time():
    from pipeline.conversation.honesty import live_topic

    assert "weather" in implied_words("do you think I should bring a coat in Oslo")
    assert not implied_words("I left my umbrella on the bus")
    assert not implied_words("I bought a new jacket")
    # the honesty rule reads the same: with no weather tool, the reply says it cannot check
    topic = live_topic("will I want sunglasses in Madrid tomorrow")
    assert topic is not None and topic.name == "weather"
    assert live_topic("I left my umbrella on the bus") is None
    assert live_topic("is it chilly out this evening").name == "weather"
    assert live_topic("is it cold water that cleans best") is None
    assert live_topic("how are Nvidia shares doing").name == "markets"
    assert live_topic("my sister shares a flat with me") is None


# -- routing the DEV split's implicit kinds (real e5 index; words first) ---------------------------


@pytest.fixture(scope="module")
def mcp_registry(tmp_path_factory):
    from bench.understanding import _cfg

    return ToolSession(_cfg(tmp_path_factory.mktemp("tools"), mcp=True)).registry


@pytest.mark.models
@pytest.mark.parametrize("case", IMPLICIT, ids=[c.text for c in IMPLICIT])
def test_dev_implicit_requests_route_to_their_family(components, mcp_registry, case):
    got = route(case.text, mcp_registry, components.tool_index)
    if case.tools:
        assert set(got) & set(case.tools), got
    else:
        assert got == [], got


# -- the planner: plain words need no model, and a question still changes nothing -----------------


@pytest.fixture()
def session(plain_session):
    return plain_session


def _plan(session, text):
    return asyncio.run(session.plan(text))


def test_plain_requests_run_without_the_model(session):
    r = _plan(session, "I can't hear it from the kitchen")
    assert [o.tool for o in r.outcomes] == ["set_volume"] and session.local.device.read()["volume"] == 60
    _plan(session, "bring the music down a notch")
    _plan(session, "that's far too loud")
    assert session.local.device.read()["volume"] == 40
    _plan(session, "we're almost out of toothpaste")
    assert session.local.lists.read()["lists"] == {"shopping": ["toothpaste"]}
    r = _plan(session, "what's forty two divided by six")
    # a result read from plain words is the reply as it is: no model retells it
    assert [(o.tool, o.status) for o in r.outcomes] == [
        ("calculate", "ok")
    ] and r.reply == "42 divided by 6 is 7."
    r = _plan(session, "how many grams in two kilos")
    assert [(o.tool, o.status) for o in r.outcomes] == [("convert_units", "ok")]
    assert r.reply == "2 kilos is 2000 grams."
    r = _plan(session, "hush now")
    assert session.local.device.read()["muted"] is True
    assert session.planner.model.calls == 0


def test_an_implicit_question_changes_nothing(session):
    for question in ("is it too loud in here for you", "should I turn it up a bit?", "are we out of milk"):
        r = _plan(session, question)
        assert r.reply != "Nothing was done.", question  # the model answers the question, not a void
    assert session.local.device.read()["volume"] == 50
    assert session.local.lists.read()["lists"] == {}
    r = _plan(session, "we need to talk about the holidays")
    assert r.outcomes == [] and session.local.lists.read()["lists"] == {}


def test_set_volume_needs_a_level_or_a_change(session):
    with pytest.raises(ToolArgumentError):
        session.local.set_volume({})
    session.local.set_volume({"change": 80})
    assert session.local.device.read()["volume"] == 100  # clamped, never past the top
