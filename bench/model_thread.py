"""`python -m bench.model_thread [--tokens 30] [--runs 5] [--json FILE]`: why every llama.cpp call
runs on one thread (pipeline/llm/model_thread.py).

One process, three phases, the same greedy 30-token reply each run:
  1. the reply model driven from the model thread only (what Twin does now);
  2. the same model driven from a second OS thread (what the planner's own thread, the end-of-turn
     scorer on the ASR worker or a warm-up on the main thread used to do);
  3. the model thread again, after phase 2: libgomp now holds two OpenMP teams, more threads than
     cores, and waits at ggml's barriers by sleeping instead of spinning, for the rest of the process.
Prints decode ms/token (median, p95 over runs) per phase and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path

from pipeline.config import load_config
from pipeline.llm import model_thread
from pipeline.runtime.components import Components

MESSAGES = [
    {"role": "system", "content": "You are a helpful voice assistant."},
    {"role": "user", "content": "Tell me about the history of Paris in detail."},
]


def _decode_ms_per_token(llama: object, tokens: int) -> float:
    t0, stamps = time.perf_counter(), []
    for chunk in llama.create_chat_completion(  # type: ignore[attr-defined]
        messages=MESSAGES, stream=True, max_tokens=tokens, temperature=0.0, seed=1
    ):
        if chunk["choices"][0]["delta"].get("content"):
            stamps.append(time.perf_counter() - t0)
    return (stamps[-1] - stamps[0]) / max(1, len(stamps) - 1) * 1000


def _phase(runs: int, call: object) -> dict[str, float]:
    values = [call() for _ in range(runs)]  # type: ignore[operator]
    ordered = sorted(values)
    return {
        "median": round(statistics.median(values), 2),
        "p95": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 2),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.model_thread")
    ap.add_argument("--tokens", type=int, default=30)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", type=Path, dest="json_file")
    args = ap.parse_args(argv)
    cfg = load_config(data_dir=Path(tempfile.mkdtemp(prefix="twin-bench-")))
    llama = Components(cfg).llm.model  # type: ignore[attr-defined]

    def on_model_thread() -> float:
        return model_thread.run(_decode_ms_per_token, llama, args.tokens)

    on_model_thread()  # first call: buffers and caches
    results = {"model thread only (now)": _phase(args.runs, on_model_thread)}
    second: dict[str, dict[str, float]] = {}
    t = threading.Thread(
        target=lambda: second.update(
            {"a second thread (before)": _phase(args.runs, lambda: _decode_ms_per_token(llama, args.tokens))}
        )
    )
    t.start()
    t.join()
    results.update(second)
    results["model thread, after a second thread ran it"] = _phase(args.runs, on_model_thread)

    print(f"decode ms/token, {args.tokens} tokens, {args.runs} runs each")
    print(f"{'phase':45} {'median':>8} {'p95':>8}")
    for name, r in results.items():
        print(f"{name:45} {r['median']:8.1f} {r['p95']:8.1f}")
    base = results["model thread only (now)"]["median"]
    ratio = round(results["a second thread (before)"]["median"] / base, 3) if base else None
    print(f"ratio (second thread / model thread only): {ratio}")
    if args.json_file is not None:
        args.json_file.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "bench": "model_thread",
            "decode_ms_per_token": results,
            "ratio_second_thread": ratio,
            "machine": {"platform": platform.platform()},
        }
        args.json_file.write_text(json.dumps(report, indent=1))
        print(f"wrote {args.json_file}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
