"""`twin tools list` and `twin audit [--verify] [--json]`, run in-process."""

from __future__ import annotations

import json

from pipeline.acting.audit import AuditLog
from pipeline.cli.main import main


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
