"""`twin tools list` and `twin audit [--verify] [--json]`, run in-process."""

from __future__ import annotations

import json

import pytest

from pipeline.acting.audit import AuditLog
from pipeline.cli.main import main


@pytest.fixture(autouse=True)
def _audit_key_elsewhere(tmp_path_factory, monkeypatch):
    """The audit key lives outside the data directory: in a config folder of the test's own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.delenv("TWIN_AUDIT_KEY_FILE", raising=False)


def test_tools_list_shows_tiers(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "tools", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["send_message"]["tier"] == "sensitive" and rows["set_timer"]["tier"] == "act"
    assert rows["get_time"]["tier"] == "read" and all(r["timeout_s"] > 0 for r in rows.values())
    assert main(["--data-dir", str(tmp_path), "tools", "list"]) == 0
    assert "delete_notes" in capsys.readouterr().out


def test_audit_verify_reports_where_the_chain_breaks(tmp_path, capsys):
    log = AuditLog(tmp_path / "audit.jsonl")
    for level in (10, 20, 30):
        log.append(
            tool="set_volume",
            args={"level": level},
            tier="act",
            decision="auto",
            who="owner (owner)",
            result=f"volume set to {level}",
        )
    assert main(["--data-dir", str(tmp_path), "audit", "--verify"]) == 0
    out = capsys.readouterr().out
    assert "set_volume" in out and "3 entries verified" in out

    lines = log.path.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace('"level": 20', '"level": 99')
    log.path.write_text("".join(lines))
    assert main(["--data-dir", str(tmp_path), "audit", "--verify"]) == 5
    err = capsys.readouterr().err
    assert "error [audit_broken]" in err and "line 2" in err and "edited" in err

    assert main(["--data-dir", str(tmp_path), "audit", "--verify", "--json"]) == 5
    data = json.loads(capsys.readouterr().out)
    assert data["verify"]["ok"] is False and data["verify"]["broken_line"] == 2 and len(data["entries"]) == 3
    assert log.path.read_text() == "".join(lines)  # reported, never repaired


def test_contacts_list_never_prints_control_characters(tmp_path, capsys):
    """contacts.json edited by hand (or by anything that writes the data directory) still prints clean."""
    (tmp_path / "contacts.json").write_text(
        json.dumps({"contacts": {"\x1b]0;pwned\x07Eve\x1b[2J": {"email": "eve@example.org\x1b[8m"}}})
    )
    assert main(["--data-dir", str(tmp_path), "contacts", "list"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "Eve" in out and "eve@example.org" in out
    assert (
        main(["--data-dir", str(tmp_path), "contacts", "add", "\x1b[31m\x1b[0m", "--email", "a@b.org"]) == 2
    )
    err = capsys.readouterr().err
    assert "error [tool_bad_args]" in err and "control characters" in err and "\x1b" not in err
    assert main(["--data-dir", str(tmp_path), "contacts", "add", "\x1b[1mAnna", "--email", "a@b.org"]) == 0
    assert capsys.readouterr().out == "saved Anna: email a@b.org\n"


def test_audit_shows_a_call_that_started_and_never_finished(tmp_path, capsys):
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append(
        phase="intent",
        tool="set_timer",
        args={"minutes": 5},
        tier="act",
        decision="auto",
        status="intent",
        who="owner (owner)",
        turn="t1",
        key="k1",
    )
    log.append(
        phase="intent",
        tool="send_message",
        args={"to": "Bo"},
        tier="sensitive",
        decision="confirmed",
        status="intent",
        who="owner (owner)",
        turn="t2",
        key="k2",
    )
    log.append(
        tool="set_timer",
        args={"minutes": 5},
        tier="act",
        decision="auto",
        status="ok",
        who="owner (owner)",
        result="timer set",
        turn="t1",
        key="k1",
    )
    assert main(["--data-dir", str(tmp_path), "audit", "--verify"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 3 and "send_message" in rows[0] and "intent" in rows[0] and "set_timer" in rows[1]
    assert rows[-1] == "audit chain ok: 3 entries verified"
