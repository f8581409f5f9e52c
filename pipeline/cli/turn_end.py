"""`twin bench turn_end`: the semantic end of turn against the fixed silence window (bench/turn_end.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.config import TwinConfig


def register(sub, common, bench_sub) -> None:
    b = bench_sub.add_parser(
        "turn_end",
        parents=[common],
        help="semantic end of turn: P(end) accuracy and cost, mid-phrase cut-offs and end delay vs fixed",
    )
    b.add_argument("--text-only", action="store_true", help="only the text cases (no recordings)")
    b.add_argument("--json", type=Path, dest="json_file", help="also write the figures here")
    b.set_defaults(handler=cmd_bench_turn_end)


def cmd_bench_turn_end(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from bench.turn_end import run_turn_end_bench

    return run_turn_end_bench(cfg, args.json_file, audio=not args.text_only)
