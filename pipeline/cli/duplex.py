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
    b.add_argument(
        "--at",
        type=float,
        default=2.0,
        dest="talk_over_at",
        help="seconds into Twin's reply at which the user talks over it (default 2.0)",
    )
    b.add_argument(
        "--modes",
        default="",
        help="comma-separated modes to run (no_aec, aec_only, aec_before, aec_prev, aec_fast, aec_hold_back, "
        "aec_hold, aec; or a hold candidate, hold_...); aec always runs; default: all but the candidates",
    )
    b.add_argument(
        "--split",
        choices=("dev", "test", "both"),
        default="both",
        help="the talk-overs of one split only (dev: to choose a constant; TEST is only reported)",
    )
    b.set_defaults(handler=cmd_bench_duplex)


def cmd_bench_duplex(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from bench.duplex import run_duplex_bench

    only = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    at = args.talk_over_at
    splits = ("dev", "test") if args.split == "both" else (args.split,)
    return run_duplex_bench(
        cfg, args.json_file, quick=args.quick, talk_over_at_s=at, only=only, splits=splits
    )
