"""Issue 10, finding 7: secrets are redacted wherever Twin keeps words (memory, traces), and "forget
everything" can erase the conversation records that live outside memory."""

from __future__ import annotations

import json
import os
import stat

import pytest

from memory.redaction import redact_secrets
from pipeline.runtime.retention import erase_conversation_records
from pipeline.runtime.trace import WITHHELD, TraceStore, redact_trace_record

SECRETS = [
    ("My PIN is 4321", "4321"),
    ("The garage code is 5580", "5580"),
    ("our front door code is 2 5 8 0", "2 5 8 0"),
    ("the code for the gate is 7788", "7788"),
    ("the code is four three two one", "four three two one"),
    ("the combination to the safe is 12 34 56", "12 34 56"),
    ("safe combination: 19-28-37", "19-28-37"),
    ("my bank login is sam77 and the password is hunter2", "sam77"),
    ("my username is samsmith and my password is hunter2", "samsmith"),
    ("hunter2 is my password", "hunter2"),
    ("my API key is sk-proj-abcdefghijklmnopqrstuv", "abcdefghijklmnop"),
    ("use ghp_abcdefghijklmnopqrstuvwxyz0123 for the repo", "ghp_abcdefghij"),
    ("the key is 3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", "3f9a8b7c6d5e"),
    ("my IBAN is GB82 WEST 1234 5698 7654 32", "WEST 1234"),
    ("send it to DE89370400440532013000 please", "DE8937040044"),
    ("card 4111 1111 1111 1111 expires soon", "4111"),
    ("log in at https://bob:s3cr3tpw@example.com/x", "s3cr3tpw"),
    ("the alarm code is 9090", "9090"),
    ("记住我家门禁码是2580", "2580"),
]

LOOK_ALIKES = [
    "call me at 5",
    "room 101",
    "the code review is at 3",
    "read the code of conduct",
    "my zip code is 90210",
    "a combination of flavours",
    "the login page is broken",
    "what is my username?",
    "the key is under the mat",
    "flight BA 2490 leaves at 7",
    "set a timer for 10 minutes",
    "I live at 221B Baker Street",
    "my phone model is GB12 ABCD 1234",  # IBAN-shaped, wrong check digits
    "the score was 3:2",
    "a token of appreciation",
    "What's 25 times 4?",
]


@pytest.mark.parametrize(("text", "value"), SECRETS)
def test_secrets_are_redacted(text, value):
    out, found = redact_secrets(text)
    assert found and value not in out, out


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_kept(text):
    assert redact_secrets(text) == (text, False)


def _record(heard: str, reply: str, chunks: list[str]) -> dict:
    events = [{"event": "TurnStarted", "t": 0.0, "t_ms": 0.0, "turn_id": 7, "mode": "text"}]
    events.append({"event": "TranscriptReady", "t_ms": 1.0, "text": heard, "language": "en"})
    events += [{"event": "ReplyTextChunk", "t_ms": 2.0, "text": c} for c in chunks]
    events.append({"event": "ReplyTextStop", "t_ms": 3.0, "text": reply})
    events.append({"event": "SentenceReady", "t_ms": 3.0, "text": reply})
    return {
        "turn_id": 7,
        "at": "2026-01-01T00:00:00+00:00",
        "mode": "text",
        "status": "completed",
        "heard_from_user": heard,
        "reply": reply,
        "timings_ms": {"llm_total": 12.5},
        "events": events,
    }


def test_traces_are_written_redacted(tmp_path):
    path = tmp_path / "traces.jsonl"
    store = TraceStore(path, keep=5)
    # an older Twin wrote this turn in clear: it is redacted when the file is next rewritten
    path.write_text(json.dumps(_record("my garage code is 5580", "ok", ["ok"])) + "\n")
    store.append(
        _record("My PIN is 4321", "Got it, your PIN is 43 21.", ["Got it, your PIN is ", "43", " 21", "."])
    )
    raw = path.read_text()
    assert "4321" not in raw and "43 21" not in raw and '"43"' not in raw and "5580" not in raw
    last = store.load()[-1]
    assert "never stored" in last["heard_from_user"]
    assert WITHHELD in {e.get("text") for e in last["events"]}  # the chunk "43" alone looks harmless
    assert last["status"] == "completed" and last["events"][0]["event"] == "TurnStarted"
    assert last["timings_ms"] == {"llm_total": 12.5}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_turn_without_secrets_is_traced_as_it_was():
    rec = _record("what is the capital of France?", "Paris.", ["Par", "is."])
    assert redact_trace_record(rec) == rec
    assert redact_trace_record(redact_trace_record(_record("PIN 4321", "ok", ["ok"]))) == redact_trace_record(
        _record("PIN 4321", "ok", ["ok"])
    )


def test_erase_conversation_records(tmp_path):
    data = tmp_path / "data"
    (data / "replies" / "sub").mkdir(parents=True)
    (data / "demo").mkdir()
    (data / "memory").mkdir()
    (data / "traces.jsonl").write_text('{"heard_from_user": "My PIN is 4321"}\n')
    (data / ".traces.jsonl.abc123").write_text("torn")
    (data / "replies" / "turn-1.wav").write_bytes(b"RIFF")
    (data / "replies" / "sub" / "turn-2.wav").write_bytes(b"RIFF")
    (data / "demo" / "turn1-twin.wav").write_bytes(b"RIFF")
    (data / "memory" / "keep.db").write_bytes(b"x")  # memory is erased by memory itself
    (data / "config.toml").write_text("")
    outside = tmp_path / "outside.wav"
    outside.write_bytes(b"mine")
    os.symlink(outside, data / "replies" / "link.wav")
    assert erase_conversation_records(data) == 6
    assert not (data / "traces.jsonl").exists() and not (data / "replies").exists()
    assert not (data / "demo").exists() and not (data / ".traces.jsonl.abc123").exists()
    assert (data / "memory" / "keep.db").exists() and (data / "config.toml").exists()
    assert outside.read_bytes() == b"mine"  # a link is removed, never followed
    assert erase_conversation_records(data) == 0
    assert erase_conversation_records(tmp_path / "nowhere") == 0
