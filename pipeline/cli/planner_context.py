"""`twin bench planner_context`: where the tool planner's llama.cpp state lives, the designs side by
side (bench/planner_context.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.config import TwinConfig


def register(sub, common, bench_sub) -> None:
    b = bench_sub.add_parser(
        "planner_context",
        parents=[common],
        help="the planner's context: shared weights vs one context with a state cache vs its own load",
    )
    b.add_argument("--alternations", type=int, default=10, help="planner call + reply turn pairs per design")
    b.add_argument("--json", type=Path, dest="json_file", help="also write the figures here")
    b.set_defaults(handler=cmd_bench_planner_context)


def cmd_bench_planner_context(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from bench.planner_context import run_planner_context_bench

    return run_planner_context_bench(cfg, args.alternations, args.json_file)
