"""What `twin bench memory` measures on a built history: recall quality per method, recall latency
as a partition grows, and whether a write reported as done survives a kill -9."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from bench.memory_data import ACTIVITIES, CATEGORIES, CITIES, FRIENDS
from bench.memory_history import Question
from memory import Kind, Memory
from memory.index import Partition
from memory.items import MemoryItem


def evaluate(mem: Memory, questions: list[Question], mode: str, vectors: np.ndarray) -> dict[str, object]:
    """Recall@1/5/10 over all questions and by kind; the current-value rate of changed facts;
    hits from another speaker. The baselines are plain dense or keyword retrieval over the same
    items: no time-aware filtering, no fusion."""
    hits_at = {1: Counter(), 5: Counter(), 10: Counter()}  # type: dict[int, Counter[str]]
    count: Counter[str] = Counter()
    current = changed = leaks = 0
    for q, vec in zip(questions, vectors, strict=True):
        hits = mem.search(q.query, q.speaker, k=10, mode=mode, time_aware=mode == "hybrid", query_vector=vec)
        ids = [h.item.id for h in hits]
        count[q.category] += 1
        for k, counter in hits_at.items():
            counter[q.category] += bool(q.evidence & set(ids[:k]))
        leaks += sum(h.item.speaker not in (q.speaker, "household") for h in hits)
        if q.stale:
            changed += 1
            versions = [i for i in ids if i in q.evidence or i in q.stale]
            current += bool(versions) and versions[0] in q.evidence
    n = max(1, len(questions))
    return {
        "recall@1": round(sum(hits_at[1].values()) / n, 3),
        "recall@5": round(sum(hits_at[5].values()) / n, 3),
        "recall@10": round(sum(hits_at[10].values()) / n, 3),
        "current_value_rate": round(current / max(1, changed), 3),
        "cross_speaker_leaks": leaks,
        "questions": len(questions),
        "changed_fact_questions": changed,
        "recall@10_by_kind": {c: round(hits_at[10][c] / count[c], 3) for c in CATEGORIES if count[c]},
        "recall@1_by_kind": {c: round(hits_at[1][c] / count[c], 3) for c in CATEGORIES if count[c]},
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
    for i in range(size):
        vec = pool[i % len(pool)] + rng.gauss(0, 0.02)
        item = MemoryItem(text=pool_texts[i % len(pool_texts)], speaker="scale", kind=Kind.EPISODE)
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


_WRITER = """
import sys
from memory import Memory
m = Memory(sys.argv[1])
for i in range(100_000):
    print(m.remember(f"note number {i} about topic {i % 17}", "anna").id, flush=True)
"""


def crash_test(work: Path, at_least: int = 40) -> dict[str, int]:
    """A writer process is killed with SIGKILL mid-stream; every id it reported as written
    (remember() returned) must be in the reopened store."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(work / "crash")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env=env,
    )
    committed: list[str] = []
    deadline = time.monotonic() + 120
    while len(committed) < at_least and time.monotonic() < deadline:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            break
        committed.append(line.strip())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    mem = Memory(work / "crash")
    try:
        lost = sum(i not in mem.items for i in committed)
    finally:
        mem.close()
    return {"committed": len(committed), "lost": lost}
