"""`twin bench memory`: recall quality on a synthetic multi-session history, against dense-only
and BM25-only baselines in the same run; recall latency at 1k / 10k / 100k items; ingest rate, size
on disk and a kill -9 crash test.

The parts: the synthetic life (bench/memory_data.py), the history it is played into and the questions
about it (bench/memory_history.py), and the measurements (bench/memory_measure.py). This module runs
them and reports.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bench.memory_data import ACTIVITIES, CATEGORIES, FRIENDS, METHODS, SPAN_DAYS, SPEAKERS
from bench.memory_history import build_history
from bench.memory_measure import crash_test, evaluate, latency_at
from memory import Memory
from memory.items import MemoryItem

if TYPE_CHECKING:  # the engine is not needed to run the bench
    from pipeline.config import TwinConfig


def run_memory_bench(
    cfg: TwinConfig, sizes: list[int], json_path: Path | None, scale: float = 1.0, seed: int = 7
) -> int:
    """`scale` shrinks the small talk per session (0.1 for a quick look); the default is the full run."""
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="twin-bench-memory-"))
    try:
        mem = Memory(work / "memory")
        h = build_history(mem, seed=seed, scale=scale)
        stored = len(mem.items)
        by_speaker = Counter(it.speaker for it in mem.items.values())
        kinds = Counter(q.category for q in h.questions)
        print(
            f"history: {h.sessions} sessions over {SPAN_DAYS} days, {h.turns} user turns, {len(SPEAKERS)} "
            f"speakers -> {stored} items kept ({', '.join(f'{s} {by_speaker[s]}' for s in SPEAKERS)}; "
            f"{h.ingest_s:.1f} s through the write policy and store)"
        )
        print(
            f"questions: {len(h.questions)} ("
            + ", ".join(f"{kinds[c]} {c}" for c in CATEGORIES)
            + f"); planted facts merged away by the write policy: {h.lost_facts}"
        )
        vectors = np.stack([mem.embedder.embed([q.query])[0] for q in h.questions])
        quality = {mode: evaluate(mem, h.questions, mode, vectors) for mode in METHODS}
        print(
            f"\n{'method':8} {'recall@1':>9} {'recall@5':>9} {'recall@10':>10} {'current':>8} {'leaks':>6}"
            f"   ({len(h.questions)} questions)"
        )
        for mode, r in quality.items():
            print(
                f"{mode:8} {r['recall@1']:9.3f} {r['recall@5']:9.3f} {r['recall@10']:10.3f} "
                f"{r['current_value_rate']:8.3f} {r['cross_speaker_leaks']:6d}"
            )
        print(f"\nrecall@10 by kind of question\n{'method':8} " + " ".join(f"{c:>10}" for c in CATEGORIES))
        for mode, r in quality.items():
            by_kind = r["recall@10_by_kind"]
            assert isinstance(by_kind, dict)
            print(f"{mode:8} " + " ".join(f"{by_kind.get(c, 0.0):10.3f}" for c in CATEGORIES))

        # ingest rate: bulk, embedded and written to the store
        rng = random.Random(3)
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

        queries = [q.query for q in h.questions[:: max(1, len(h.questions) // 40)]][:40]
        latency = {}
        print(
            f"\n{'items':>8} {'p50 ms':>8} {'p95 ms':>8}"
            "   (speaker-scoped hybrid recall, query embedding included)"
        )
        for size in sizes:
            latency[str(size)] = latency_at(mem, size, queries, rng)
            print(f"{size:8d} {latency[str(size)]['p50_ms']:8.2f} {latency[str(size)]['p95_ms']:8.2f}")
        mem.close()
        crash = crash_test(work)
        print(f"\ncrash test: {crash['committed']} items committed before kill -9, {crash['lost']} lost")
        elapsed = time.monotonic() - started
        load = [round(x, 1) for x in os.getloadavg()]
        print(
            f"({elapsed:.0f} s in all; load average {load[0]} / {load[1]} / {load[2]}, "
            f"{os.cpu_count()} cores)"
        )
        report = {
            "sessions": h.sessions,
            "speakers": len(SPEAKERS),
            "turns": h.turns,
            "items": stored,
            "items_by_speaker": dict(by_speaker),
            "questions": len(h.questions),
            "questions_by_kind": {c: kinds[c] for c in CATEGORIES},
            "planted_facts_merged_away": h.lost_facts,
            "quality": quality,
            "ingest_items_per_s": round(ingest_rate, 1),
            "disk_mb": round(size_mb, 2),
            "disk_kb_per_item": round(per_item_kb, 2),
            "latency_ms": latency,
            "crash_test": crash,
            "embedder": mem.embedder.name,
            "scale": scale,
            "seed": seed,
            "seconds": round(elapsed, 1),
            "load_average": load,
        }
        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(report, indent=1))
            print(f"wrote {json_path}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
