"""`twin bench memory`: recall quality on a synthetic multi-session history, against dense-only
and BM25-only baselines in the same run, and recall latency at 1k / 10k / 100k items.

The history generator is ours: several speakers, 30+ sessions over two months, 1,000+ user turns
(chit-chat the write policy must ignore, episodes, preferences) and planted facts that change over
time (where someone lives, their job, their pet's name). Questions carry the ids of their evidence.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from memory import Memory
from memory.index import Partition

from .config import TwinConfig

SPEAKERS = ("anna", "ben", "chloe", "dev")
CITIES = [
    "Leeds",
    "Manchester",
    "York",
    "Bristol",
    "Glasgow",
    "Cardiff",
    "Norwich",
    "Bath",
    "Oxford",
    "Derby",
]
JOBS = ["a nurse", "a teacher", "a baker", "an engineer", "a librarian", "a gardener", "a pilot", "a chef"]
PETS = ["Rex", "Milo", "Luna", "Bella", "Oscar", "Daisy", "Charlie", "Poppy"]
FRIENDS = ["Sam", "Priya", "Tom", "Ines", "Kofi", "Mei", "Lars", "Ana", "Omar", "Zoe", "Ravi", "Elena"]
ACTIVITIES = [
    ("played tennis with {f}", "Who did I play tennis with?"),
    ("went to the cinema with {f}", "Who did I go to the cinema with?"),
    ("had lunch with {f} at the Italian place", "Who did I have lunch with at the Italian place?"),
    ("visited {f} in hospital", "Who did I visit in hospital?"),
    ("went hiking in the Dales with {f}", "Who did I go hiking with?"),
    ("helped {f} move house", "Who did I help move house?"),
    ("baked a birthday cake for {f}", "Who did I bake a birthday cake for?"),
    ("went swimming with {f}", "Who did I go swimming with?"),
    ("cooked dinner for {f}", "Who did I cook dinner for?"),
    ("went to a concert with {f}", "Who did I go to a concert with?"),
    ("phoned {f} about the holiday", "Who did I phone about the holiday?"),
    ("walked the dog with {f}", "Who did I walk the dog with?"),
    ("went to the market with {f}", "Who did I go to the market with?"),
    ("played cards with {f}", "Who did I play cards with?"),
    ("drove {f} to the airport", "Who did I drive to the airport?"),
    ("painted the fence with {f}", "Who did I paint the fence with?"),
]
LIKES = ["green tea", "jazz", "crossword puzzles", "spicy food", "gardening", "old films", "chess", "opera"]
CHATTER = [
    "What a lovely morning.",
    "Tell me a joke.",
    "What time is it?",
    "Thanks, that's helpful.",
    "How are you today?",
    "Can you say that again?",
    "That's funny.",
    "Okay, never mind.",
    "What is the capital of Peru?",
    "How far is the moon?",
    "Good night.",
    "Hello there.",
]


@dataclass
class Question:
    query: str
    speaker: str
    evidence: set[str]
    stale: set[str] = field(default_factory=set)  # superseded versions of the same fact


def build_history(mem: Memory, seed: int = 7) -> tuple[list[Question], int, float]:
    """Play the sessions through the write policy; returns questions, user turns, ingest seconds.
    Episodes repeat (the same activities with different friends on different days), so a
    question names its day ("... 12 days ago?") and only time-aware recall can tell them apart."""
    rng = random.Random(seed)
    today = datetime.now().astimezone().date()
    day0 = time.time() - 76 * 86400  # 48 sessions, 1.55 days apart, all in the past
    questions: list[Question] = []
    turns = 0
    t0 = time.monotonic()
    for s in range(48):
        speaker = SPEAKERS[s % len(SPEAKERS)]
        when = day0 + s * 1.55 * 86400
        days_ago = (today - datetime.fromtimestamp(when).astimezone().date()).days
        done_today: set[str] = set()
        for _ in range(30):
            turns += 1
            r = rng.random()
            if r < 0.4:
                mem.observe(rng.choice(CHATTER), "", speaker)
            elif r < 0.8:
                act, q = rng.choice(ACTIVITIES)
                if act in done_today:
                    continue
                done_today.add(act)
                item = mem.remember(
                    f"You {act.format(f=rng.choice(FRIENDS))}", speaker, "episode", at=when, importance=0.4
                )
                questions.append(Question(f"{q[:-1]} {days_ago} days ago?", speaker, {item.id}))
            else:
                mem.observe(f"I really like {rng.choice(LIKES)}", "", speaker)
        # planted facts that change over the weeks
        for values, say, ask in (
            (CITIES, "I live in {v}", "Where do I live?"),
            (JOBS, "I work as {v}", "What is my job?"),
            (PETS, "My dog is called {v}", "What is my dog's name?"),
        ):
            if rng.random() < 0.35:
                items = mem.observe(say.format(v=rng.choice(values)), "", speaker)
                turns += 1
                if items:
                    mine = [i for i in mem.list(speaker, include_history=True) if i.key == items[0].key]
                    questions = [q for q in questions if not (q.query == ask and q.speaker == speaker)]
                    questions.append(
                        Question(ask, speaker, {items[0].id}, {i.id for i in mine if i.id != items[0].id})
                    )
    return questions, turns, time.monotonic() - t0


def evaluate(mem: Memory, questions: list[Question], mode: str) -> dict[str, float]:
    hit1 = hit5 = hit10 = current = changed = leaks = 0
    for q in questions:
        # the baselines are plain dense or keyword retrieval: no time-aware filtering, no fusion
        hits = mem.search(q.query, q.speaker, k=10, mode=mode, time_aware=mode == "hybrid")
        ids = [h.item.id for h in hits]
        hit1 += bool(q.evidence & set(ids[:1]))
        hit5 += bool(q.evidence & set(ids[:5]))
        hit10 += bool(q.evidence & set(ids[:10]))
        leaks += sum(h.item.speaker not in (q.speaker, "household") for h in hits)
        if q.stale:
            changed += 1
            versions = [i for i in ids if i in q.evidence or i in q.stale]
            current += bool(versions) and versions[0] in q.evidence
    n = max(1, len(questions))
    return {
        "recall@1": round(hit1 / n, 3),
        "recall@5": round(hit5 / n, 3),
        "recall@10": round(hit10 / n, 3),
        "current_value_rate": round(current / max(1, changed), 3),
        "cross_speaker_leaks": leaks,
        "questions": len(questions),
        "changed_fact_questions": changed,
    }


def latency_at(mem: Memory, size: int, queries: list[str], rng: random.Random) -> dict[str, float]:
    """Recall latency with `size` items in the asking speaker's partition. Vectors for the extra
    items are real embeddings of generated notes (a pool of 5,000, perturbed), since embedding
    100k texts would take this benchmark minutes; the index work is the same."""
    pool_texts = [
        f"You {rng.choice(ACTIVITIES)[0].format(f=rng.choice(FRIENDS))} near {rng.choice(CITIES)} {i}"
        for i in range(5000)
    ]
    pool = mem.embedder.embed(pool_texts)
    part = Partition(mem.embedder.dim)
    from memory.items import MemoryItem

    for i in range(size):
        vec = pool[i % len(pool)] + rng.gauss(0, 0.02)
        item = MemoryItem(text=pool_texts[i % len(pool_texts)], speaker="scale", kind="episode")  # type: ignore[arg-type]
        part.add(item, (vec / np.linalg.norm(vec)).astype(np.float32))
        mem.items[item.id] = item
    mem.parts["scale"] = part
    times = []
    for _ in range(3):
        for q in queries:
            t = time.perf_counter()
            mem.search(q, "scale", k=10)
            times.append((time.perf_counter() - t) * 1000)
    for item_id in part.ids:
        mem.items.pop(item_id, None)
    del mem.parts["scale"]
    arr = np.array(times)
    return {"p50_ms": round(float(np.median(arr)), 2), "p95_ms": round(float(np.percentile(arr, 95)), 2)}


def run_memory_bench(cfg: TwinConfig, sizes: list[int], json_path: Path | None) -> int:
    work = Path(tempfile.mkdtemp(prefix="twin-bench-memory-"))
    try:
        mem = Memory(work / "memory")
        questions, turns, ingest_s = build_history(mem)
        stored = len(mem.items)
        print(
            f"history: 48 sessions, {turns} user turns, {len(SPEAKERS)} speakers -> {stored} items kept "
            f"({ingest_s:.1f} s through the write policy and store)"
        )
        quality = {mode: evaluate(mem, questions, mode) for mode in ("hybrid", "dense", "bm25")}
        print(
            f"\n{'method':8} {'recall@1':>9} {'recall@5':>9} {'recall@10':>10} {'current':>8} {'leaks':>6}"
            f"   ({len(questions)} questions)"
        )
        for mode, r in quality.items():
            print(
                f"{mode:8} {r['recall@1']:9.3f} {r['recall@5']:9.3f} {r['recall@10']:10.3f} "
                f"{r['current_value_rate']:8.3f} "
                f"{r['cross_speaker_leaks']:6d}"
            )

        # ingest rate: bulk, embedded and written to the store
        rng = random.Random(3)
        from memory.items import MemoryItem

        bulk = [
            MemoryItem(
                text=f"Note {i}: you {rng.choice(ACTIVITIES)[0].format(f=rng.choice(FRIENDS))}",
                speaker=rng.choice(SPEAKERS),
            )
            for i in range(2000)
        ]
        t0 = time.monotonic()
        mem.add_many(bulk)
        ingest_rate = len(bulk) / (time.monotonic() - t0)
        size_mb = sum(p.stat().st_size for p in (work / "memory").rglob("*") if p.is_file()) / 2**20
        per_item_kb = size_mb * 1024 / len(mem.items)
        print(
            f"\ningest: {ingest_rate:.0f} items/s (embed + durable write); on disk {size_mb:.1f} MB for "
            f"{len(mem.items)} items ({per_item_kb:.1f} KB/item)"
        )

        queries = [q.query for q in questions[:40]]
        latency = {}
        print(
            f"\n{'items':>8} {'p50 ms':>8} {'p95 ms':>8}"
            "   (speaker-scoped hybrid recall, query embedding included)"
        )
        for size in sizes:
            latency[str(size)] = latency_at(mem, size, queries, rng)
            print(f"{size:8d} {latency[str(size)]['p50_ms']:8.2f} {latency[str(size)]['p95_ms']:8.2f}")
        mem.close()
        report = {
            "turns": turns,
            "items": stored,
            "questions": len(questions),
            "quality": quality,
            "ingest_items_per_s": round(ingest_rate, 1),
            "disk_mb": round(size_mb, 2),
            "disk_kb_per_item": round(per_item_kb, 2),
            "latency_ms": latency,
            "embedder": mem.embedder.name,
        }
        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(report, indent=1))
            print(f"wrote {json_path}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
