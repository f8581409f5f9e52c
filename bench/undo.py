"""`python -m bench.undo [--json FILE]`: every act of `twin bench tools` (bench/tools.py's REQUESTS
of kind "act", and `MORE_ACTS`), each followed by "undo that", through the real planner, its model
and the permission gate in a scratch data directory.

Per request: whether the act changed the tools' state, whether "undo that" put every tool's state
file back exactly as it was before the act (the audit log and the idempotency keys aside: they keep
what happened), what Twin said, and how long the act and the undo took. The household starts with milk on the
shopping list, a timer, a reminder and a note (`SEEDS`), so a removal and a cancel have something
to act on and every store's file exists before the first act.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

SEEDS = (
    "add milk to the shopping list",
    "set a timer for 45 minutes",
    "set the volume to 50",
    "remind me to water the plants at 9:00",
    "take a note: the spare key is under the mat",
)
# acts the tools bench does not ask for, on the seeded timer
MORE_ACTS = ("pause the timer", "add 5 minutes to the timer")
KEPT = ("idempotency.json",)  # what happened stays recorded, and is not the household's state


def tool_state(folder: Path) -> dict[str, Any]:
    """Every tool state document under `folder`, by file name (the audit and idempotency aside)."""
    return {
        str(p.relative_to(folder)): json.loads(p.read_text())
        for p in sorted(folder.rglob("*.json"))
        if p.name not in KEPT and "audit" not in p.parts
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.undo", description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, help="write every request's row and the summary here")
    args = ap.parse_args(argv)
    from bench.tools import REQUESTS, _pct
    from pipeline.acting.session import ToolSession
    from pipeline.config import ensure_data_dir, load_config
    from pipeline.runtime.components import Components

    acts = [text for text, _tool, _args, kind in REQUESTS if kind == "act"] + list(MORE_ACTS)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        cfg = load_config(data_dir=Path(scratch))
        ensure_data_dir(cfg.data_path)
        comps = Components(cfg)

        async def say_no(question: str, timeout_s: float) -> str:
            return "no"

        session = ToolSession(cfg, comps.planner_model, say_no)
        # a household whose every store exists: a missing file is not a difference an undo makes
        for seed in SEEDS:
            asyncio.run(session.plan(seed))
        state_dir = cfg.data_path / "tools"
        for text in acts:
            before = tool_state(state_dir)
            t0 = time.perf_counter()
            act = asyncio.run(session.plan(text))
            act_ms = (time.perf_counter() - t0) * 1000
            changed = tool_state(state_dir) != before
            t0 = time.perf_counter()
            undo = asyncio.run(session.plan("undo that"))
            undo_ms = (time.perf_counter() - t0) * 1000
            restored = tool_state(state_dir) == before
            rows.append(
                {
                    "request": text,
                    "tools": [o.tool for o in act.outcomes],
                    "changed": changed,
                    "restored": restored,
                    "undo_said": undo.reply,
                    "act_ms": round(act_ms, 1),
                    "undo_ms": round(undo_ms, 1),
                }
            )
            mark = "-  " if not changed else "ok " if restored else "BAD"
            print(f"{mark} {act_ms:6.0f} / {undo_ms:4.0f} ms  {text:<48} -> {undo.reply}")
        comps.close()
    done = [r for r in rows if r["changed"]]
    undo_ms = [r["undo_ms"] for r in done]
    summary = {
        "acts": len(rows),
        "changed_state": len(done),
        "restored_by_undo": sum(r["restored"] for r in done),
        "left_as_it_was_when_nothing_changed": sum(r["restored"] for r in rows if not r["changed"]),
        "undo_ms_median": round(statistics.median(undo_ms), 1) if undo_ms else 0.0,
        "undo_ms_p95": round(_pct(undo_ms, 0.95), 1),
    }
    print()
    print(f"{'metric':<40} value")
    for k, v in summary.items():
        print(f"{k:<40} {v}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
