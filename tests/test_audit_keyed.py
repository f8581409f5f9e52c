"""The keyed audit chain (issue 10, findings 4, 5 and 14): truncation, edits, forgeries and deletion
never verify clean, an append refuses a log whose end disagrees with its records, and no act or
sensitive tool runs without an intent entry on disk."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import hmac
import json
import os
import stat
from pathlib import Path

import pytest

from pipeline.acting import audit as audit_mod
from pipeline.acting.audit import AuditBrokenError, AuditKeyError, AuditLog, AuditWriteError
from pipeline.acting.permissions import PermissionGate, Provenance, Speaker, answer_with
from pipeline.acting.runner import ToolRunner, TurnTools
from pipeline.cli.main import main
from pipeline.tools.base import Tier, Tool, ToolCall, ToolRegistry, ToolResult
from pipeline.tools.local import LocalTools


@pytest.fixture(autouse=True)
def key_file(tmp_path_factory, monkeypatch) -> Path:
    """A config folder of this test's own, outside its data directory (never the user's ~/.config)."""
    config = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.delenv("TWIN_AUDIT_KEY_FILE", raising=False)
    return config / "twin" / "audit.key"


@pytest.fixture()
def data(tmp_path) -> Path:
    return tmp_path / "data"


def _log(data: Path, n: int = 3) -> AuditLog:
    log = AuditLog(data / "audit.jsonl")
    for i in range(n):
        log.append(
            tool="set_timer", args={"minutes": i}, tier="act", decision="auto", who="owner", result="ok"
        )
    return log


def _turn(text: str = "do it", answer: str | None = None) -> TurnTools:
    return TurnTools(Speaker("owner", "owner"), Provenance(text), answer_with(answer))


def _lines(log: AuditLog) -> list[str]:
    return log.path.read_text().splitlines(keepends=True)


def _cut_last(log: AuditLog) -> None:
    """What an attacker with the data directory does: drop the last entry and fix the head to match."""
    lines = _lines(log)[:-1]
    log.path.write_text("".join(lines))
    last = json.loads(lines[-1])
    log.head_path.write_text(json.dumps({"seq": last["seq"], "hash": last["hash"]}))


# -- finding 4: truncation, edits, forgeries, deletion ------------------------------------------------


def test_a_truncated_log_is_not_reanchored_by_the_next_tool_call(data):
    local = LocalTools(data)
    log = AuditLog(data / "audit.jsonl")
    runner = ToolRunner(local.registry(), PermissionGate(), log, data)
    for minutes in (1, 2):
        assert asyncio.run(runner.run(ToolCall("set_timer", {"minutes": minutes}), _turn())).status == "ok"
    _cut_last(log)
    before = log.path.read_bytes()

    out = asyncio.run(runner.run(ToolCall("set_timer", {"minutes": 7}), _turn("set a timer for 7 minutes")))
    assert (out.status, out.decision) == ("error", "not_run") and "audit_broken" in out.reasons
    assert len(local.timers.read()["timers"]) == 2  # the third timer was never set
    assert log.path.read_bytes() == before  # and nothing was chained onto the cut log
    check = log.verify()
    assert not check.ok and "anchor" in check.reason and "cut off" in check.reason
    with pytest.raises(AuditBrokenError):
        log.append(tool="x")


def test_an_edit_recomputed_without_the_key_does_not_verify(data):
    log = _log(data)
    entries = [json.loads(line) for line in _lines(log)]
    entries[1]["args"] = {"minutes": 99}
    prev = audit_mod.GENESIS
    for e in entries:  # the whole chain recomputed the way the old, unkeyed log allowed
        e["prev"] = prev
        e["hash"] = hashlib.sha256(
            json.dumps({k: v for k, v in e.items() if k != "hash"}, sort_keys=True).encode()
        ).hexdigest()
        prev = e["hash"]
    log.path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    log.head_path.write_text(json.dumps({"seq": 3, "hash": prev}))
    check = log.verify()
    assert not check.ok and check.broken_line == 1 and "edited" in check.reason


def test_a_forged_confirmed_call_does_not_verify(data):
    log = _log(data)
    last = json.loads(_lines(log)[-1])
    forged = {"seq": 4, "tool": "send_message", "decision": "confirmed", "status": "ok", "prev": last["hash"]}
    wrong_key = os.urandom(32)  # any key but the real one
    body = json.dumps(forged, sort_keys=True, ensure_ascii=False).encode()
    forged["hash"] = hmac.new(wrong_key, body, hashlib.sha256).hexdigest()
    with log.path.open("a") as f:
        f.write(json.dumps(forged) + "\n")
    log.head_path.write_text(json.dumps({"seq": 4, "hash": forged["hash"]}))
    check = log.verify()
    assert not check.ok and check.broken_line == 4
    with pytest.raises(AuditBrokenError):  # and nothing chains onto it
        log.append(tool="x")


def test_deleting_the_log_and_its_head_is_found(data, capsys):
    log = _log(data, 2)
    log.path.unlink()
    log.head_path.unlink()
    check = log.verify()
    assert not check.ok and "anchor" in check.reason and check.entries == 0
    with pytest.raises(AuditBrokenError, match="empty or gone"):
        log.append(tool="x")
    assert main(["--data-dir", str(data), "audit", "--verify"]) == 5
    assert "error [audit_broken]" in capsys.readouterr().err


def test_a_missing_key_is_said_plainly(data, key_file, capsys):
    _log(data, 2)
    key_file.unlink()
    check = AuditLog(data / "audit.jsonl").verify()
    assert not check.ok and check.where == "the key" and "missing" in check.reason
    assert main(["--data-dir", str(data), "audit", "--verify"]) == 5
    err = capsys.readouterr().err
    assert "error [audit_key]" in err and str(key_file) in err and "missing" in err
    with pytest.raises(AuditKeyError):  # a new key would make the old entries unprovable
        AuditLog(data / "audit.jsonl").append(tool="x")


def test_the_key_is_made_private_outside_the_data_directory(data, tmp_path, key_file, monkeypatch):
    log = _log(data, 1)
    assert log.key_file == key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert log.anchor_path.parent.parent == key_file.parent and log.verify().ok
    monkeypatch.setenv("TWIN_AUDIT_KEY_FILE", str(tmp_path / "elsewhere" / "k"))
    assert AuditLog(tmp_path / "other" / "audit.jsonl").key_file == tmp_path / "elsewhere" / "k"
    monkeypatch.setenv("TWIN_AUDIT_KEY_FILE", str(data / "audit.key"))  # a key the data's editor could read
    with pytest.raises(AuditKeyError, match="inside the data directory"):
        AuditLog(data / "audit.jsonl").append(tool="x")


def test_a_crash_between_the_line_and_its_records_is_recovered(data, key_file):
    """Only one authentic entry past the anchor is accepted: Twin wrote it, its records lag."""
    log = _log(data, 2)
    head, anchor = log.head_path.read_bytes(), log.anchor_path.read_bytes()
    log.append(tool="set_timer", args={}, tier="act", decision="auto", who="owner", result="ok")
    log.head_path.write_bytes(head)
    log.anchor_path.write_bytes(anchor)
    log.append(tool="set_timer", args={}, tier="act", decision="auto", who="owner", result="ok")
    assert log.verify().ok and log.verify().entries == 4


# -- finding 14: a head that is not an object ---------------------------------------------------------


@pytest.mark.parametrize("head", ["[1, 2]", '"x"', "7", "null", '{"seq": "3"}'])
def test_a_head_that_is_not_an_object_is_a_typed_error(data, head, capsys):
    log = _log(data, 2)
    log.head_path.write_text(head)
    check = log.verify()
    assert not check.ok and "head" in check.reason
    with pytest.raises(AuditBrokenError):
        log.append(tool="x")
    assert main(["--data-dir", str(data), "audit", "--verify"]) == 5
    assert "error [audit_broken]" in capsys.readouterr().err


# -- finding 5: no tool runs unrecorded ---------------------------------------------------------------


def _recording_tool(ran: list, tier: Tier = Tier.ACT, log: AuditLog | None = None) -> ToolRegistry:
    def handler(a):
        ran.append(log.records()[-1] if log else True)  # what the log held when the action ran
        return ToolResult(True, "done")

    return ToolRegistry([Tool("poke", "poke something", tier, {}, handler)])


def test_the_intent_is_on_disk_before_the_tool_runs(data):
    log, ran = AuditLog(data / "audit.jsonl"), []
    runner = ToolRunner(_recording_tool(ran, log=log), PermissionGate(), log, data)
    out = asyncio.run(runner.run(ToolCall("poke", {}), _turn("poke")))
    assert out.status == "ok" and ran[0]["phase"] == "intent" and ran[0]["tool"] == "poke"
    records = log.records()
    assert [(r.get("phase"), r["status"]) for r in records] == [("intent", "intent"), (None, "ok")]
    assert records[0]["key"] == records[1]["key"] and log.verify().ok
    assert [e["status"] for e in log.entries()] == ["ok"]  # one row per call


@pytest.mark.parametrize("how", ["disk_full", "not_a_file"])
def test_an_unwritable_audit_means_the_tool_does_not_run(data, monkeypatch, how):
    log, ran = AuditLog(data / "audit.jsonl"), []
    if how == "disk_full":

        def full(path, line):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(audit_mod, "append_line", full)
    else:
        (data / "audit.jsonl").mkdir(parents=True)
    runner = ToolRunner(_recording_tool(ran, Tier.SENSITIVE), PermissionGate(), log, data)
    out = asyncio.run(runner.run(ToolCall("poke", {}), _turn("poke", answer="yes")))
    assert ran == [] and (out.status, out.decision) == ("error", "not_run")
    assert "audit_unwritable" in out.reasons and "could not be written" in out.summary
    assert "free disk space" in out.summary  # the hint travels with it


def test_a_lost_outcome_entry_is_reported_not_raised(data, monkeypatch):
    """The disk fills while the tool runs: the action happened, its intent is on disk, and the turn
    gets its outcome with the audit failure named instead of a traceback."""
    log = AuditLog(data / "audit.jsonl")

    def handler(a):
        monkeypatch.setattr(log, "append", lambda **f: (_ for _ in ()).throw(AuditWriteError("disk full")))
        return ToolResult(True, "done")

    runner = ToolRunner(ToolRegistry([Tool("poke", "", Tier.ACT, {}, handler)]), PermissionGate(), log, data)
    out = asyncio.run(runner.run(ToolCall("poke", {}), _turn("poke")))
    assert out.status == "ok" and "audit_unwritable" in out.reasons
    assert [r["status"] for r in AuditLog(data / "audit.jsonl").entries()] == ["intent"]  # the trace left


def test_read_tools_need_no_intent(data):
    log, ran = AuditLog(data / "audit.jsonl"), []
    runner = ToolRunner(_recording_tool(ran, Tier.READ), PermissionGate(), log, data)
    assert asyncio.run(runner.run(ToolCall("poke", {}), _turn("poke"))).status == "ok"
    assert [r["status"] for r in log.records()] == ["ok"]


def test_a_log_from_before_keying_is_named_as_such_and_not_extended(data):
    """An upgrade: the old unkeyed log neither verifies nor takes new entries, and says why."""
    data.mkdir()
    entry = {"seq": 1, "tool": "set_timer", "prev": audit_mod.GENESIS}
    entry["hash"] = hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()
    (data / "audit.jsonl").write_text(json.dumps(entry) + "\n")
    (data / "audit.jsonl.head").write_text(json.dumps({"seq": 1, "hash": entry["hash"]}))
    AuditLog(data / "elsewhere.jsonl").append(tool="x")  # the key exists: only this log predates it
    check = AuditLog(data / "audit.jsonl").verify()
    assert not check.ok and check.broken_line == 1 and "not written with this key" in check.reason
    with pytest.raises(AuditBrokenError, match="no anchor") as exc:
        AuditLog(data / "audit.jsonl").append(tool="x")
    assert "move it aside" in exc.value.hint


def test_an_upgrade_keeps_the_unkeyed_log_aside_and_starts_a_keyed_one(data, key_file):
    """The first keyed write on a machine that has only ever had an unkeyed log (no key, no anchor):
    the old log is kept, renamed, and tools go on working instead of being blocked."""
    data.mkdir()
    entry = {"seq": 1, "tool": "set_timer", "prev": audit_mod.GENESIS}
    entry["hash"] = hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()
    old = json.dumps(entry) + "\n"
    (data / "audit.jsonl").write_text(old)
    (data / "audit.jsonl.head").write_text(json.dumps({"seq": 1, "hash": entry["hash"]}))
    assert not key_file.exists()
    log = AuditLog(data / "audit.jsonl")
    log.append(tool="set_timer", decision="auto", status="ok")
    kept = [p for p in data.iterdir() if ".unkeyed-" in p.name]
    assert len(kept) == 2 and any(p.read_text() == old for p in kept)
    assert log.verify().ok and [e["seq"] for e in log.records()] == [1]
