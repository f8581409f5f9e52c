"""`twin bench partials`: partial transcripts on vs off in the live front end (bench/partials.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.config import TwinConfig

VARIANT_NAMES = ("off", "on", "no_prefill", "verdict_only", "pause_score_only")


def register(sub, common, bench_sub) -> None:
    b = bench_sub.add_parser(
        "partials",
        parents=[common],
        help="partial transcripts on vs off: voice-to-voice, end-of-turn delay, verdicts in time, WER",
    )
    b.add_argument("--questions", type=int, default=8, help="synthetic questions besides the recordings")
    b.add_argument(
        "--variants",
        default="off,on,verdict_only",
        help=f"comma-separated, run in this order: {', '.join(VARIANT_NAMES)}",
    )
    b.add_argument("--json", type=Path, dest="json_file", help="also write the figures here")
    b.set_defaults(handler=cmd_bench_partials)


def cmd_bench_partials(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from bench.partials import run_partials_bench
    from models.errors import BadInputError

    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANT_NAMES]
    if unknown or not variants:
        raise BadInputError(
            f"unknown partials variant(s): {', '.join(unknown) or '(none given)'}",
            f"choose from {', '.join(VARIANT_NAMES)}",
        )
    return run_partials_bench(cfg, args.questions, args.json_file, variants)
