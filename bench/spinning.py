"""`python -m bench.spinning [--runs 20] [--rounds 2] [--json FILE]`: what threads that spin cost the
speech recogniser, and what limiting them costs (pipeline/runtime/workers.py, voice/onnx_runtime.py).

Each variant is a fresh process (a BLAS library reads its thread count when it loads), and the
variants alternate, `--rounds` times, so a busy moment of the machine falls on all of them:
  - `blas=default, spin=on`: OpenBLAS's own thread count (one per core) and onnxruntime's own
    spinning workers, as before 2026-12-01;
  - `blas=1, spin=on` and `blas=default, spin=off`: one change each;
  - `blas=1, spin=off`: Twin's defaults now.
In each, `--runs` times: a Piper sentence (onnxruntime), then a real recorded command (1.6 s,
speech_to_phrase_en) transcribed by Whisper tiny.en (numpy features, then CTranslate2). Prints the
decode's and the sentence's ms (median, p95) per variant and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLIP = "speech_to_phrase_en/wav/cancel all timers.wav"
SENTENCE = "The timer is paused, with four minutes left."
VARIANTS = {
    "blas=default, spin=on (before)": ("0", "1"),
    "blas=1, spin=on": ("1", "1"),
    "blas=default, spin=off": ("0", "0"),
    "blas=1, spin=off (now)": ("1", "0"),
}


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(values), 1),
        "p95": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 1),
    }


def child(runs: int, blas: str, spin: str) -> dict[str, list[float]]:
    """One variant, in this process: `blas` threads (0: the library's default), onnxruntime's
    spinning on ("1") or off ("0")."""
    import voice.onnx_runtime as ort_sessions
    from pipeline.config import load_config
    from pipeline.runtime.components import Components
    from voice.audio import load_audio

    ort_sessions.ALLOW_SPINNING = spin
    cfg = load_config(data_dir=Path(tempfile.mkdtemp(prefix="twin-bench-")))
    cfg = cfg.model_copy(update={"blas_threads": int(blas)})
    comps = Components(cfg)
    from bench.asr import FIXTURES

    samples = load_audio(FIXTURES / CLIP).samples
    asr, tts = comps.asr, comps.tts
    tts.synthesize_all(SENTENCE)
    asr.transcribe(samples, "en", True)  # first calls: buffers and caches
    out: dict[str, list[float]] = {"decode_ms": [], "sentence_ms": []}
    for _ in range(runs):
        t0 = time.perf_counter()
        tts.synthesize_all(SENTENCE)
        t1 = time.perf_counter()
        asr.transcribe(samples, "en", True)
        t2 = time.perf_counter()
        out["sentence_ms"].append((t1 - t0) * 1000)
        out["decode_ms"].append((t2 - t1) * 1000)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.spinning")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", type=Path, dest="json_file")
    ap.add_argument("--child", nargs=2, metavar=("BLAS", "SPIN"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.runs, *args.child)))
        return 0
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    samples: dict[str, dict[str, list[float]]] = {v: {"decode_ms": [], "sentence_ms": []} for v in VARIANTS}
    for _ in range(args.rounds):
        for name, (blas, spin) in VARIANTS.items():
            cmd = [sys.executable, "-m", "bench.spinning", "--runs", str(args.runs), "--child", blas, spin]
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(done.stderr[-2000:], file=sys.stderr)
                return 1
            got = json.loads(done.stdout.strip().splitlines()[-1])
            for key, values in got.items():
                samples[name][key] += values
    results = {name: {key: _stats(v) for key, v in s.items()} for name, s in samples.items()}
    print(f"{args.rounds} rounds x {args.runs} runs per variant, a fresh process each (ms)")
    print(f"{'variant':34} {'decode median':>13} {'p95':>7} {'sentence median':>16} {'p95':>7}")
    for name, r in results.items():
        d, s = r["decode_ms"], r["sentence_ms"]
        print(f"{name:34} {d['median']:>13} {d['p95']:>7} {s['median']:>16} {s['p95']:>7}")
    before, now = results["blas=default, spin=on (before)"], results["blas=1, spin=off (now)"]
    ratio = round(now["decode_ms"]["median"] / before["decode_ms"]["median"], 3)
    print(f"decode, now / before (median): {ratio}")
    if args.json_file:
        report = {
            "results": results,
            "decode_ratio_now_before": ratio,
            "runs": args.runs,
            "rounds": args.rounds,
            "clip": CLIP,
            "sentence": SENTENCE,
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        }
        args.json_file.write_text(json.dumps(report, indent=2))
        print(f"wrote {args.json_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
