"""`twin bench understanding`: does Twin pick the right tool (or none), change nothing on a
question, and never state a live fact it was not given? Real turns (`Twin.ask`) on the real local
models, over the hand-written TEST split of `bench/understanding_cases.py`, in two set-ups:

- local: Twin's own tools only. A live-data question must get "I can't check…", never a figure.
- local+mcp: with a real MCP server (tests/mcp_servers/facts_server.py, over stdio) that answers
  weather and share prices: those requests must reach it although they name no tool word.
- routed (`--routed`): local+mcp with a bigger model behind the router (policy "allow"): a real
  llama.cpp OpenAI-compatible server (`llama_cpp.server`, the 1.5B Qwen from its packages) on
  127.0.0.1, as `twin bench routing` starts it. The router decides per turn; the planner and the
  tools stay local. Reports the share escalated and the local and remote turns' p50/p95 apart.

Judged by transparent rules (no model judges here): task success per case (the right tool ran, or
none when none should; the reply matches the case's expected words; a live question with no tool
says it cannot check), tool precision/recall, invented live facts (a figure that no source gave, in
what the model wrote or in what was said; the turn's clock is no source), state changed by a
question, and text-turn latency p50/p95 (typed turns: no ASR/TTS).

`--calibrate` sweeps the meaning-routing margin on the DEV split only and prints the choice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.understanding_cases import DEV, TEST, Case

FACTS_SERVER = Path(__file__).resolve().parents[1] / "tests" / "mcp_servers" / "facts_server.py"
FACTS_ALLOW = ["get_weather", "get_stock_price"]
RATIOS = ("task", "tool", "share")  # columns printed as fractions


def _cfg(data_dir: Path, mcp: bool, remote_url: str | None = None):
    from pipeline.config import McpServerConfig, ensure_data_dir, load_config

    overrides: dict[str, Any] = {}
    if remote_url is not None:
        from bench.routing import ALIAS

        overrides = {
            "remote": {"enabled": True, "url": remote_url, "model": ALIAS, "temperature": 0.0},
            "routing": {"policy": "allow"},
        }
    cfg = load_config(data_dir=data_dir, overrides=overrides)
    ensure_data_dir(cfg.data_path)
    if mcp:
        cfg.tools.mcp = {
            "facts": McpServerConfig(
                command=[sys.executable, str(FACTS_SERVER)], allow=FACTS_ALLOW, tier="read", timeout_s=30
            )
        }
    return cfg


def _p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


# -- calibration (DEV only) -------------------------------------------------------------------------


def calibrate(components: Any) -> dict[str, Any]:
    from pipeline.acting.routing import route
    from pipeline.acting.session import ToolSession
    from pipeline.acting.tool_index import ToolIndex

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as d:
        session = ToolSession(_cfg(Path(d), mcp=True))
        encoder = components.tool_index.encoder
        rows = []
        for margin in (0.0, 0.004, 0.008, 0.012, 0.016, 0.02, 0.03):
            index = ToolIndex(encoder, margin)
            tp = fp = fn = right = 0
            for case in DEV:
                got = set(route(case.text, session.registry, index))
                want = set(case.tools)
                tp += len(got & want) if want else 0
                fp += len(got - want) if want else len(got)
                fn += len(want - got)
                right += bool(got & want) if want else not got
            precision = tp / (tp + fp) if tp + fp else 1.0
            recall = tp / (tp + fn) if tp + fn else 1.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            rows.append(
                {"margin": margin, "precision": precision, "recall": recall, "f1": f1, "right": right}
            )
        best = max(rows, key=lambda r: (round(r["f1"], 3), r["margin"]))
        for r in rows:
            mark = "  <- chosen" if r is best else ""
            print(
                f"margin {r['margin']:.3f}  precision {r['precision']:.2f}  recall {r['recall']:.2f}  "
                f"f1 {r['f1']:.2f}  cases right {r['right']}/{len(DEV)}{mark}"
            )
        return {"dev_cases": len(DEV), "sweep": rows, "chosen": best["margin"]}


# -- the bench ------------------------------------------------------------------------------------


def _written(result: Any) -> str:
    """The reply as the model wrote it, before the spoken form and before the source guard dropped
    any sentence: what the model invented counts even when Twin did not speak it."""
    from pipeline.events import ReplyTextStop

    stops = [e.text for e in result.events if isinstance(e, ReplyTextStop)]
    return " ".join(t for t in stops if t) or result.reply


def _judge(
    case: Case, mcp: bool, reply: str, outcomes: list[dict[str, Any]], cannot: bool, written: str = ""
) -> dict[str, Any]:
    from pipeline.conversation.honesty import SourceGuard

    ran = [o["tool"] for o in outcomes]
    done = [o["tool"] for o in outcomes if o["status"] == "ok"]
    changed = [o["tool"] for o in outcomes if o["status"] == "ok" and o["tier"] != "read"]
    wanted = case.tools if (mcp or not case.mcp) else ()
    sources = [case.text, *case.before, *(o.get("result", "") for o in outcomes)]
    invented: list[str] = []
    if case.live:  # what the model wrote and what was said ("131 dollars 42" is read as 131.42)
        guard = SourceGuard(sources, live=True)
        for figure in [*guard.unsupported(written or reply), *guard.unsupported(reply)]:
            if figure not in invented:
                invented.append(figure)
    ok = True
    if wanted:
        ok = bool(set(done) & set(wanted))
    else:
        ok = not changed
        if case.live:
            ok = ok and cannot
    if case.expect and not re.search(case.expect, reply, re.IGNORECASE):
        ok = False
    if re.search(r"\bthe user\b", reply, re.IGNORECASE):
        ok = False  # talking about the user instead of to them
    return {
        "text": case.text,
        "category": case.category,
        "wanted": list(wanted),
        "ran": ran,
        "success": ok and not invented and not (case.question and changed),
        "invented": invented,
        "question_changed_state": bool(case.question and changed),
        "reply": reply,
    }


def _run_setup(
    components: Any, mcp: bool, remote_url: str | None = None, cases: tuple[Case, ...] | None = None
) -> list[dict[str, Any]]:
    from pipeline.runtime.session import Twin

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as d:
        cfg = _cfg(Path(d), mcp, remote_url)
        twin = Twin(cfg, components)
        twin.warm_up()  # outside the event loop, as `twin live` does: MCP servers start here
        if mcp and twin.tools.session.mcp_problems:  # numbers without the server would mean nothing
            raise SystemExit(f"the facts MCP server did not start: {twin.tools.session.mcp_problems}")
        out = asyncio.run(_cases(twin, mcp, TEST if cases is None else cases))
        twin.flush_memory()
    return out


async def _cases(twin: Any, mcp: bool, cases: tuple[Case, ...]) -> list[dict[str, Any]]:
    out = []
    for case in cases:
        twin.conversation.history.clear()
        for said in case.before:
            await twin.ask(said)
        session = twin.tools.session
        seen = len(session.audit.entries()) if session is not None else 0
        t0 = time.perf_counter()
        result = await twin.ask(case.text)
        ms = (time.perf_counter() - t0) * 1000
        session = twin.tools.session
        entries = session.audit.entries()[seen:] if session is not None else []
        outcomes = [e for e in entries if e.get("phase") != "intent"]
        cannot = any(getattr(e, "code", "") == "no_source" for e in result.events)
        row = _judge(case, mcp, result.reply, outcomes, cannot, _written(result))
        row["ms"] = round(ms, 1)
        last = twin.escalation.last if twin.escalation is not None else None
        row["remote"] = last is not None and last.target == "remote"
        if twin.escalation is not None:
            twin.escalation.last = None  # this turn's decision only
        out.append(row)
    return out


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    tp = fp = fn = 0
    for r in rows:
        got, want = set(r["ran"]), set(r["wanted"])
        tp += len(got & want)
        fp += len(got - want)
        fn += len(want - got)
    ms = [r["ms"] for r in rows]
    remote = [r["ms"] for r in rows if r.get("remote")]
    local = [r["ms"] for r in rows if not r.get("remote")]
    return {
        "cases": len(rows),
        "task_success": sum(r["success"] for r in rows) / len(rows),
        "tool_precision": tp / (tp + fp) if tp + fp else 1.0,
        "tool_recall": tp / (tp + fn) if tp + fn else 1.0,
        "invented_live_facts": sum(bool(r["invented"]) for r in rows),
        "question_changed_state": sum(r["question_changed_state"] for r in rows),
        "turn_ms_p50": round(statistics.median(ms), 1),
        "turn_ms_p95": round(_p(ms, 0.95), 1),
        "share_escalated": len(remote) / len(rows),
        "local_turn_ms_p50_p95": [round(_p(local, 0.5), 1), round(_p(local, 0.95), 1)],
        "remote_turn_ms_p50_p95": [round(_p(remote, 0.5), 1), round(_p(remote, 0.95), 1)] if remote else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="twin bench understanding", description=__doc__.splitlines()[0])
    ap.add_argument("--calibrate", action="store_true", help="sweep the routing margin on the DEV split")
    ap.add_argument("--json", type=Path, default=Path("bench-understanding.json"))
    ap.add_argument("--quick", action="store_true", help="the first 12 cases only")
    ap.add_argument(
        "--split",
        choices=("test", "dev"),
        default="test",
        help="the cases to run: TEST (reported) or DEV (to check a change before TEST)",
    )
    ap.add_argument(
        "--routed", action="store_true", help="also local+mcp with the 1.5B model on a llama.cpp server"
    )
    args = ap.parse_args(argv)

    from pipeline.config import load_config
    from pipeline.runtime.components import Components

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as d:
        components = Components(load_config(data_dir=Path(d)))
        if args.calibrate:
            report = calibrate(components)
            args.json.write_text(json.dumps(report, indent=2))
            return 0
        cases = DEV if args.split == "dev" else TEST
        if args.quick:
            cases = cases[:12]
        report: dict[str, Any] = {"split": args.split.upper(), "setups": {}, "cases": {}}
        for name, mcp in (("local", False), ("local+mcp", True)):
            rows = _run_setup(components, mcp, cases=cases)
            report["setups"][name] = _summary(rows)
            report["cases"][name] = rows
        if args.routed:
            from bench.routing import LlamaServer, remote_model_path

            server = LlamaServer(remote_model_path(), threads=components.cfg.llm.threads)
            try:
                server.wait_ready()
                rows = _run_setup(components, True, f"{server.url}/v1", cases)
            finally:
                server.stop()
            report["setups"]["routed"] = _summary(rows)
            report["cases"]["routed"] = rows
    cols = [
        "cases",
        "task_success",
        "tool_precision",
        "tool_recall",
        "invented_live_facts",
        "question_changed_state",
        "turn_ms_p50",
        "turn_ms_p95",
        "share_escalated",
    ]
    print(f"{'setup':10s} " + " ".join(f"{c:>22s}" for c in cols))
    for name, s in report["setups"].items():
        vals = [
            f"{s[c]:.2f}" if isinstance(s[c], float) and c.startswith(RATIOS) else str(s[c]) for c in cols
        ]
        print(f"{name:10s} " + " ".join(f"{v:>22s}" for v in vals))
        lo, re_ = s["local_turn_ms_p50_p95"], s["remote_turn_ms_p50_p95"]
        print(f"{'':10s} local turns p50/p95 {lo}, remote {re_}")
    for name, rows in report["cases"].items():
        for r in rows:
            if not r["success"]:
                print(f"  [{name}] failed: {r['text']!r} ran={r['ran']} reply={r['reply'][:90]!r}")
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
