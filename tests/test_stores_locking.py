"""One writer at a time across processes (issue 10, finding 10): real processes write the same audit
log, tool state and contacts at once, and nothing is lost or falsely reported as tampered."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from models import durable
from models.durable import StoreBusyError, locked
from pipeline.acting.audit import AuditLog
from pipeline.acting.permissions import PermissionGate, Provenance, Speaker
from pipeline.acting.runner import ToolRunner, TurnTools
from pipeline.tools.base import ToolCall
from pipeline.tools.local import LocalTools
from pipeline.tools.outbox import Contacts
from pipeline.tools.store import spool

ROOT = Path(__file__).resolve().parents[1]

WRITER = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from pipeline.acting.audit import AuditLog
    from pipeline.acting.permissions import PermissionGate, Provenance, Speaker
    from pipeline.acting.runner import ToolRunner, TurnTools
    from pipeline.tools.base import ToolCall
    from pipeline.tools.local import LocalTools
    from pipeline.tools.outbox import Contacts

    data, who, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    local = LocalTools(data)
    runner = ToolRunner(local.registry(), PermissionGate(), AuditLog(data / "audit.jsonl"), data)
    contacts = Contacts(data)
    (data.parent / f"ready-{who}").touch()
    while not (data.parent / "go").exists():  # both start together
        time.sleep(0.005)

    async def main():
        for i in range(n):
            item = f"{who}{i}"
            turn = TurnTools(Speaker("owner", "owner"), Provenance(f"add {item} to the shopping list"))
            turn.turn_id = f"{who}-{i}"
            out = await runner.run(ToolCall("add_to_list", {"list": "shopping", "item": item}), turn)
            assert out.status == "ok" and not out.reasons, out
            if i % 3 == 0:
                contacts.add(f"{who} person {i}", email=f"{who}{i}@example.org")

    asyncio.run(main())
    """
)

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from models.durable import locked

    store, flag = Path(sys.argv[1]), Path(sys.argv[2])
    with locked(store):
        (flag.parent / (flag.name + ".held")).touch()
        while not flag.exists():
            time.sleep(0.005)
    """
)


@pytest.fixture(autouse=True)
def key_folder(tmp_path_factory, monkeypatch) -> Path:
    """Children inherit this: the key and anchors live in the test's own config folder."""
    config = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.delenv("TWIN_AUDIT_KEY_FILE", raising=False)
    return config


def _spawn(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], cwd=ROOT, stderr=subprocess.PIPE, text=True
    )


def _wait_for(path: Path, proc: subprocess.Popen) -> None:
    """Waits on a file the child writes, not on a guess of how long it takes to start."""
    deadline = time.monotonic() + 60
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    n = 150
    procs = [_spawn(WRITER, str(data), who, str(n)) for who in ("a", "b")]
    for who, p in zip(("a", "b"), procs, strict=True):
        _wait_for(tmp_path / f"ready-{who}", p)
    (tmp_path / "go").touch()
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err

    items = LocalTools(data).lists.read()["lists"]["shopping"]
    assert len(items) == 2 * n and set(items) == {f"{w}{i}" for w in "ab" for i in range(n)}
    log = AuditLog(data / "audit.jsonl")
    check = log.verify()
    assert check.ok, check
    assert check.entries == 4 * n  # an intent and an outcome per call
    assert len(log.entries()) == 2 * n
    assert len(Contacts(data).all()) == 2 * len(range(0, n, 3))


@pytest.fixture()
def held(tmp_path, monkeypatch):
    """Another process holds a store's lock until the test lets go; waits are cut to 0.3 s."""
    monkeypatch.setattr(durable, "LOCK_TIMEOUT_S", 0.3)
    procs: list[tuple[subprocess.Popen, Path]] = []

    def hold(store: Path) -> None:
        flag = tmp_path / f"release-{len(procs)}"
        proc = _spawn(HOLDER, str(store), str(flag))
        procs.append((proc, flag))
        _wait_for(flag.with_name(flag.name + ".held"), proc)

    yield hold
    for proc, flag in procs:
        flag.touch()
        proc.communicate(timeout=60)


def _turn(text: str) -> TurnTools:
    return TurnTools(Speaker("owner", "owner"), Provenance(text))


def test_a_busy_store_is_a_typed_error_naming_it(tmp_path, held):
    data = tmp_path / "data"
    local = LocalTools(data)
    runner = ToolRunner(local.registry(), PermissionGate(), AuditLog(data / "audit.jsonl"), data)

    held(data / "contacts.json")
    with pytest.raises(StoreBusyError, match="contacts.json") as exc:
        Contacts(data).add("Anna", email="anna@example.org")
    assert exc.value.code == "store_busy" and exc.value.hint

    held(data / "outbox")
    with pytest.raises(StoreBusyError, match="outbox"):
        spool(data / "outbox", {"to": "Anna", "text": "hi"})

    held(data / "tools" / "lists.json")
    out = asyncio.run(
        runner.run(ToolCall("add_to_list", {"list": "todo", "item": "eggs"}), _turn("add eggs"))
    )
    assert out.status == "error" and "lists.json" in out.summary and "another Twin process" in out.summary

    held(data / "audit.jsonl")
    out = asyncio.run(
        runner.run(ToolCall("add_to_list", {"list": "todo", "item": "milk"}), _turn("add milk"))
    )
    assert (out.status, out.decision) == ("error", "not_run") and "audit_unwritable" in out.reasons
    assert "audit.jsonl" in out.summary
    assert "milk" not in local.lists.read()["lists"].get("todo", [])


def test_the_lock_is_released_when_its_holder_dies(tmp_path, held):
    store = tmp_path / "s.json"
    proc = _spawn(HOLDER, str(store), str(tmp_path / "never"))
    _wait_for(tmp_path / "never.held", proc)
    proc.kill()
    proc.communicate(timeout=60)
    with locked(store, timeout_s=5):  # the kernel dropped the dead holder's flock
        pass


def test_a_full_disk_is_a_typed_error_and_keeps_the_old_contacts(tmp_path, monkeypatch):
    """Issue 10, finding 9: `twin contacts add` on a full disk gave a raw traceback."""
    import errno

    from pipeline.tools.errors import ToolStateError
    from pipeline.tools.outbox import Contacts

    contacts = Contacts(tmp_path)
    contacts.add("Anna", "anna@example.org")

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(durable, "atomic_write_bytes", no_space)
    with pytest.raises(ToolStateError) as err:
        contacts.add("Bo", "bo@example.org")
    assert "No space left" in err.value.message and "disk space" in err.value.hint
    monkeypatch.undo()
    assert list(Contacts(tmp_path).all()) == ["Anna"]
