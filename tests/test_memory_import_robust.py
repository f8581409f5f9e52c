"""Issue 10, findings 3, 8, 9, 14, 15 (memory's part): an import never replaces what is stored,
one bad field is one line's error, stored values can never break a listing, export writes only
valid JSON, a full disk gives a typed error with the partial count, the CLI gives typed errors for
a bad batch or an export to a folder, and memory's files are private."""

from __future__ import annotations

import errno
import json
import math
import os
import stat
import subprocess
import sys

import pytest
from conftest import ROOT

from memory import MemoryDiskFullError, MemoryImportStopped, MemoryInputError, MemoryItem
from memory.store import QdrantStore


def _jsonl(tmp_path, lines: list[str]):
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_existing_id_is_a_conflict_never_a_replacement(mem, tmp_path):
    kept = mem.remember("The user likes tea", "anna", item_id="m1")
    path = _jsonl(
        tmp_path,
        [
            '{"id": "m2", "text": "Plays the piano"}',
            '{"id": "m1", "text": "Hijacked", "speaker": "bob"}',
            '{"id": "m2", "text": "Plays the piano twice"}',
        ],
    )
    n, errors = mem.import_file(path)
    assert n == 1 and [line for line, _ in errors] == [2, 3]
    assert "already stored" in errors[0][1]
    assert mem.items["m1"].text == "The user likes tea" and mem.items["m1"].speaker == "anna"
    assert mem.items["m2"].text == "Plays the piano" and kept.id == "m1"
    # the export format: the same rule
    out = tmp_path / "export.json"
    mem.export(out)
    n, errors = mem.import_file(out)
    assert n == 0 and len(errors) == 2 and all("already stored" in e for _, e in errors)


def test_every_malformed_field_is_one_lines_error_and_the_rest_imports(mem, tmp_path):
    path = _jsonl(
        tmp_path,
        [
            '{"id": "a", "text": "ok one"}',
            '{"id": "b", "text": "bad time", "time": {}}',
            '{"id": "c", "text": "huge time", "time": 1e300}',
            '{"id": "d", "text": "nan time", "time": NaN}',
            '{"id": "e", "text": "inf time", "time": Infinity}',
            '{"id": "f", "text": "bad kind", "kind": ["fact"]}',
            '{"id": {"x": 1}, "text": "bad id"}',
            '{"id": "g", "text": "bad speaker", "speaker": 7}',
            '{"id": "h", "text": "negative", "time": -5}',
            '{"id": "i", "text": "bad iso", "time": "yesterday-ish"}',
            '{"id": "j", "text": "ok two", "time": "2026-11-20T10:00:00"}',
        ],
    )
    n, errors = mem.import_file(path)
    assert n == 2 and [line for line, _ in errors] == list(range(2, 11))
    assert {"a", "j"} <= set(mem.items)


def test_the_export_format_checks_every_field(mem, tmp_path):
    good = MemoryItem("fine", id="ok").to_payload()
    doc = {
        "format": "twin-memory",
        "version": 1,
        "items": [
            good,
            {**good, "id": "t1", "valid_from": 1e300},
            {**good, "id": "t2", "importance": 7},
            {**good, "id": "t3", "use_count": "many"},
            {**good, "id": "t4", "created": None},
            "not an object",
        ],
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(doc))
    n, errors = mem.import_file(path)
    assert n == 1 and [i for i, _ in errors] == [2, 3, 4, 5, 6]


def test_a_damaged_stored_value_cannot_break_a_listing_and_export_writes_valid_json(tmp_path):
    """An item stored before values were checked (time NaN or 1e300): it lists, repaired."""
    store = QdrantStore(512, tmp_path / "memory")
    import numpy as np

    bad = MemoryItem("old import", id="x")
    payload = bad.to_payload() | {"valid_from": 1e300, "created": math.nan, "importance": math.inf}
    store.client.upsert(
        "memories",
        points=[store.models.PointStruct(id=1, vector=np.ones(512).tolist(), payload=payload)],
        wait=True,
    )
    store.close()
    r = _twin(tmp_path, "list")
    assert r.returncode == 0 and "old import" in r.stdout, r.stderr
    r = _twin(tmp_path, "export", str(tmp_path / "out.json"))
    assert r.returncode == 0, r.stderr
    json.loads((tmp_path / "out.json").read_text(), parse_constant=lambda c: pytest.fail(f"bare {c}"))


def test_a_full_disk_stops_an_import_with_the_count_that_got_in(mem, tmp_path, monkeypatch):
    path = _jsonl(tmp_path, [json.dumps({"id": f"m{i}", "text": f"note {i}"}) for i in range(200)])
    monkeypatch.setattr(mem.store.client, "upsert", _enospc_after(mem.store.client.upsert, 167))
    with pytest.raises(MemoryImportStopped) as err:
        mem.import_file(path, batch_size=1)
    assert (
        err.value.message == "imported 167 of 200; the disk is full" and err.value.code == "memory_disk_full"
    )
    assert len(mem.items) == 167
    with pytest.raises(MemoryDiskFullError):  # and remembering says so too, typed
        mem.remember("one more thing", "anna")


def _enospc_after(upsert, n: int):
    calls = []

    def wrapped(*args, **kwargs):
        if len(calls) >= n:
            raise OSError(errno.ENOSPC, "No space left on device")
        calls.append(1)
        return upsert(*args, **kwargs)

    return wrapped


def test_an_export_to_a_folder_or_a_full_disk_is_a_typed_error(mem, tmp_path, monkeypatch):
    import memory.portable

    mem.remember("The user likes tea", "anna")
    with pytest.raises(MemoryInputError, match="is a folder"):
        mem.export(tmp_path)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(memory.portable, "atomic_write_text", full)
    with pytest.raises(MemoryDiskFullError):
        mem.export(tmp_path / "out.json")


def test_memory_files_are_private(mem, tmp_path):
    mem.remember("The user likes tea", "anna")
    mem.export(tmp_path / "exports" / "out.json")
    for root, dirs, files in os.walk(tmp_path / "memory"):
        for d in dirs:
            assert stat.S_IMODE(os.stat(os.path.join(root, d)).st_mode) == 0o700, d
        for f in files:
            assert stat.S_IMODE(os.stat(os.path.join(root, f)).st_mode) == 0o600, f
    assert stat.S_IMODE((tmp_path / "memory").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "exports").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "exports" / "out.json").stat().st_mode) == 0o600


def _twin(tmp_path, *args):
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "--data-dir", str(tmp_path), "memory", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def test_cli_recall_batch_and_export_give_typed_errors(tmp_path):
    assert _twin(tmp_path, "remember", "The user likes tea").returncode == 0
    r = _twin(tmp_path, "recall", "--batch", str(tmp_path / "missing.jsonl"))
    assert r.returncode == 2 and "error [memory_bad_input]" in r.stderr and "Traceback" not in r.stderr
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        '{"query": "tea", "time": "not a time"}\n{"query": "tea", "time": 1e300}\n{"query": "tea"}\n'
    )
    r = _twin(tmp_path, "recall", "--batch", str(queries))
    assert r.returncode == 2 and "line 1: skipped: bad time" in r.stderr and "line 2: skipped" in r.stderr
    assert len(r.stdout.splitlines()) == 1 and "Traceback" not in r.stderr
    r = _twin(tmp_path, "export", str(tmp_path))
    assert r.returncode == 2 and "is a folder" in r.stderr and "Traceback" not in r.stderr
    r = _twin(tmp_path, "forget", "--about", "tea")
    assert r.returncode == 2 and "--yes" in r.stderr
    r = _twin(tmp_path, "forget", "--about", "tea", "--yes")
    assert r.returncode == 0 and "receipt:" in r.stdout
    entries = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(e["decision"], e["result"]["count"]) for e in entries] == [("not_run", 1), ("confirmed", 1)]
