"""`twin route explain "TEXT"`: would this request go to the local model or to the remote one, and
why (each signal with what it says); `twin bench routing`: local vs remote turn latency."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipeline.config import TwinConfig


def register(sub, common, bench_sub) -> None:
    p = sub.add_parser("route", parents=[common], help="local or remote model: the router's decision")
    rsub = p.add_subparsers(dest="route_action", required=True)
    s = rsub.add_parser("explain", parents=[common], help="the decision for a request, and each reason")
    s.add_argument("text", help="the request, as the user would say it")
    s.add_argument("--speaker", default=None, help="whose memories are consulted (default: the owner)")
    s.add_argument("--no-memory", action="store_true", help="decide without recalling memories")
    s.add_argument("--json", action="store_true")
    s.set_defaults(handler=cmd_route_explain)

    b = bench_sub.add_parser(
        "routing", parents=[common], help="text turns: local vs remote model (a llama.cpp server here)"
    )
    b.add_argument("--turns", type=int, default=6)
    b.add_argument("--json", type=Path, dest="json_file", help="also write the figures here")
    b.set_defaults(handler=cmd_bench_routing)


def cmd_route_explain(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from pipeline.config import check_turn_text
    from pipeline.llm.remote import RemoteLlm
    from pipeline.llm.router import Router, TurnFacts

    text = check_turn_text(args.text)
    memories: list[tuple[str, bool]] = []
    if cfg.memory.enabled and not args.no_memory:
        memories = _recalled(cfg, text, args.speaker)
    remote = RemoteLlm(cfg.remote) if cfg.remote.enabled else None
    decision = Router(cfg.remote, cfg.routing, cfg.device_profile, remote).decide(TurnFacts(text, memories))
    if args.json:
        print(json.dumps(decision.to_json()))
    else:
        print(decision.explain())
    return 0


def _recalled(cfg: TwinConfig, text: str, speaker: str | None) -> list[tuple[str, bool]]:
    """What a turn would recall for `text`, each line with its privacy class."""
    from memory import Memory
    from memory.items import as_line

    mem = Memory.open(cfg.data_path / "memory", cfg.memory.url)
    try:
        lines = mem.recall(text, speaker, budget_s=5.0)
        public = {as_line(it) for it in mem.list(speaker) if not it.private}
        return [(line, line not in public) for line in lines]
    finally:
        mem.close()


def cmd_bench_routing(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from bench.routing import run_routing_bench

    return run_routing_bench(cfg, args.turns, args.json_file)
