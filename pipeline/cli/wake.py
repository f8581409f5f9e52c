"""`twin bench wake`: the wake word's detection in other voices and its false accepts per hour of
speech with no wake word (bench/wake.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.config import TwinConfig


def register(sub, common, bench_sub) -> None:
    b = bench_sub.add_parser(
        "wake",
        parents=[common],
        help="wake word: detection in voices not Twin's own, false accepts per hour of wake-free speech",
    )
    b.add_argument(
        "--minutes", type=float, default=60.0, help="synthetic wake-free speech in all (default 60)"
    )
    b.add_argument("--words", default="okay_nabu,hey_jarvis", help="comma-separated wake words")
    b.add_argument("--json", type=Path, dest="json_file", help="also write the figures here")
    b.add_argument(
        "--suppress-noise",
        action="store_true",
        help="hear every clip through the echo stage's noise suppression (the speaker profile's path)",
    )
    b.set_defaults(handler=cmd_bench_wake)


def cmd_bench_wake(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from bench.wake import run_wake_bench

    words = tuple(w.strip() for w in args.words.split(",") if w.strip())
    return run_wake_bench(cfg, args.json_file, args.minutes, words, args.suppress_noise)
