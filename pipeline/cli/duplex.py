"""`twin bench duplex`: echo cancellation and barge-in in a simulated room (bench/duplex.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.config import TwinConfig


def register(sub, common, bench_sub) -> None:
    b = bench_sub.add_parser(
        "duplex",
        parents=[common],
        help="echo cancellation: ERLE, self-interruptions, barge-in latency, with and without AEC",
    )
    b.add_argument("--quick", action="store_true", help="one reply and four recordings (a smoke run)")
    b.add_argument("--json", type=Path, dest="json_file", help="also write the figures here")
    b.set_defaults(handler=cmd_bench_duplex)


def cmd_bench_duplex(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from bench.duplex import run_duplex_bench

    return run_duplex_bench(cfg, args.json_file, quick=args.quick)
