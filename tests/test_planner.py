"""The tool planner: fakes isolate the loop's rules; the real Qwen2.5 0.5B plans the real turns."""

from __future__ import annotations

import asyncio
import json

import pytest

from pipeline.acting.planner import Planner, compose_reply, parse_step
from pipeline.acting.routing import might_need_tools
from pipeline.acting.session import ToolSession
from pipeline.tools.errors import MalformedToolCallError


class FakeScriptedModel:
    """A fake planner model that answers each step from a script (unit isolation only)."""

    def __init__(self, steps: list[str]) -> None:
        self.steps = list(steps)
        self.calls = 0

    def choose(self, messages, schema, stop=None) -> str:
        self.calls += 1
        return self.steps.pop(0) if self.steps else '{"action": "reply"}'


def call(tool: str, **args) -> str:
    return json.dumps({"action": "call", "tool": tool, "args": args})


@pytest.fixture()
def session(tmp_path):
    from pipeline.config import load_config

    return ToolSession(load_config(data_dir=tmp_path))


def plan(session: ToolSession, steps: list[str], text: str, max_steps: int = 3):
    model = FakeScriptedModel(steps)
    session.planner = Planner(model, session.registry, session.runner, max_steps, 5.0)
    return asyncio.run(session.plan(text)), model


def test_gate():
    assert might_need_tools("set a timer for 5 minutes") and might_need_tools("what's 3 + 4")
    assert not might_need_tools("tell me about the history of Rome")
    # everyday questions that merely mention a tool word go straight to the reply
    for plain in (
        "How do I make a cup of green tea?",
        "How many days are in a leap year?",
        "Give me a list of ideas for dinner",
        "What time of year is best for Spain?",
    ):
        assert not might_need_tools(plain), plain
    for tool in (
        "what's the time",
        "what time is it",
        "add milk to my shopping list",
        "convert 5 miles to km",
        "what is 12 times 7",
        "remind me to call mum",
        "turn the volume down",
        "stop",
    ):
        assert might_need_tools(tool), tool


def test_parse_step_repairs_chatty_output_and_rejects_garbage():
    assert parse_step('Sure! ```json\n{"action": "reply"}\n```')["action"] == "reply"
    with pytest.raises(MalformedToolCallError):
        parse_step("I will set a timer")


def test_malformed_output_is_retried_then_answered_plainly(session):
    r, model = plan(session, ["not json", '{"action": "call", "tool": "nope", "args": {}}'], "set a timer")
    assert r.outcomes == [] and r.reply is None and "gave up" in " ".join(r.notes) and model.calls == 2
    assert "do not say" in r.context
    r, _ = plan(session, ["{oops", call("set_timer", minutes=5)], "the pasta needs a timer of 5 minutes")
    assert [o.status for o in r.outcomes] == ["ok"] and "retried" in r.notes[0]


def test_wrong_argument_types_are_caught_before_running(session):
    r, _ = plan(session, [call("set_volume", level="loud"), call("set_volume", level="x")], "volume loud")
    assert r.outcomes == [] and session.local.device.read()["volume"] == 50


def test_a_question_never_changes_state(session):
    r, _ = plan(session, [call("set_volume", level=100)], "should you turn the volume up?")
    assert r.outcomes == [] and session.local.device.read()["volume"] == 50
    assert "asked a question" in r.notes[0]
    # a question whose words name one read-only tool is answered from it, without the model
    r, _ = plan(session, [call("set_volume", level=100)], "is the volume at 100?")
    assert [(o.tool, o.tier) for o in r.outcomes] == [("device_state", "read")]
    # the state read is the answer, said as it is (`Tool.answers`): no reply model
    assert session.local.device.read()["volume"] == 50 and r.reply == "Volume 50, not muted."


def test_step_budget(session):
    steps = [call("add_to_list", list="a", item=str(i)) for i in range(5)]
    r, model = plan(session, steps, "add 0 and 1 and 2 and 3 and 4 to list a", max_steps=2)
    assert model.calls == 2 and len(r.outcomes) == 2


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (
            "set a timer for 5 minutes and add milk to the shopping list",
            ["set a timer for 5 minutes", "add milk to the shopping list"],
        ),
        ("turn the volume down and then set an alarm for 7", ["turn the volume down", "set an alarm for 7"]),
        ("what time is it and what's on my shopping list", ["what time is it", "what's on my shopping list"]),
        ("add milk and eggs to the shopping list", ["add milk and eggs to the shopping list"]),
        # the free text of a reminder or a note runs to the end: one request
        ("remind me to call mum and buy bread", ["remind me to call mum and buy bread"]),
        ("note that the boiler works and set a timer for 5 minutes", None),
        ("tell me a joke and set a timer for 2 minutes", None),
    ],
)
def test_a_compound_request_is_planned_clause_by_clause(session, text, parts):
    from pipeline.acting.routing import clauses

    assert clauses(text, session.registry) == (parts or [text])


def test_each_clause_is_its_own_step_and_all_are_said(session):
    # words no reader takes as they are: the (scripted) model plans each clause
    steps = [call("set_timer", minutes=5), call("add_to_list", list="shopping", item="milk")]
    r, model = plan(session, steps, "the pasta needs a timer of 5 minutes and add milk to the shopping list")
    assert [(o.tool, o.status) for o in r.outcomes] == [("set_timer", "ok"), ("add_to_list", "ok")]
    assert model.calls == 2
    assert r.reply.startswith("Timer set for 5 minutes") and "milk" in r.reply
    # a length the words never state is not the model's to fill in: not set, said, and the request
    # stops there (the pasta timer would have run the model's made-up 5 minutes)
    r, model = plan(session, steps, "set a timer for the pasta and add milk to the shopping list")
    assert [(o.tool, o.status) for o in r.outcomes] == [("set_timer", "error")]
    assert r.reply == "I could not set timer: it needs a length, such as 5 minutes."


def test_a_compound_request_stops_at_a_step_not_done(session):
    steps = [call("send_message", to="Anna", text="hi"), call("set_timer", minutes=5)]
    r, _ = plan(session, steps, "send a message to Anna saying hi and then set a timer for 5 minutes")
    assert [o.status for o in r.outcomes] == ["blocked"]
    assert session.local.timers.read()["timers"] == []


def test_reply_never_claims_an_action_that_did_not_happen(session):
    r, _ = plan(session, [call("send_message", to="Anna", text="hi")], "send hi to Anna")
    assert r.outcomes[0].status == "blocked"
    assert r.reply.startswith("I did not send message") and "queued" not in r.reply
    assert compose_reply([]) == "Nothing was done."


def test_cancelled_turn_runs_no_pending_call(session):
    class FakeSlowModel(FakeScriptedModel):
        def choose(self, messages, schema, stop=None):
            stop.wait(3)
            return call("set_timer", minutes=5)

    session.planner = Planner(FakeSlowModel([]), session.registry, session.runner, 3, 5.0)

    async def main():
        task = asyncio.create_task(session.plan("set a timer for the pasta"))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.3)

    asyncio.run(main())
    assert session.local.timers.read()["timers"] == []


# -- the real model --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_session(tmp_path_factory, components):
    from pipeline.config import load_config

    cfg = load_config(data_dir=tmp_path_factory.mktemp("planner"))
    return ToolSession(cfg, components.planner_model)


@pytest.mark.models
def test_real_planner_sets_a_timer_with_schema_constrained_output(real_session):
    r = asyncio.run(real_session.plan("set a timer for 10 minutes"))
    assert [(o.tool, o.args.get("minutes"), o.status) for o in r.outcomes] == [("set_timer", 10, "ok")]
    assert r.reply.startswith("Timer set for 10 minutes")
    assert len(real_session.local.timers.read()["timers"]) == 1
    assert real_session.audit.verify().ok


@pytest.mark.models
def test_real_planner_does_both_halves_of_a_compound_request(real_session):
    r = asyncio.run(real_session.plan("set a timer for 5 minutes and add milk to the shopping list"))
    assert [(o.tool, o.status) for o in r.outcomes] == [("set_timer", "ok"), ("add_to_list", "ok")]
    assert "milk" in real_session.local.lists.read()["lists"]["shopping"]
    assert "milk" in r.reply.lower() and "timer" in r.reply.lower()


@pytest.mark.models
def test_engine_turn_uses_tools_and_questions_change_nothing(cfg, components, tmp_path):
    from pipeline.runtime.session import Twin

    twin = Twin(cfg.model_copy(update={"data_dir": tmp_path}), components)
    result = asyncio.run(twin.ask("Is the speaker muted?"))
    assert result.status == "completed"
    assert twin.tools.local.device.read() == {"volume": 50, "muted": False, "playing": False}
    entries = twin.tools.session.runner.audit.entries()
    assert [(e["tool"], e["tier"]) for e in entries] == [("device_state", "read")]  # answered by reading


def test_a_plainly_dictated_message_is_sent_without_the_model(session):
    """ "message mum I love you": the call is built from the user's words alone, without asking the
    model (which once answered "reply" and dropped it), and still needs a spoken yes (this session
    cannot ask: not done)."""
    r, model = plan(session, ['{"action": "reply"}'], "message mum I love you")
    assert [(o.tool, o.args, o.status) for o in r.outcomes] == [
        ("send_message", {"to": "mum", "text": "I love you"}, "blocked")
    ]
    assert r.reply == "I did not send message: no way to ask the user." and model.calls == 0
    r, model = plan(session, ['{"action": "reply"}'], "text Sam that I'm on my way")
    assert [(o.args, model.calls) for o in r.outcomes] == [({"to": "Sam", "text": "I'm on my way"}, 0)]
    # nothing plain to send: the model is asked; when it makes no call, the message is not sent and
    # the reply says why (this session cannot ask what it should say), never the model's own words
    r, model = plan(session, ['{"action": "reply"}'], "send a message to Anna")
    assert [(o.tool, o.status) for o in r.outcomes] == [("send_message", "blocked")] and model.calls == 1
    assert r.reply == "I did not send message: I could not tell what the message should say."
    # Whisper's "message and I'm on my way" ("Anna" heard as "and"): nobody named, said so
    r, model = plan(session, ['{"action": "reply"}'], "message and I'm on my way")
    assert r.reply == "I did not send message: I could not tell who the message is for."
    assert model.calls == 0  # nobody to guess: the model is not asked (it took 1.3-2.9 s)
    r, model = plan(
        session,
        ['{"action": "call", "tool": "send_message", "args": {"to": "Bob", "text": "hi"}}'],
        "send a message saying hi",
    )
    assert [(o.status, model.calls) for o in r.outcomes] == [("blocked", 0)]  # no invented Bob
    # a question that mentions a message is not a message to send: the model's reply stands
    r, model = plan(session, ['{"action": "reply"}'], "did I get a message from Anna?")
    assert r.outcomes == [] and r.reply is None


def test_a_message_without_words_asks_what_it_should_say(session):
    """'Send a message to Anna' (the model makes up a text): Twin asks what it should say, takes
    the answer as the user's words, then asks for the yes as always."""
    asked: list[str] = []
    answers = ["I am running late", "yes"]

    async def confirmer(question: str, timeout_s: float) -> str | None:
        asked.append(question)
        return answers.pop(0) if answers else None

    session.confirmer = confirmer
    r, _ = plan(
        session, [call("send_message", to="Anna", text="Hello Anna! How are you?")], "send a message to Anna"
    )
    assert asked == [
        "What should the message to Anna say?",
        "Send 'I am running late' to Anna? Say yes to send.",
    ]
    assert [(o.tool, o.args, o.decision, o.status) for o in r.outcomes] == [
        ("send_message", {"to": "Anna", "text": "I am running late"}, "confirmed", "ok")
    ]
    # no answer to the first question: not sent, and said so
    asked.clear()
    r, _ = plan(session, [call("send_message", to="Anna", text="Hi!")], "send a message to Anna")
    assert len(asked) == 1 and r.outcomes[0].status == "blocked"
    assert r.reply == "I did not send message: I could not tell what the message should say."


def test_only_a_read_the_words_settle_may_be_planned_before_the_turn_ends(session):
    planner = Planner(FakeScriptedModel([]), session.registry, session.runner, 3, 5.0)
    for said in ("what time is it", "which timers are set", "what's on my shopping list", "any reminders?"):
        assert planner.reading.settles(said, reads_only=True), said
    for said in (
        "set a timer for 5 minutes",  # an act
        "add milk to my shopping list",
        "what time is it and set a timer for 5 minutes",  # two requests, one of them an act
        "message mum I love you",
        "tell me a joke",  # no tool at all
    ):
        assert not planner.reading.settles(said, reads_only=True), said
