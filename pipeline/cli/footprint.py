"""`twin bench footprint`: a session's resident memory phase by phase, in a fresh process
(bench/footprint.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.config import TwinConfig


def register(sub, common, bench_sub) -> None:
    b = bench_sub.add_parser(
        "footprint",
        parents=[common],
        help="resident memory after each model load, the warm-up and each turn of a conversation",
    )
    b.add_argument("--turns", type=int, default=12, help="turns of the scripted conversation")
    b.add_argument("--json", type=Path, dest="json_file", help="also write the figures here")
    b.add_argument(
        "--variant",
        nargs="+",
        metavar="SETTING",
        help="also run with these settings and compare: NAME=VALUE for the environment "
        "(MALLOC_ARENA_MAX=8), section.key=value or key=value for the config (malloc_arenas=0)",
    )
    b.set_defaults(handler=cmd_bench_footprint)


def cmd_bench_footprint(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from bench.footprint import run_footprint_bench

    return run_footprint_bench(cfg, args.turns, args.json_file, args.variant)
