"""One table of bad input a user can give the CLI: every row is a typed error with a code and a
hint a user can act on, a non-zero exit, and never a traceback. Nothing here loads a model: each
is refused before any work starts."""

from __future__ import annotations

import json

import pytest

from pipeline.cli.main import main


@pytest.fixture()
def place(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir").mkdir()
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "noise.wav").write_text("not audio at all")
    (tmp_path / "bad.toml").write_text("[llm]\nno_such_key = 1\n")
    (tmp_path / "list.toml").write_text("this is = = not toml")
    return tmp_path


ROWS = [
    (["listen", "missing.wav"], "audio_unreadable", "does not exist"),
    (["listen", "adir"], "audio_unreadable", "is a directory"),
    (["listen", "empty.wav"], "audio_unreadable", "is empty"),
    (["listen", "noise.wav"], "audio_unreadable", "cannot read"),
    (["transcribe", "noise.wav"], "audio_unreadable", "cannot read"),
    (["ask", "\x01\x02  \x03"], "bad_input", "nothing to ask"),
    (["memory", "export", "adir"], "memory_bad_input", "is a folder"),
    (["memory", "recall", "--batch", "missing.jsonl"], "memory_bad_input", "does not exist"),
    (["mcp", "approve", "nosuch"], "mcp_error", "no MCP server named 'nosuch'"),
    (["contacts", "add", ""], "tool_bad_args", "a contact needs a name"),
    (["contacts", "add", "Anna"], "tool_bad_args", "no address given"),
    (["--config", "bad.toml", "models"], "", "no_such_key"),
    (["--config", "list.toml", "models"], "", "list.toml"),
    (["--config", "adir", "models"], "", "adir"),
]


@pytest.mark.parametrize(("argv", "code", "words"), ROWS, ids=[" ".join(r[0])[:40] for r in ROWS])
def test_bad_input_is_a_typed_error_with_a_hint(place, capsys, argv, code, words):
    rc = main(["--data-dir", str(place / "data"), *argv])
    err = capsys.readouterr().err
    assert rc != 0, err
    assert "Traceback" not in err
    assert err.startswith("error [") and (f"error [{code}]" in err if code else True), err
    assert words in err and "hint:" in err, err


def test_one_bad_import_line_is_reported_by_line_and_the_rest_is_kept(place, capsys):
    lines = [
        {"id": "a", "text": "my daughter is called Mia", "time": {}},
        {"id": "b", "text": "I live in Leeds"},
        "not json",
        {"id": "c", "text": "my bike is red", "time": float("1e300")},
    ]
    path = place / "in.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    main(["--data-dir", str(place / "data"), "memory", "import", str(path)])
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text
    assert "line 1" in text and "line 3" in text and "line 4" in text, text
    assert "imported 1" in text, text
