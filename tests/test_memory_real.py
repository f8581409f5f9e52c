"""Memory on a real-shaped conversation: a chat export (JSONL, as `twin memory import` reads it, with
who said each turn, sessions, and the export's own timestamps) asked through the code of
`twin memory recall --batch`. An answer that shares no word with the question is found through the
turn before it; a person asked about by their full name is found under their nickname; another
person's imported chat never comes back; forgetting a turn leaves nothing of it in the next turn's
key. The conversation here is written for this test, apart from the bench's DEV and TEST sets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from memory import Memory
from memory.batch import recall_batch
from memory.index import terms
from memory.keys import key_text

SAM = [  # (session, when, who, text)
    ("s1", "4:10 pm on 2 March, 2024", "Sam", "Morning! How did the interview go yesterday?"),
    ("s1", "4:10 pm on 2 March, 2024", "Priya", "They offered it to me on the spot!!"),
    ("s1", "4:10 pm on 2 March, 2024", "Sam", "Amazing, I knew you would smash it"),
    ("s1", "4:10 pm on 2 March, 2024", "Priya", "I start after Easter, so I have a few weeks off first"),
    ("s1", "4:10 pm on 2 March, 2024", "Sam", "Are you going anywhere nice?"),
    ("s1", "4:10 pm on 2 March, 2024", "Priya", "Probably my aunt's place in Kerala for ten days"),
    ("s1", "4:10 pm on 2 March, 2024", "Sam", "Bring me back some banana chips"),
    ("s1", "4:10 pm on 2 March, 2024", "Priya", "Only if you water my plants while I'm gone"),
    ("s2", "Sat, 16 Mar 2024 11:20:00 +0000", "Kate", "Did you go to the fete at the church?"),
    ("s2", "Sat, 16 Mar 2024 11:20:00 +0000", "Sam", "Yes, Jo ran the cake stall all afternoon"),
    (
        "s2",
        "Sat, 16 Mar 2024 11:20:00 +0000",
        "Kate",
        "I baked a lemon drizzle for the fete, it sold in an hour",
    ),
    (
        "s2",
        "Sat, 16 Mar 2024 11:20:00 +0000",
        "Jo",
        "I baked chocolate brownies for the fete, they went fast",
    ),
    (
        "s2",
        "Sat, 16 Mar 2024 11:20:00 +0000",
        "Sam",
        "My car failed its MOT on Thursday, the brakes are gone",
    ),
    ("s2", "Sat, 16 Mar 2024 11:20:00 +0000", "Kate", "Ouch. How much is the repair?"),
    ("s2", "Sat, 16 Mar 2024 11:20:00 +0000", "Sam", "About three hundred quid, the garage on Mill Lane"),
    ("s2", "Sat, 16 Mar 2024 11:20:00 +0000", "Jo", "Use Dave's garage next time, he's cheaper"),
    ("s3", "2024-04-02T19:05:00", "Sam", "I've finally booked the dentist for my cracked tooth"),
    ("s3", "2024-04-02T19:05:00", "Kate", "About time. When is it?"),
    ("s3", "2024-04-02T19:05:00", "Sam", "Tuesday at nine, before work"),
    ("s3", "2024-04-02T19:05:00", "Kate", "Mum says the new puppy chewed through the sofa"),
    ("s3", "2024-04-02T19:05:00", "Sam", "What did they call him in the end?"),
    ("s3", "2024-04-02T19:05:00", "Kate", "Pickle. Dad wanted Rover, he was outvoted"),
]
ALEX = [  # another person's chat, in their own scope, about look-alike things
    ("a1", "2024-03-03T10:00:00", "Alex", "I got the job at the bakery, they offered it on the spot"),
    ("a1", "2024-03-03T10:00:00", "Alex", "My sister Kate baked a lemon cake for the fete"),
    ("a1", "2024-03-03T10:00:00", "Alex", "Our puppy is called Biscuit and he chewed my shoes"),
]


def _export(path, scope: str, turns) -> None:
    lines = [
        json.dumps(
            {"id": f"{scope}-{n}", "speaker": scope, "said_by": who, "session": s, "time": t, "text": x}
        )
        for n, (s, t, who, x) in enumerate(turns, 1)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def mem(tmp_path_factory):
    work = tmp_path_factory.mktemp("memory-real")
    m = Memory(work / "memory")
    for scope, turns in (("sam", SAM), ("alex", ALEX)):
        _export(work / f"{scope}.jsonl", scope, turns)
        done, errors = m.import_file(work / f"{scope}.jsonl")
        assert (done, errors) == (len(turns), [])
    yield m
    m.close()


def _ask(mem, query: str, speaker: str = "sam", k: int = 10) -> list[str]:
    results, skipped = recall_batch(mem, [(1, {"query": query, "speaker": speaker})], "owner", k=k)
    assert not skipped
    return results[0]["ids"]


def test_import_keeps_who_said_it_and_links_turns_within_a_session(mem):
    answer = mem.items["sam-2"]
    assert answer.said_by == "Priya" and answer.follows == "sam-1"
    assert mem.items["sam-1"].follows == ""  # the first turn follows nothing
    assert mem.items["sam-9"].follows == ""  # a new session starts a new chain
    assert mem.items["sam-10"].follows == "sam-9"


@pytest.mark.parametrize(
    ("question", "evidence", "within"),
    [
        ("Did my friend get the job?", "sam-2", 1),  # "They offered it to me on the spot!!"
        ("When is my dentist appointment?", "sam-19", 5),  # "Tuesday at nine, before work"
    ],
)
def test_an_answer_sharing_no_word_with_the_question_is_found(mem, question, evidence, within):
    """The answer is found through the turn before it (its key holds that turn's words): with each
    turn's own words alone these rank 3rd and 6th."""
    assert not set(terms(question)) & set(terms(mem.items[evidence].text))
    assert evidence in _ask(mem, question)[:within]


def test_a_full_name_finds_the_nickname(mem):
    """Kate and Jo both baked for the fete; asked by Kate's full name, hers comes first."""
    ids = _ask(mem, "What did Katherine bake for the fete?")
    assert "sam-11" in ids[:3]
    assert ids.index("sam-11") < ids.index("sam-12")


def test_no_cross_speaker_leak(mem):
    for query in ("Did my friend get the job?", "What did Kate bake?", "What is the puppy called?"):
        for item_id in _ask(mem, query, "sam", k=25):
            assert mem.items[item_id].speaker == "sam"
        for item_id in _ask(mem, query, "alex", k=25):
            assert mem.items[item_id].speaker == "alex"


def test_a_bad_said_by_is_that_lines_error_only(tmp_path, mem):
    path = tmp_path / "chat.jsonl"
    rows = [
        {"id": "b1", "speaker": "bea", "said_by": "Bea", "time": "2024-05-01T10:00:00", "text": "Hi there"},
        {
            "id": "b2",
            "speaker": "bea",
            "said_by": {"name": "Bo"},
            "time": "2024-05-01T10:00:00",
            "text": "Hey",
        },
        {"id": "b3", "speaker": "bea", "said_by": "Bo", "session": ["x"], "time": "2024-05-01", "text": "Hm"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    done, errors = mem.import_file(path)
    assert done == 1 and [n for n, _ in errors] == [2, 3]
    assert "said_by" in errors[0][1] and "session" in errors[1][1]


def test_forgetting_a_turn_leaves_nothing_of_it_in_the_next_turns_key(tmp_path):
    work = tmp_path / "memory"
    m = Memory(work)
    try:
        _export(tmp_path / "sam.jsonl", "sam", SAM[:4])
        assert m.import_file(tmp_path / "sam.jsonl")[0] == 4
        answer = m.items["sam-2"]
        with_context = m._vector(answer).copy()
        m.forget(["sam-1"])
        after = m.items["sam-2"]
        alone = m.embedder.embed([key_text(after, None)])[0]
        assert after.follows == ""
        assert not np.allclose(with_context, alone, atol=1e-3)
        assert np.allclose(m._vector(after), alone, atol=1e-5)
    finally:
        m.close()
    reopened = Memory(work)  # the store holds the new vector and the broken link too
    try:
        item = reopened.items["sam-2"]
        assert item.follows == ""
        assert np.allclose(reopened._vector(item), alone, atol=1e-5)
    finally:
        reopened.close()


def test_export_and_import_keep_who_said_it_and_the_turn_keys(tmp_path, mem):
    """`twin memory export` then `import` into a fresh store: the same links, the same vectors."""
    mem.export(tmp_path / "export.json")
    other = Memory(tmp_path / "memory")
    try:
        done, errors = other.import_file(tmp_path / "export.json")
        assert errors == [] and done == len(mem.items)
        item = other.items["sam-2"]
        assert (item.said_by, item.follows) == ("Priya", "sam-1")
        assert np.allclose(other._vector(item), mem._vector(mem.items["sam-2"]), atol=1e-5)
    finally:
        other.close()


def test_the_bench_sets_are_annotated_and_import_cleanly(tmp_path):
    """`twin bench memory --real`'s conversations: every evidence annotation names exactly one turn
    (checked by `build`), every line imports through the real import, and no question of either
    split gets a turn of another person's scope back, whichever method asks."""
    from bench.memory_conversations import build
    from bench.memory_real import run_split

    for split in ("dev", "test"):
        convs, questions = build(split)
        assert questions and all(q.evidence for q in questions)
        assert len({c.scope for c in convs}) == 2  # the asker's chats and another person's
    report = run_split("dev", tmp_path)  # raises if an import line or a batch line was refused
    for name, quality in report["quality"].items():
        assert quality["cross_speaker_leaks"] == 0, name


def test_a_date_without_a_year_finds_an_older_chat(mem):
    """Asked in January 2026 about "16 March", the chat of 16 March 2024 is what comes back (no
    16 March 2025 in this store): the date is tried in earlier years before it is dropped."""
    line = {"query": "What did Kate say on 16 March?", "speaker": "sam", "time": "2026-01-10T12:00:00"}
    results, skipped = recall_batch(mem, [(1, line)], "owner", k=8)
    assert not skipped
    assert set(results[0]["ids"]) == {f"sam-{n}" for n in range(9, 17)}  # the 8 turns of that day


def test_time_windows_step_back_years_only_for_a_named_date():
    from datetime import datetime

    from memory.timeparse import time_windows

    now = datetime(2026, 1, 15, 12, 0).astimezone()
    dated = time_windows("what happened on 3 November?", now, years=3)
    assert [datetime.fromtimestamp(w[0]).date().isoformat() for w in dated] == [
        "2025-11-03",
        "2024-11-03",
        "2023-11-03",
        "2022-11-03",
    ]
    assert len(time_windows("what did I do yesterday?", now)) == 1
    assert time_windows("where is the key?", now) == []
