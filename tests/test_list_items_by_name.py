"""An item on the user's list, named without the list (issue #11): after "add eggs and flour to the
shopping list", "actually remove the flour", "take the eggs off", "scratch the milk" and "we've got
bread now, take it off" take the item off the list that holds it, read from the words and the lists'
own contents (no model, no fixed word list of groceries); an item on two lists is asked about, an
item on no list is said to be on none; a question never changes a list.

The phrasings are written for these tests; the real-session case runs typed turns through the real
Twin on the real models, in a data directory of its own."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

import pytest
from conftest import steady_clock

from pipeline.acting.list_requests import held_in, held_removal, named_removal
from pipeline.acting.routing import route
from pipeline.tools.local import LocalTools

LISTS = {"shopping": ["eggs", "flour", "oat milk"], "todo": ["call the plumber"]}

# -- the words and the lists ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "items"),
    [
        ("Actually remove the flour", "flour"),
        ("remove flour", "flour"),
        ("take the eggs off", "eggs"),
        ("take off the oat milk please", "oat milk"),
        ("scratch the milk", "milk"),
        ("no wait, cross eggs off", "eggs"),
        ("Oh, and delete the flour too", "flour"),
        ("could you remove the eggs and the flour", "eggs and the flour"),
    ],
)
def test_a_removal_naming_no_list_is_read_from_its_words(said, items):
    assert named_removal(said) == (items, False)
    assert held_removal(said, LISTS) == {"list": "", "item": items}


def test_take_it_off_finds_its_item_on_the_lists_in_the_clause_before():
    assert held_removal("we've got eggs now, take it off", LISTS) == {"list": "", "item": "eggs"}
    with_bread = {"shopping": ["Bread", "eggs"]}
    assert held_removal("we've got bread now, take it off", with_bread) == {"list": "", "item": "Bread"}
    assert held_removal("got the Oat Milk already so take it off", LISTS) == {"list": "", "item": "oat milk"}
    # no item of the lists named before the pronoun: the conversation's to say, not guessed here
    assert held_removal("we've got bread now, take it off", LISTS) is None
    assert held_removal("take it off", LISTS) is None


def test_items_are_found_in_the_words_as_the_lists_spell_them():
    assert held_in("we've got the egg and some oat milk", LISTS) == ["eggs", "oat milk"]
    assert held_in("milk", LISTS) == []  # "oat milk" is the item: plain milk is not on the list
    assert held_in("nothing here", LISTS) == []


@pytest.mark.parametrize(
    "said",
    [
        "is flour on the list?",  # a question only reads
        "did you remove the flour?",
        "should I take the eggs off?",
        "take your coat off",  # someone's own thing is no list item
        "remove the stain from the carpet",
        "take it off",
        "remove everything",  # no one item: nothing guessed
        "delete all the items",
        "remove the timer",  # another tool's object
        "what time is it",
    ],
)
def test_questions_and_other_requests_are_no_removal(said):
    assert held_removal(said, LISTS) is None


def test_with_nothing_on_any_list_a_removal_of_an_unknown_thing_is_not_read():
    assert held_removal("remove the flour", {}) is None
    assert held_removal("remove the flour", {"shopping": []}) is None


# -- routing: the lists' contents bring the list tool ---------------------------------------------


def test_an_item_on_a_list_brings_the_removal_tool_alone(tmp_path):
    local = LocalTools(tmp_path)
    local.add_to_list({"list": "shopping", "item": "eggs and flour"})
    registry = local.registry()
    for said in ("Actually remove the flour", "take the eggs off", "we've got eggs now, take them off"):
        assert route(said, registry) == ["remove_from_list"], said
    assert route("is flour on the list?", registry) == ["get_list"]
    assert "remove_from_list" not in route("delete the message", registry)  # the messages' word
    assert route("remove the timer", registry) == ["cancel_timer"]


# -- the tool: off the list that holds it ----------------------------------------------------------


def test_each_item_comes_off_the_list_that_holds_it(tmp_path):
    local = LocalTools(tmp_path)
    local.add_to_list({"list": "shopping", "item": "eggs and flour"})
    local.add_to_list({"list": "todo", "item": "call the plumber"})
    out = local.remove_from_list({"list": "", "item": "flour"})
    assert (out.ok, out.summary, out.data) == (True, "removed flour from the shopping list", ["flour"])
    out = local.remove_from_list({"list": "", "item": "eggs and call the plumber"})
    assert out.summary == "removed eggs from the shopping list; removed call the plumber from the to-do list"
    assert local.lists.read()["lists"] == {"shopping": [], "todo": []}


def test_an_item_on_two_lists_is_asked_about_and_stays_on_both(tmp_path):
    local = LocalTools(tmp_path)
    local.add_to_list({"list": "shopping", "item": "flour"})
    local.add_to_list({"list": "baking", "item": "flour"})
    out = local.remove_from_list({"list": "", "item": "flour"})
    assert out.summary == (
        "flour is on your shopping list and your baking list: which list should I take it off?"
    )
    assert out.data == []
    assert local.lists.read()["lists"] == {"shopping": ["flour"], "baking": ["flour"]}


def test_an_item_on_no_list_is_said_to_be_on_none(tmp_path):
    local = LocalTools(tmp_path)
    local.add_to_list({"list": "shopping", "item": "eggs"})
    assert local.remove_from_list({"list": "", "item": "flour"}).summary == "flour isn't on any of your lists"
    assert local.remove_from_list({"list": "", "item": "grapes"}).summary == (
        "grapes aren't on any of your lists"
    )
    assert local.lists.read()["lists"] == {"shopping": ["eggs"]}


# -- the planner: no model, the reply from the tool's result --------------------------------------


def _plan(session, text):
    return asyncio.run(session.plan(text))


def test_named_items_come_off_without_the_model(plain_session):
    s = plain_session
    said = [
        ("Add eggs and flour to the shopping list", "Added eggs and flour to the shopping list."),
        ("is flour on the list?", "Flour is on your shopping list."),
        ("Actually remove the flour", "Removed flour from the shopping list."),
        ("Actually remove the flour", "Flour isn't on any of your lists."),
        ("we've got eggs now, take them off", "Removed eggs from the shopping list."),
    ]
    for text, reply in said:
        assert _plan(s, text).reply == reply, text
    assert s.local.lists.read()["lists"] == {"shopping": []}
    assert s.planner.model.calls == 0


def test_an_item_on_two_lists_is_asked_about_in_the_reply(plain_session):
    s = plain_session
    s.local.add_to_list({"list": "shopping", "item": "flour"})
    s.local.add_to_list({"list": "baking", "item": "flour"})
    r = _plan(s, "scratch the flour")
    assert r.reply == "Flour is on your shopping list and your baking list: which list should I take it off?"
    assert s.local.lists.read()["lists"] == {"shopping": ["flour"], "baking": ["flour"]}
    assert _plan(s, "is flour on the garden list?").reply.startswith("You have no garden list")
    r = _plan(s, "the baking list please")  # the answer: off that one only
    assert r.reply == "Removed flour from the baking list."
    assert s.local.lists.read()["lists"] == {"shopping": ["flour"], "baking": []}
    # answered once: the same words again are a read of that list, not another removal
    assert _plan(s, "the baking list?").reply == "Your baking list is empty."
    assert s.planner.model.calls == 0


def test_the_answer_to_which_list_is_awaited_only_just_after_the_question(tmp_path):
    now = [datetime(2026, 3, 4, 10, 0).astimezone()]
    local = LocalTools(tmp_path, now=lambda: now[0])
    local.add_to_list({"list": "shopping", "item": "flour"})
    local.add_to_list({"list": "to do", "item": "flour"})
    local.remove_from_list({"list": "", "item": "flour"})
    registry = local.registry()
    held = next(t for t in registry if t.name == "remove_from_list").held
    assert held("from the to-do one") == {"list": "todo", "item": "flour"}
    assert held("the garden list") is None  # not one of the lists asked about
    assert held("is it on the shopping list?") is None  # a question
    now[0] += timedelta(minutes=5)
    assert held("the shopping list") is None  # too late: a read of the list again
    assert route("the shopping list", registry) != ["remove_from_list"]


# -- a real turn through the real session ---------------------------------------------------------


@pytest.mark.models
def test_actually_remove_the_flour_in_a_real_conversation(cfg, components, tmp_path):
    from pipeline.runtime.session import Twin

    twin = Twin(cfg.model_copy(update={"data_dir": tmp_path}), components, clock=steady_clock)
    path = tmp_path / "tools" / "lists.json"

    def lists() -> dict:
        return json.loads(path.read_text())["lists"]

    r = asyncio.run(twin.ask("Add eggs and flour to the shopping list"))
    assert r.reply == "Added eggs and flour to the shopping list.", r.reply
    r = asyncio.run(twin.ask("Actually remove the flour"))
    assert r.reply == "Removed flour from the shopping list.", r.reply
    assert lists() == {"shopping": ["eggs"]}
    r = asyncio.run(twin.ask("is flour on the list?"))
    assert r.reply == "Flour is not on your shopping list.", r.reply
    r = asyncio.run(twin.ask("scratch the milk"))
    assert r.reply == "Milk isn't on any of your lists.", r.reply
    r = asyncio.run(twin.ask("take the eggs off"))
    assert r.reply == "Removed eggs from the shopping list.", r.reply
    assert lists() == {"shopping": []}
