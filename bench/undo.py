"""`python -m bench.undo [--json FILE]`: every act of `twin bench tools` (bench/tools.py's REQUESTS
of kind "act", and `MORE_ACTS`), each followed by "undo that", through the real planner, its model
and the permission gate in a scratch data directory.

With `--spoken`, each way to ask for it, or for the change again (`SPOKEN`), is said by Twin's own
voice and three espeak-ng voices and heard by the default ASR: whether the words heard still ask
for it.

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
KEPT = ("idempotency.json",)
# `--spoken`: each said by Twin's own voice and three espeak-ng voices at 160 words a minute, heard
# by the default ASR; whether the words heard still ask for an undo, or for the change again
# (`planner.asks_undo`, `planner.asks_again`)
SPOKEN = (
    "Undo that.",
    "Undo it.",
    "Please undo that.",
    "Undo the last change.",
    "Take that back.",
    "Take it back.",
    "Revert that.",
    "Do that again.",
    "Once more.",
)
SPOKEN_VOICES = (
    "en-us",
    "en-gb-x-rp",
    "en-us+f3",
)  # what happened stays recorded, and is not the household's state


def tool_state(folder: Path) -> dict[str, Any]:
    """Every tool state document under `folder`, by file name (the audit and idempotency aside)."""
    return {
        str(p.relative_to(folder)): json.loads(p.read_text())
        for p in sorted(folder.rglob("*.json"))
        if p.name not in KEPT and "audit" not in p.parts
    }


def spoken(comps: Any) -> list[dict[str, Any]]:
    """How each phrase of `SPOKEN` is heard, framed as the front end hands it to the ASR."""
    import numpy as np

    from bench.name_wake import framed
    from bench.wake import espeak
    from pipeline.acting.planner import asks_again, asks_undo
    from voice.audio import SAMPLE_RATE, resample
    from voice.tts import Prosody

    steady = Prosody(noise_scale=0.0, noise_w_scale=0.0)
    rows = []
    for text in SPOKEN:
        own = resample(comps.tts.synthesize_all(text, steady), comps.tts.sample_rate, SAMPLE_RATE)
        voices = [("twin", np.asarray(own, np.float32))] + [(v, espeak(text, v, 160)) for v in SPOKEN_VOICES]
        for voice, samples in voices:
            heard = comps.asr.transcribe(framed(samples), "en").text
            asked = asks_undo(heard) if asks_undo(text) else asks_again(heard)
            rows.append({"said": text, "voice": voice, "heard": heard, "undo": asked})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.undo", description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, help="write every request's row and the summary here")
    ap.add_argument("--spoken", action="store_true", help="also: how each way to say it is heard")
    args = ap.parse_args(argv)
    from bench.tools import REQUESTS, _pct, report
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
        heard = spoken(comps) if args.spoken else []
        comps.close()
    if heard:
        print()
        print(f"{'said':<24} " + " ".join(f"{v:<26}" for v in ("twin", *SPOKEN_VOICES)))
        for text in SPOKEN:
            cells = [f"{r['heard'][:22]!r}{'+' if r['undo'] else '-'}" for r in heard if r["said"] == text]
            print(f"{text:<24} " + " ".join(f"{c:<26}" for c in cells))
        print("(+: the words heard still ask for what was said: the undo, or the change again)")
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
    report(summary, {"rows": rows, "spoken": heard}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
