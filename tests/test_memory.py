"""Long-term memory on real embeddings and a real embedded Qdrant."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

import pytest
from conftest import ROOT

from memory import Kind, Memory, MemoryInputError, MemoryStoreError


def confirmed(mem, text: str, speaker: str) -> str:
    """A spoken forget command carried out as after a yes (the conversation asks for it:
    tests/test_forget_voice.py); the reply it would speak."""
    plan = mem.plan_command(text, speaker)
    assert plan is not None, text
    return plan.done(mem.carry_out(plan, speaker)) if plan.items else plan.nothing()


def test_policy_writes_facts_not_chit_chat(mem):
    assert mem.observe("What a lovely morning it is", "", "anna") == []
    assert mem.observe("Tell me a joke", "", "anna") == []
    written = mem.observe("My daughter's name is Lily.", "", "anna")
    assert [(w.kind, w.key) for w in written] == [(Kind.PERSON, "daughter.name")]
    written = mem.observe("Remember that the spare key is under the blue pot", "", "anna")
    assert written and "spare key is under the blue pot" in written[0].text.lower()
    assert mem.observe("I like jazz music", "", "anna")[0].text == "You like jazz music"
    # the same fact again is merged, not duplicated
    mem.observe("I like jazz music", "", "anna")
    assert sum("jazz" in i.text for i in mem.list("anna")) == 1


def test_changed_fact_supersedes_and_history_remains(mem):
    mem.observe("I live in Leeds", "", "anna")
    mem.observe("I live in Manchester now", "", "anna")
    assert mem.recall("where do I live?", "anna", 0.5) == ["You live in Manchester now"]
    history = [i for i in mem.list("anna", include_history=True) if i.key == "user.lives_in"]
    old = next(i for i in history if "Leeds" in i.text)
    new = next(i for i in history if "Manchester" in i.text)
    assert old.valid_to is not None and old.superseded_by == new.id and new.current


def test_speakers_are_isolated(mem):
    mem.observe("My doctor is called Dr Patel", "", "anna")
    mem.remember("The bins go out on Thursday night", "household")
    assert mem.recall("who is my doctor?", "bob", 0.5) == []
    assert mem.recall("who is my doctor?", "guest", 0.5) == []
    assert any("Patel" in line for line in mem.recall("who is my doctor?", "anna", 0.5))
    assert any("Thursday" in line for line in mem.recall("when do the bins go out?", "bob", 0.5))


def test_chinese_and_english(mem):
    mem.remember("我女儿叫莉莉", "anna")
    mem.remember("I park my car on level three", "anna")
    assert mem.search("我女儿叫什么名字", "anna", k=1)[0].item.text == "我女儿叫莉莉"
    assert "level three" in mem.search("where did I park the car", "anna", k=1)[0].item.text


def test_time_aware_recall(mem):
    now = datetime(2026, 3, 5, 12, 0).astimezone()  # a Thursday: the test never depends on today
    tuesday = datetime(2026, 3, 3, 15, 0).astimezone()
    mem.remember("The user went to the dentist", "anna", Kind.EPISODE, at=tuesday.timestamp())
    mem.remember(
        "The user went to the cinema", "anna", Kind.EPISODE, at=(tuesday - timedelta(days=3)).timestamp()
    )
    hits = mem.search("what did I do last Tuesday?", "anna", k=2, now=now.timestamp())
    assert hits[0].item.text == "The user went to the dentist" and len(hits) == 1


def test_time_windows_in_english_questions():
    from memory.timeparse import time_window

    now = datetime(2026, 11, 24, 15, 0).astimezone()  # a Tuesday

    def day(query: str) -> str | None:
        window = time_window(query, now)
        return None if window is None else datetime.fromtimestamp(window[0]).strftime("%Y-%m-%d")

    assert day("What did I do yesterday?") == "2026-11-23"
    assert day("Who did I see 12 days ago?") == "2026-11-12"
    assert day("what happened a day ago") == "2026-11-23"
    assert day("Who did I call last Tuesday?") == "2026-11-17"
    assert day("Who did I play tennis with on 14 March?") == "2026-03-14"
    assert day("what did I do on the 3rd of November") == "2026-11-03"
    assert day("Where was I on March 14th?") == "2026-03-14"
    assert day("what did I do on 30 November?") == "2025-11-30"  # not yet this year: last year's
    assert day("What is my dog called?") is None
    assert day("I may 3 times have said it") is None


def test_secrets_are_never_stored(mem, tmp_path):
    mem.observe("Remember my PIN is 4921", "", "anna")
    mem.observe("Remember that my card number is 4111 1111 1111 1111", "", "anna")
    mem.remember("my bank password is hunter2", "anna")
    raw = b"".join(p.read_bytes() for p in (tmp_path / "memory").rglob("*") if p.is_file())
    assert b"4921" not in raw and b"4111" not in raw and b"hunter2" not in raw
    assert any("never stored" in i.text for i in mem.list("anna"))


def test_forget_deletes_for_real(mem):
    a = mem.remember("The user's old job was at the bakery", "anna")
    mem.remember("The user worked night shifts at the bakery", "anna")
    keep = mem.remember("The user likes tea", "anna")
    said = "forget everything about my old job at the bakery"
    assert "twin memory forget" in mem.handle_command(said, "anna")
    assert mem.store.count() == 3  # said where nobody can be asked for a yes: nothing deleted
    assert confirmed(mem, said, "anna").startswith("Done")
    assert mem.store.count() == 1 and set(mem.items) == {keep.id}
    assert all("bakery" not in h.item.text for h in mem.search("bakery", "anna", k=5, include_history=True))
    assert mem.forget([a.id]) == 0  # already gone: nothing else is touched
    mem.observe("I live in York", "", "anna")
    assert confirmed(mem, "forget that", "anna") == "Done, I've forgotten that."
    assert [i.text for i in mem.list("anna")] == ["The user likes tea"]


def test_a_write_refused_right_after_is_forgotten(mem):
    from memory.commands import parse_command

    mem.observe("I live in York", "", "anna")
    assert confirmed(mem, "no, don't remember that", "anna") == "Done, I've forgotten that."
    assert mem.list("anna") == []
    mem.observe("My sister is called Ruth", "", "anna")
    assert confirmed(mem, "please don't keep that", "anna") == "Done, I've forgotten that."
    # the user's own memory, and a request to keep, are no such command
    for text in ("I don't remember that at all", "you don't remember that?", "don't forget that"):
        assert parse_command(text) is None, text


def test_export_import_round_trip_is_lossless(mem, tmp_path):
    mem.observe("I live in Leeds", "", "anna")
    mem.observe("I live in Bath", "", "anna")
    mem.remember("我喜欢喝茶", "bob", Kind.PREFERENCE)
    out = tmp_path / "export.json"
    assert mem.export(out) == 3
    other = Memory.open(tmp_path / "other")
    try:
        n, errors = other.import_file(out)
        assert (n, errors) == (3, [])
        before = {i.id: i.to_payload() for i in mem.list(include_history=True)}
        after = {i.id: i.to_payload() for i in other.list(include_history=True)}
        assert before == after
        assert other.recall("where do I live", "anna", 0.5) == ["You live in Bath"]
    finally:
        other.close()


def test_jsonl_import_reports_bad_lines_and_keeps_the_rest(mem, tmp_path):
    kept = mem.remember("The user likes tea", "anna")
    lines = [
        '{"id": "m1", "text": "Went hiking in the Dales", "speaker": "anna", '
        '"time": "2026-11-20T10:00:00", "kind": "episode"}',
        "this is not json",
        '{"id": "m3"}',
        '{"id": "m4", "text": "' + "x" * 100_000 + '"}',
        '{"id": "m5", "text": "Likes chess", "kind": "hobby"}',
        '{"id": "m6", "text": "Plays the piano"}',
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    n, errors = mem.import_file(path)
    assert n == 2 and [line for line, _ in errors] == [2, 3, 4, 5]
    assert {"m1", "m6", kept.id} <= set(mem.items)
    assert mem.items["m1"].kind == Kind.EPISODE


@pytest.mark.parametrize("bad", ["", "   ", "x" * 100_000, "\x00\x01\x02" * 50, None])
def test_bad_text_is_refused_and_nothing_is_lost(mem, bad):
    kept = mem.remember("The user likes tea", "anna")
    with pytest.raises(MemoryInputError):
        mem.remember(bad, "anna")  # type: ignore[arg-type]
    assert set(mem.items) == {kept.id} and mem.store.count() == 1


def test_locked_and_corrupt_store_give_clear_errors(tmp_path):
    mem = Memory.open(tmp_path / "memory")
    mem.remember("The user likes tea", "anna")
    script = f"from memory import Memory; Memory({str(tmp_path / 'memory')!r})"
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "in use by another Twin process" in r.stderr
    mem.close()
    sqlite = next((tmp_path / "memory").rglob("storage.sqlite"))
    sqlite.write_bytes(b"this is not a database" * 100)
    with pytest.raises(MemoryStoreError) as err:
        Memory(tmp_path / "memory")
    assert "twin memory import" in err.value.hint


WRITER = """
import sys
import threading
from memory import Memory
m = Memory(sys.argv[1])
for i in range(10_000):
    item = m.remember(f"note number {i} about topic {i % 17}", "anna")
    print(item.id, flush=True)
"""


def test_kill_9_during_writes_loses_no_committed_item(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path / "memory")], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    committed: list[str] = []
    deadline = time.monotonic() + 120
    while len(committed) < 40 and time.monotonic() < deadline:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if line:
            committed.append(line.strip())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(committed) >= 40
    mem = Memory.open(tmp_path / "memory")
    try:
        missing = [i for i in committed if i not in mem.items]
        print(f"\ncrash test: {len(committed)} committed before kill -9, {len(missing)} lost")
        assert missing == []
    finally:
        mem.close()


class StalledMemoryFake:
    """Stands in for a memory store that has stalled (a slow disk, a far server): its recall blocks
    until the test releases it, and records whether it was still blocked when the turn ended."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.returned = threading.Event()

    def recall(self, query, speaker, budget_s):
        self.release.wait(60)
        self.returned.set()
        return ["this arrives far too late"]

    def observe(self, *args):
        return []

    def handle_command(self, text, speaker):
        return None


@pytest.mark.models
def test_recall_budget_holds_when_the_store_is_slow(twin):
    """The reply does not wait for a stalled store: the turn completes, answered without memory,
    while the store's recall is still blocked (its cost is `twin bench latency`'s, not a timer's)."""
    store = StalledMemoryFake()
    twin.memory = twin.memory_bridge.memory = store  # the bridge's is the store a turn recalls from
    try:
        result = asyncio.run(twin.ask("What is the capital of France?"))
        finished_while_stalled = not store.returned.is_set()
    finally:
        store.release.set()
    assert finished_while_stalled, "the turn waited for the stalled store instead of its recall budget"
    assert "paris" in result.reply.lower()
    assert "far too late" not in twin.history[-3]["content"]


@pytest.mark.models
def test_told_on_monday_recalled_on_friday_by_voice(cfg, components, synth, tmp_path):
    """A fresh session (a new Twin, the store reopened) remembers what an earlier one was told. The
    clock Twin reads is frozen (a Monday, then the Friday): the prompt never depends on today."""
    from devices.sinks import BufferSink
    from pipeline.runtime.session import Twin

    monday, friday = datetime(2026, 3, 2, 10, 0).astimezone(), datetime(2026, 3, 6, 8, 0).astimezone()
    first = Twin(cfg, components, clock=lambda: monday)
    said = asyncio.run(
        first.listen_clip(synth("Remember that my dentist appointment is on Friday at nine."), BufferSink())
    )
    assert "dentist" in said.transcript.lower()
    first.flush_memory()
    later = Twin(cfg, components, clock=lambda: friday)  # a new conversation: no history, only memory
    result = asyncio.run(later.listen_clip(synth("When is my dentist appointment?"), BufferSink()))
    assert later.dialogue[0]["content"].lower().startswith("when is my dentist")
    recalled = components.memory.recall("When is my dentist appointment?", None, 1.0)
    assert any("friday" in line.lower() for line in recalled)
    assert "friday" in result.reply.lower(), (recalled, later.history[0]["content"], result.reply)
    listing = asyncio.run(later.ask("What do you remember about me?"))
    assert "dentist" in listing.reply.lower()
    # a typed turn has no one to ask for the yes a deletion needs: not done, and the reply says how
    typed = asyncio.run(later.ask("Forget everything about my dentist appointment."))
    assert "twin memory forget --about 'dentist appointment' --yes" in typed.reply
    assert any("dentist" in i.text.lower() for i in components.memory.list(None, include_history=True))


def test_memory_cli(tmp_path):
    def twin(*args):
        return subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "--data-dir", str(tmp_path / "d"), "memory", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )

    assert twin("remember", "The user likes tea").returncode == 0
    items = json.loads(twin("list", "--json").stdout)
    assert [i["text"] for i in items] == ["The user likes tea"]
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"query": "what do I drink", "speaker": "owner"}\n{"query": "tea"}\n')
    out = [
        json.loads(line) for line in twin("recall", "--batch", str(queries), "--k", "3").stdout.splitlines()
    ]
    assert [r["ids"] for r in out] == [[items[0]["id"]], [items[0]["id"]]]
    r = twin("list", "--speaker", "nobody")
    assert r.returncode == 2 and "error [memory_bad_input]" in r.stderr
    r = twin("forget", "--everything")  # not at a terminal: deleting needs --yes
    assert r.returncode == 2 and "--yes" in r.stderr and "1 memory (everything" in r.stdout
    assert json.loads(twin("stats", "--json").stdout)["items"] == 1
    r = twin("forget", "--everything", "--yes", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["deleted"] == 1
    assert json.loads(twin("stats", "--json").stdout)["items"] == 0


def test_bench_memory_quick_shrinks_the_history(monkeypatch):
    """`twin bench memory --quick` runs the bench at a tenth of the small talk (the run itself is
    checked by hand: ~20 s)."""
    from bench import memory as bench_memory
    from pipeline.cli.main import build_parser

    calls = []

    def fake_bench(cfg, sizes, json_path, scale=1.0):
        calls.append((sizes, scale))
        return 0

    monkeypatch.setattr(bench_memory, "run_memory_bench", fake_bench)
    for argv, expected in [
        (["bench", "memory", "--quick", "--sizes", "1000"], ([1000], 0.1)),
        (["bench", "memory"], ([1000, 10000, 100000], 1.0)),
    ]:
        args = build_parser().parse_args(argv)
        assert args.handler(None, args) == 0
        assert calls.pop() == expected


def test_consolidation_summarises_old_episodes_and_fades_unused_items(mem):
    now = time.time()
    week_start = (now - 60 * 86400) // (7 * 86400) * 7 * 86400 + 86400
    old = [
        mem.remember(f"You {what}", "anna", Kind.EPISODE, at=week_start + i * 3600)
        for i, what in enumerate(["played tennis with Sam", "visited the museum", "baked bread"])
    ]
    recent = mem.remember("You went to the cinema", "anna", Kind.EPISODE, at=now - 86400)
    trivia = mem.remember("The user once mentioned a blue umbrella", "anna", importance=0.1)
    trivia.created = trivia.valid_from = now - 400 * 86400
    important = mem.remember("You are allergic to penicillin", "anna", importance=0.9)
    important.created = important.valid_from = now - 400 * 86400
    result = mem.consolidate(now=now, episode_days=30, fade_days=90)
    assert result == {"episodes_summarised": 3, "faded": 1}
    texts = [i.text for i in mem.list("anna")]
    summary = next(t for t in texts if t.startswith("In the week of"))
    assert all(w in summary for w in ("tennis with Sam", "museum", "baked bread"))
    assert recent.id in mem.items and important.id in mem.items and trivia.id not in mem.items
    assert not any(o.id in mem.items for o in old) and mem.store.count() == len(mem.items)
    assert "tennis" in mem.search("who did I play tennis with?", "anna", k=1)[0].item.text
