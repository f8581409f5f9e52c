"""Issue 10, finding 2: a spoken "forget everything about me" takes the sensitive tier's path, the
same as the forget tool and `twin memory forget`: a preview in the question, a spoken yes (with an
owner enrolled, only the owner may delete the owner's or the household's memories), an audit entry
whichever way it goes, and a receipt in DATA_DIR/receipts/ without the deleted text. With no way to
ask (a typed turn), nothing is deleted and the reply says how to do it."""

from __future__ import annotations

import asyncio
import errno
import json
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

from memory import Memory
from pipeline.acting.audit import AuditLog
from pipeline.conversation.recall import ForgetAsk, MemoryBridge


class _Said:
    """An endpoint whose turn has surely ended."""

    async def wait(self) -> None:
        return None


class _Answers:
    """A confirmer that answers as told and remembers the questions it was asked."""

    def __init__(self, answer: str | None) -> None:
        self.answer = answer
        self.asked: list[str] = []

    async def __call__(self, question: str, timeout_s: float) -> str | None:
        self.asked.append(question)
        return self.answer


@pytest.fixture()
def home(tmp_path):
    mem = Memory.open(tmp_path / "memory")
    pool = ThreadPoolExecutor(1)
    bridge = MemoryBridge(SimpleNamespace(data_path=tmp_path), mem, SimpleNamespace(memory=pool))
    for text in ["Your daughter's name is Lily", "You live in Leeds", "You like jazz"]:
        mem.remember(text, "owner")
    mem.remember("The bins go out on Thursday", "household")
    yield SimpleNamespace(mem=mem, bridge=bridge, data=tmp_path, audit=AuditLog(tmp_path / "audit.jsonl"))
    pool.shutdown()
    mem.close()


def _say(home, text: str, ask: ForgetAsk | None, scope: str | None = None) -> str | None:
    return asyncio.run(home.bridge.command(text, scope, _Said(), ask))


def test_a_typed_forget_everything_deletes_nothing_and_says_how(home):
    reply = _say(home, "Forget everything about me", None)
    assert "twin memory forget --everything --yes" in reply
    assert len(home.mem.list("owner")) == 3
    entry = home.audit.entries()[-1]
    assert (entry["decision"], entry["result"]["count"], entry["who"]) == ("not_run", 3, "owner")
    # a live session where nobody answers: not done either
    nobody = _Answers(None)
    assert (
        _say(home, "Forget everything about me", ForgetAsk(nobody))
        == "All right, I haven't deleted anything."
    )
    assert "3 memories" in nobody.asked[0] and len(home.mem.list("owner")) == 3
    assert home.audit.entries()[-1]["decision"] == "denied"


def test_any_voice_must_say_yes_and_the_deletion_leaves_an_audit_entry_and_a_receipt(home):
    no = _Answers("no, don't")
    assert _say(home, "Forget everything about me", ForgetAsk(no)) == "All right, I haven't deleted anything."
    assert len(home.mem.list("owner")) == 3
    yes = _Answers("yes")
    reply = _say(home, "Forget everything about me", ForgetAsk(yes))
    assert reply == "Done, I've deleted 3 memories."
    assert yes.asked[0].startswith("I would delete 3 memories (everything I remember about you), such as: ")
    assert home.mem.list("owner") == [] and len(home.mem.list("household")) == 1
    entry = home.audit.entries()[-1]
    assert (entry["decision"], entry["status"], entry["result"]["deleted"]) == ("confirmed", "done", 3)
    receipts = list((home.data / "receipts").iterdir())
    assert len(receipts) == 1 and entry["result"]["receipt"] == str(receipts[0])
    doc = json.loads(receipts[0].read_text())
    assert (doc["who"], doc["selector"], doc["count"]) == ("owner", "everything", 3)
    assert {i["kind"] for i in doc["items"]} == {"fact"} and len(doc["items"]) == 3
    raw = receipts[0].read_text()
    assert "Lily" not in raw and "Leeds" not in raw and "jazz" not in raw  # never the deleted text
    assert stat.S_IMODE(receipts[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((home.data / "receipts").stat().st_mode) == 0o700


def test_with_an_owner_enrolled_only_the_owner_deletes_the_owners_memories(home):
    anna = [home.mem.remember("Your locker is number 12", "anna").id]
    home.mem.remember("Bob likes chess", "bob")
    yes = _Answers("yes")
    # a guest (a voice that is none of the enrolled ones) cannot delete, and is not even asked
    guest = ForgetAsk(yes, who="unknown", owners=["anna"])
    home.mem.remember("A guest said hello", "guest")
    assert _say(home, "Forget everything about me", guest, "unknown").startswith("Only anna can delete")
    assert yes.asked == [] and len(home.mem.list("guest")) == 1
    assert home.audit.entries()[-1]["decision"] == "denied"
    # an enrolled non-owner deletes their own, after a yes
    assert _say(home, "Forget everything about me", ForgetAsk(yes, "bob", ["anna"]), "bob").startswith("Done")
    assert home.mem.list("bob") == []
    # the owner deletes the owner's
    assert _say(home, "Forget everything about me", ForgetAsk(yes, "anna", ["anna"]), "anna").startswith(
        "Done"
    )
    assert not set(anna) & set(home.mem.items)


def test_forgetting_works_on_a_full_disk(home, monkeypatch):
    """The receipt and the audit entry need new space; deleting does not. On a full disk the items
    are deleted (that is how the user frees space) and the missing receipt is said."""
    import memory.forgetting

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(memory.forgetting, "atomic_write_json", full)
    monkeypatch.setattr(AuditLog, "append", full)
    reply = _say(home, "Forget everything about me", ForgetAsk(_Answers("yes")))
    assert reply == "Done, I've deleted 3 memories. I couldn't write the deletion receipt (the disk is full)."
    assert home.mem.list("owner") == [] and home.mem.store.count() == 1


def test_a_typed_turn_has_no_confirmer(home):
    """The fast path hands no confirmer outside a live session (`twin ask`)."""
    from pipeline.conversation.fast_path import FastPath
    from pipeline.conversation.hearing import NOBODY_ENROLLED

    asker = SimpleNamespace(live=False, household=SimpleNamespace(owners=lambda: []))
    cfg = SimpleNamespace(tools=SimpleNamespace(confirm_timeout_s=8.0))
    fast = FastPath(cfg, None, asker, home.bridge)
    turn = SimpleNamespace(identity=NOBODY_ENROLLED, voiced=False, rec=SimpleNamespace(turn_id=3))
    ask = fast.forget_ask("forget everything about me", turn)
    assert ask is not None and ask.confirm is None and ask.who == "owner"
    assert fast.forget_ask("what do you remember about me", turn) is None


def test_the_forget_tool_takes_the_same_path(home):
    """The runner asks and audits; the tool matches by meaning and leaves a receipt."""
    from pipeline.tools.families.memory import memory_tools

    home.mem.remember("Your old job was at the bakery", "owner")
    home.mem.remember("You started a new job at the hospital", "owner")
    forget = next(t for t in memory_tools(home.mem) if t.name == "forget_memories")
    out = forget.handler({"topic": "my old job"}, "owner")
    assert out.ok and out.data["deleted"] == 1
    assert any("hospital" in i.text for i in home.mem.list("owner"))
    receipt = json.loads(Path(out.data["receipt"]).read_text())
    assert receipt["selector"] == "about:my old job" and receipt["count"] == 1


def test_the_cli_shows_what_it_would_delete_and_asks_at_a_terminal(home, monkeypatch, capsys):
    import argparse
    import sys

    from pipeline.cli.memory import _forget

    args = argparse.Namespace(
        everything=False, about=None, ids=[], speaker="owner", yes=False, json=False,
        config_obj=SimpleNamespace(data_path=home.data),
    )  # fmt: skip
    args.everything = True
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    assert _forget(home.mem, args) == 1 and len(home.mem.list("owner")) == 3
    assert "to delete: 3 memories (everything I remember about you), such as:" in capsys.readouterr().out
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    assert _forget(home.mem, args) == 0 and home.mem.list("owner") == []
    assert [e["decision"] for e in home.audit.entries()] == ["denied", "confirmed"]
    assert len(list((home.data / "receipts").iterdir())) == 1


def test_forgetting_everything_erases_transcripts_and_reply_audio_too(home):
    """What was said also lives in traces.jsonl and the reply audio: "forget everything" erases them;
    forgetting one topic leaves them (they hold other turns too)."""
    (home.data / "traces.jsonl").write_text('{"heard_from_user": "my daughter is Lily"}\n')
    (home.data / "replies").mkdir()
    (home.data / "replies" / "turn-1.wav").write_bytes(b"RIFF")
    _say(home, "Forget everything about Leeds", ForgetAsk(_Answers("yes")))
    assert (home.data / "traces.jsonl").exists()
    reply = _say(home, "Forget everything about me", ForgetAsk(_Answers("yes")))
    assert reply.endswith("Saved transcripts and reply audio are erased too.")
    assert not (home.data / "traces.jsonl").exists() and not (home.data / "replies" / "turn-1.wav").exists()
