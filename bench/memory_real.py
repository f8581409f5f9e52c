"""`twin bench memory --real`: evidence recall on hand-written multi-session conversations
(bench/memory_conversations.py), loaded the way a user loads a chat export and asked the way a
user's batch asks.

Each split (DEV: every choice in memory/ was made on it; TEST: only reported) is imported into a
scratch data folder through `twin memory import`'s code (one JSONL export a conversation, with its
own timestamps, who said each turn, and the session), then every question goes through
`twin memory recall --batch`'s code (memory/batch.py) three times: Twin's hybrid, and the plain
dense and plain BM25 baselines over the same items. Evidence recall@k is the share of a question's
evidence turns in its top k, averaged over questions (the usual measure on public conversation
memory benchmarks); "any@10" counts a question found when any of its evidence turns is in the top
10. A leak is a returned turn from another person's scope.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.memory_conversations import RealQuestion, batch_lines, build, export_jsonl
from memory import Memory
from memory.batch import recall_batch

if TYPE_CHECKING:
    from pipeline.config import TwinConfig

SPLITS = ("dev", "test")


def load_split(
    mem: Memory, split: str, work: Path, plain: bool = False
) -> tuple[list[RealQuestion], dict[str, int], float]:
    """Imports the split's conversations into `mem` through the import code; returns its questions,
    turns per scope, and the import's wall time. `plain`: the turns' text and time only."""
    convs, questions = build(split)
    per_scope: dict[str, int] = {}
    t0 = time.monotonic()
    for conv in convs:
        path = work / f"{conv.name}{'-plain' if plain else ''}.jsonl"
        n = export_jsonl(conv, path, plain)
        done, errors = mem.import_file(path)
        if errors or done != n:
            raise RuntimeError(f"import of {conv.name}: {done} of {n}, errors {errors[:3]}")
        per_scope[conv.scope] = per_scope.get(conv.scope, 0) + n
    return questions, per_scope, time.monotonic() - t0


def score(mem: Memory, questions: list[RealQuestion], mode: str) -> dict[str, Any]:
    lines = [(i, line) for i, line in enumerate(batch_lines(questions))]
    results, skipped = recall_batch(mem, lines, "owner", k=10, mode=mode)
    if skipped:
        raise RuntimeError(f"batch lines skipped: {skipped[:3]}")
    at5 = at10 = any10 = 0.0
    leaks = 0
    misses = []
    for q, r in zip(questions, results, strict=True):
        ids = r["ids"]
        at5 += len(q.evidence & set(ids[:5])) / len(q.evidence)
        at10 += len(q.evidence & set(ids[:10])) / len(q.evidence)
        any10 += bool(q.evidence & set(ids[:10]))
        leaks += sum(mem.items[i].speaker != q.scope for i in ids)
        if not q.evidence <= set(ids[:10]):
            misses.append(q.query)
    n = max(1, len(questions))
    return {
        "recall@5": round(at5 / n, 3),
        "recall@10": round(at10 / n, 3),
        "any@10": round(any10 / n, 3),
        "cross_speaker_leaks": leaks,
        "questions": len(questions),
        "missed@10": misses,
    }


def query_latency(mem: Memory, questions: list[RealQuestion], reps: int = 3) -> dict[str, float]:
    """Hybrid recall per question as the batch asks it, query embedding included."""
    times = []
    for _ in range(reps):
        for q in questions:
            t = time.perf_counter()
            mem.search(q.query, q.scope, k=10)
            times.append((time.perf_counter() - t) * 1000)
    arr = np.array(times)
    return {"p50_ms": round(float(np.median(arr)), 2), "p95_ms": round(float(np.percentile(arr, 95)), 2)}


# The rows of the table: (name, mode, import as a plain export).
METHODS = (
    ("hybrid", "hybrid", False),  # Twin: the full export (who said each turn, sessions)
    ("hybrid, turn text only", "hybrid", True),  # Twin's ranking, without the turn keys
    ("dense", "dense", True),  # the plain baselines over the turns' own text
    ("bm25", "bm25", True),
)


def run_split(split: str, work: Path) -> dict[str, Any]:
    (work / split).mkdir(parents=True, exist_ok=True)
    mem = Memory(work / split / "memory")
    plain = Memory(work / split / "plain")
    try:
        questions, per_scope, import_s = load_split(mem, split, work / split)
        load_split(plain, split, work / split, plain=True)
        quality = {name: score(plain if bare else mem, questions, mode) for name, mode, bare in METHODS}
        latency = query_latency(mem, questions)
        return {
            "turns_by_scope": per_scope,
            "import_s": round(import_s, 2),
            "quality": quality,
            "latency_ms": latency,
            "embedder": mem.embedder.name,
        }
    finally:
        mem.close()
        plain.close()


def latency_10k(work: Path, size: int = 10_000) -> dict[str, float]:
    """Recall p50/p95 with `size` items in the asker's scope (bench/memory_measure.py `latency_at`)."""
    from bench.memory_measure import latency_at

    _, questions = build("dev")
    mem = Memory(work / "scale" / "memory")
    try:
        return latency_at(mem, size, [q.query for q in questions][:40], random.Random(5))
    finally:
        mem.close()


def run_real_bench(cfg: TwinConfig | None, json_path: Path | None, size: int = 10_000) -> int:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="twin-bench-memory-real-"))
    try:
        report: dict[str, Any] = {}
        for split in SPLITS:
            report[split] = r = run_split(split, work)
            turns = ", ".join(f"{s} {n}" for s, n in r["turns_by_scope"].items())
            print(
                f"\n{split.upper()}: {r['quality']['hybrid']['questions']} questions; "
                f"turns by scope: {turns} "
                f"(imported in {r['import_s']:.1f} s)"
            )
            print(f"{'method':24} {'recall@5':>9} {'recall@10':>10} {'any@10':>7} {'leaks':>6}")
            for name, q in r["quality"].items():
                print(
                    f"{name:24} {q['recall@5']:9.3f} {q['recall@10']:10.3f} {q['any@10']:7.3f} "
                    f"{q['cross_speaker_leaks']:6d}"
                )
            lat = r["latency_ms"]
            print(f"hybrid recall latency: p50 {lat['p50_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms")
        if size:
            report["latency_ms_at"] = {str(size): latency_10k(work, size)}
            lat = report["latency_ms_at"][str(size)]
            print(f"\nat {size} items in one scope: p50 {lat['p50_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms")
        load = [round(x, 1) for x in os.getloadavg()]
        report["seconds"] = round(time.monotonic() - started, 1)
        report["load_average"] = load
        print(f"({report['seconds']:.0f} s in all; load average {load[0]} / {load[1]} / {load[2]})")
        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(report, indent=1, ensure_ascii=False))
            print(f"wrote {json_path}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    import sys

    sys.exit(run_real_bench(None, Path(sys.argv[1]) if len(sys.argv) > 1 else None, size=0))
