"""Contacts and the outbox (local spool and a real SMTP server on localhost), reminders that ring,
the grounding of sensitive arguments in the user's words, and the planner's tool routing."""

from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta

import pytest

from pipeline.acting.grounding import ground
from pipeline.acting.permissions import Provenance
from pipeline.acting.routing import candidate_tools
from pipeline.config import ConfigError, OutboxConfig, load_config
from pipeline.tools.errors import ToolArgumentError, ToolFailedError
from pipeline.tools.families.messages import message_text, recipient
from pipeline.tools.local import LocalTools
from pipeline.tools.outbox import Contacts, Outbox


@pytest.fixture(autouse=True)
def _audit_key_elsewhere(tmp_path_factory, monkeypatch):
    """The audit key lives outside the data directory: in a config folder of the test's own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.delenv("TWIN_AUDIT_KEY_FILE", raising=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def smtp_server():
    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self) -> None:
            self.messages: list = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
            self.messages.append(envelope)
            return "250 OK"

    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def test_contacts_add_find_replace_remove(tmp_path):
    c = Contacts(tmp_path)
    c.add("Anna Berg", email="anna@example.org")
    c.add("Bob", phone="+44 20 0000 0000")
    assert c.find("anna berg")[0] == "Anna Berg"
    assert c.find("Anna")[0] == "Anna Berg"  # a unique first name is enough
    assert c.find("Ann") is None  # never a guess
    assert "Anna Berg" in c.suggestion("Ana Berg")
    c.add("anna berg", email="anna@new.example.org")  # re-adding replaces, whatever the case
    assert list(c.all()) == ["anna berg", "Bob"] and c.all()["anna berg"]["email"] == "anna@new.example.org"
    with pytest.raises(ToolArgumentError, match="not an email"):
        c.add("Carl", email="carl-at-home")
    with pytest.raises(ToolArgumentError, match="no address"):
        c.add("Dora")
    assert c.remove("ANNA BERG") and not c.remove("anna berg")
    assert (tmp_path / "contacts.json").stat().st_mode & 0o077 == 0  # private to the user


def test_spool_outbox_resolves_contacts_and_keeps_free_names(tmp_path):
    box = Outbox(tmp_path)
    Contacts(tmp_path).add("Anna Berg", email="anna@example.org")
    summary, _ = box.send("anna", "running late", "2026-11-24T10:00:00")
    assert summary == "message to Anna Berg queued in the outbox"
    summary, _ = box.send("Sam", "hi", "2026-11-24T10:00:00")
    assert "Sam" in summary
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "outbox").glob("*.json"))]
    assert {r["to"] for r in records} == {"Anna Berg", "Sam"}
    assert [r for r in records if r["to"] == "Anna Berg"][0]["contact"]["email"] == "anna@example.org"


def test_smtp_outbox_sends_through_a_real_server(tmp_path, smtp_server):
    controller, handler = smtp_server
    cfg = OutboxConfig(
        kind="smtp", host="127.0.0.1", port=controller.port, security="none", sender="twin@home.example"
    )
    Contacts(tmp_path).add("Anna", email="anna@example.org")
    local = LocalTools(tmp_path, outbox=cfg)
    result = local.send_message({"to": "Anna", "text": "running late"})
    assert result.ok and result.summary == "message sent to Anna"
    assert len(handler.messages) == 1
    env = handler.messages[0]
    assert env.rcpt_tos == ["anna@example.org"] and env.mail_from == "twin@home.example"
    assert "running late" in env.content.decode()
    assert len(list((tmp_path / "outbox" / "sent").glob("*.json"))) == 1
    # an unknown contact is refused before anything is sent
    with pytest.raises(ToolArgumentError, match="no contact named Zed"):
        local.send_message({"to": "Zed", "text": "hi"})
    assert len(handler.messages) == 1


def test_unreachable_mail_server_keeps_the_message(tmp_path):
    cfg = OutboxConfig(
        kind="smtp", host="127.0.0.1", port=_free_port(), security="none", sender="t@h.example"
    )
    Contacts(tmp_path).add("Anna", email="anna@example.org")
    with pytest.raises(ToolFailedError) as err:
        Outbox(tmp_path, cfg).send("Anna", "running late", "2026-11-24T10:00:00")
    assert "mail server" in err.value.message and "kept in" in err.value.hint
    kept = [json.loads(p.read_text()) for p in (tmp_path / "outbox" / "unsent").glob("*.json")]
    assert len(kept) == 1 and kept[0]["text"] == "running late" and kept[0]["error"]


def test_smtp_outbox_needs_a_server_in_config(tmp_path):
    (tmp_path / "config.toml").write_text('[tools.outbox]\nkind = "smtp"\n')
    with pytest.raises(ConfigError, match="needs 'host' and 'sender'"):
        load_config(data_dir=tmp_path)


def test_reminders_ring_once_or_every_day(tmp_path):
    clock = [datetime(2026, 11, 24, 9, 0).astimezone()]
    local = LocalTools(tmp_path, now=lambda: clock[0])
    local.add_reminder({"text": "call mum", "time": "10:00"})
    local.add_reminder({"text": "take pills", "time": "09:30", "repeat": "daily"})
    local.set_timer({"minutes": 5, "label": "tea"})
    assert local.fire_due() == []
    before = (tmp_path / "tools" / "reminders.json").stat().st_mtime_ns
    local.fire_due()
    assert (tmp_path / "tools" / "reminders.json").stat().st_mtime_ns == before  # nothing due: no write
    clock[0] += timedelta(minutes=31)  # 09:31
    assert sorted(i["label"] for i in local.fire_due()) == ["take pills", "tea"]
    assert local.fire_due() == []
    clock[0] += timedelta(hours=1)  # 10:31
    assert [i["label"] for i in local.fire_due()] == ["call mum"]
    clock[0] += timedelta(days=1)  # the next day, 10:31: the daily one again, the one-off is gone
    assert [i["label"] for i in local.fire_due()] == ["take pills"]
    assert [r["text"] for r in local.reminders.read()["reminders"]] == ["take pills"]
    # after a restart (a new LocalTools over the same files) the state is the same
    assert [r["text"] for r in LocalTools(tmp_path).reminders.read()["reminders"]] == ["take pills"]


def test_message_text_is_cut_from_the_users_words():
    assert message_text("Send a message to Anna saying I am running late.", "Anna") == "I am running late"
    assert message_text("text Bob that dinner is at 8", "Bob") == "dinner is at 8"
    assert message_text("send running late to Anna", "Anna") == "running late"
    assert message_text("message mum I love you", "mum") == "I love you"
    assert message_text("send a message to Anna", "Anna") is None
    assert recipient("Send a message to Anna saying I am running late.") == "Anna"
    assert recipient("message mum I love you") == "mum"
    assert recipient("send it now") is None


def test_sensitive_arguments_must_come_from_the_user(tmp_path):
    reg = LocalTools(tmp_path).registry()
    send = reg.get("send_message")
    prov = Provenance("send running late to Anna")
    args, why, note = ground(send, {"to": "Anna", "text": "I'm sorry, I can't assist with that."}, prov)
    assert why is None and args["text"] == "running late" and note
    args, why, _ = ground(send, {"to": "Anna", "text": "hello"}, Provenance("send a message to Anna"))
    assert why == "I could not tell what the message should say"
    args, why, _ = ground(send, {"to": "is saying running late", "text": "running late"}, prov)
    assert why is None and args["to"] == "Anna"  # the one the user named, not the model's phrase
    args, why, _ = ground(
        send, {"to": "an is saying i am late", "text": "i am late"}, Provenance("to an is saying i am late")
    )
    assert why == "I could not tell who the message is for"
    _, why, _ = ground(send, {"to": "Eve", "text": "running late"}, Provenance("send running late"))
    assert why == "'to' was not something you said"
    # quoted from text the turn read: allowed here, the permission gate marks it tainted and asks
    read = Provenance("read my note and send it to Anna")
    read.add_untrusted("tool_result", "the door code is 4512")
    _, why, _ = ground(send, {"to": "Anna", "text": "the door code is 4512"}, read)
    assert why is None
    # a number the user never said is dropped (the tool's default applies), never sent on
    order = reg.get("place_order")
    args, why, _ = ground(
        order, {"item": "phone charger", "quantity": 100000000000}, Provenance("buy a phone charger")
    )
    assert why is None and args == {"item": "phone charger"}
    args, why, _ = ground(order, {"item": "coffee", "quantity": 2}, Provenance("order two packs of coffee"))
    assert args == {"item": "coffee", "quantity": 2}
    # not sensitive: untouched
    timer = reg.get("set_timer")
    said = Provenance("a timer for 5 minutes")
    assert ground(timer, {"minutes": 5, "label": "pasta"}, said) == (
        {"minutes": 5, "label": "pasta"},
        None,
        "",
    )


def test_planner_offers_only_the_tools_a_request_is_about(tmp_path):
    reg = LocalTools(tmp_path).registry()
    assert candidate_tools("set a timer for 10 minutes", reg) == ["set_timer"]  # the verb narrows
    assert candidate_tools("is there a timer for 10 minutes", reg) == ["set_timer"]
    assert candidate_tools("which timers are set", reg) == ["list_timers"]
    assert candidate_tools("add milk to my shopping list", reg) == ["add_to_list"]
    assert candidate_tools("remove milk from the shopping list", reg) == ["remove_from_list"]
    assert candidate_tools("unmute", reg) == ["mute"]
    assert candidate_tools("the list thing", reg) == ["add_to_list", "get_list", "remove_from_list"]
    assert candidate_tools("send running late to Anna", reg) == ["send_message"]
    assert "convert_units" in candidate_tools("how many pounds is 3 kg", reg)
    assert candidate_tools("do the thing", reg) == reg.names()  # nothing matched: everything


def test_a_damaged_state_file_is_a_typed_error_and_is_left_as_it_was(tmp_path):
    from pipeline.tools.errors import ToolStateError

    local = LocalTools(tmp_path)
    local.add_note({"text": "the spare key is under the blue pot"})
    notes = tmp_path / "tools" / "notes.json"
    notes.write_text('{"notes": [{"text": "the spare key', encoding="utf-8")  # cut off mid-write
    before = notes.read_bytes()
    with pytest.raises(ToolStateError) as err:
        local.add_note({"text": "another"})
    assert err.value.code == "tool_state_damaged" and "notes.json" in err.value.message
    assert "move it aside" in err.value.hint
    assert notes.read_bytes() == before  # not overwritten: what is in it can still be recovered
    assert local.list_timers({}).ok  # the other tools' files are untouched and keep working


def test_contact_names_lose_terminal_control_characters(tmp_path):
    contacts = Contacts(tmp_path)
    contacts.add("\x1b[2J\x1b[31mAnna\x1b[0m \u202eBerg\x07", email="anna@example.org", phone="+49\x1b[8m 1")
    assert contacts.all() == {"Anna Berg": {"email": "anna@example.org", "phone": "+49 1"}}
    for name in ("\x1b\x07\x9b", "\u202e\x00", "\x1b[31m\x1b[0m", "\x1b]0;title\x07"):
        with pytest.raises(ToolArgumentError, match="control characters") as exc:
            contacts.add(name, email="x@example.org")
        assert exc.value.hint
    with pytest.raises(ToolArgumentError, match="not an email address"):
        contacts.add("Bo", email="bo\x1b]0;owned\x07@example.org")
    assert len(contacts.all()) == 1
