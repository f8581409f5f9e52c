"""`twin bench planner_context`: where the tool planner's llama.cpp state lives, three designs side by
side in one run, on the real model and the real prompts (pipeline/llm/llama.py):

- shared_weights (chosen, `LlamaPlannerModel`): a second small KV context over the reply model's
  loaded weights;
- state_cache (design a, not chosen): the reply model's own context and lock, with llama-cpp-python's
  `LlamaRAMCache` restoring the longest cached prefix's saved state at each switch;
- own_weights (before): the planner on a second load of the GGUF, a whole `Llama` of its own.

Each design runs one continuing conversation that alternates a planner call (a real tool request,
with the planner's real system prompt and step schema) and a reply turn (Twin's real system prompt,
the history growing): a reply right after a planner call and a planner call right after a reply,
which is where a shared context would lose its prompt prefix. Reported per design: planner call and
reply first-token time (median / p95), the tokens each evaluated (what was not already cached; fewer
is warmer), and resident memory: the growth when the planner was built and over the run. The three
run in this order (the second load last) so a design's memory is not hidden by an earlier one's.
Figures are wall-clock on this machine, under whatever else runs on it.
"""

from __future__ import annotations

import contextlib
import json
import math
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from pipeline.acting.routing import route
from pipeline.acting.session import ToolSession
from pipeline.config import TwinConfig
from pipeline.conversation.context import Conversation
from pipeline.runtime.components import Components

RESULTS = Path(__file__).resolve().parent / "results" / "planner_context.json"

TOOL_REQUESTS = (
    "set a timer for 5 minutes",
    "add milk to my shopping list",
    "what time is it",
    "convert 5 miles to kilometres",
    "set a timer for 20 minutes",
    "add bread to my shopping list",
)
QUESTIONS = (
    "What is the capital of France?",
    "Why is the sky blue?",
    "How do bees make honey?",
    "What is a healthy breakfast?",
    "Tell me a fun fact about octopuses.",
    "How far away is the moon?",
)
REPLY_TOKENS = 24  # enough for the reply's first sentence; the history grows as in a conversation
STATE_CACHE_BYTES = 32 << 20  # LlamaRAMCache's capacity: it counts the KV state, not the scores copy


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, math.ceil(q * len(s)) - 1)] if s else float("nan")


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


class _Dialogue:
    """One continuing conversation on one design: planner calls and reply turns, alternating."""

    def __init__(self, cfg: TwinConfig, c: Components, planner: Any, system_prompt: str) -> None:
        self.llm = c.llm
        self.planner = planner
        # only the planner's prompts and schemas are used (no tool runs), on a scratch data directory
        self._scratch = tempfile.TemporaryDirectory(prefix="twin-planner-bench-")
        self.tools = ToolSession(cfg.model_copy(update={"data_dir": Path(self._scratch.name)}), planner)
        self.conversation = Conversation(system_prompt, cfg.llm.history_turns)

    def plan(self, text: str) -> tuple[float, int, str]:
        names = tuple(route(text, self.tools.registry, None))
        system, schema = self.tools.planner.offer(names)
        messages = [{"role": "system", "content": system}, {"role": "user", "content": text}]
        before = self.planner.tokens_evaluated
        t0 = time.perf_counter()
        raw = self.planner.choose(messages, schema)
        return (time.perf_counter() - t0) * 1000, self.planner.tokens_evaluated - before, raw

    def reply(self, text: str) -> tuple[float, int]:
        messages = self.conversation.messages_for(text, "en")
        before = self.llm.tokens_evaluated
        t0 = time.perf_counter()
        first_ms, evaluated, pieces = float("nan"), 0, []
        for piece in self.llm.stream(messages, REPLY_TOKENS, threading.Event()):
            if not pieces:
                first_ms = (time.perf_counter() - t0) * 1000
                evaluated = self.llm.tokens_evaluated - before  # the prompt's uncached part
            pieces.append(piece)
        self.conversation.remember(messages[-2]["content"], text, "".join(pieces))
        return first_ms, evaluated


def run_design(
    name: str, cfg: TwinConfig, c: Components, build: Any, system_prompt: str, alternations: int
) -> dict[str, Any]:
    rss0 = _rss_mb()
    planner = build()
    rss_built = _rss_mb()
    d = _Dialogue(cfg, c, planner, system_prompt)
    d.plan(TOOL_REQUESTS[-1])  # warm-up: each design starts from its prompts already seen once
    d.reply(QUESTIONS[-1])
    plan_ms, plan_tok, reply_ms, reply_tok, valid = [], [], [], [], 0
    for i in range(alternations):
        ms, tok, raw = d.plan(TOOL_REQUESTS[i % len(TOOL_REQUESTS)])  # a planner call after a reply
        plan_ms.append(ms)
        plan_tok.append(tok)
        with contextlib.suppress(json.JSONDecodeError):
            valid += json.loads(raw).get("action") in ("call", "reply")
        ms, tok = d.reply(QUESTIONS[i % len(QUESTIONS)])  # a reply turn after a planner call
        reply_ms.append(ms)
        reply_tok.append(tok)
    row: dict[str, Any] = {
        "design": name,
        "planner_ms": {"median": statistics.median(plan_ms), "p95": _pct(plan_ms, 0.95)},
        "planner_tokens_evaluated": {"median": statistics.median(plan_tok), "max": max(plan_tok)},
        "reply_first_token_ms": {"median": statistics.median(reply_ms), "p95": _pct(reply_ms, 0.95)},
        "reply_prompt_tokens_evaluated": {"median": statistics.median(reply_tok), "max": max(reply_tok)},
        "planner_steps_valid": f"{valid}/{alternations}",
        "rss_planner_built_mb": rss_built - rss0,
        "rss_after_run_mb": _rss_mb() - rss0,
    }
    return row


def run_planner_context_bench(cfg: TwinConfig, alternations: int, json_file: Path | None) -> int:
    from persona import load_persona, system_prompt
    from pipeline.llm import llama

    c = Components(cfg)
    llm = c.llm
    profile = cfg.device_profile
    prompt = system_prompt(load_persona(cfg.persona), profile.style, profile.max_reply_sentences)
    # the reply model's first generation touches its compute buffers: done before any design is
    # measured, so that growth is not charged to the first one
    llm.prefill([{"role": "system", "content": prompt}, {"role": "user", "content": "Hello."}])
    rss_llm = _rss_mb()
    rows = [run_design("shared_weights", cfg, c, lambda: c.planner_model, prompt, alternations)]
    rows.append(
        run_design(
            "state_cache",
            cfg,
            c,
            lambda: llama.state_cache_planner(llm, STATE_CACHE_BYTES),  # type: ignore[arg-type]
            prompt,
            alternations,
        )
    )
    rows[-1]["state_cache"] = llama.state_cache_stats(llm)  # type: ignore[arg-type]
    llama.drop_state_cache(llm)  # type: ignore[arg-type]
    path = c.resolved("llm").main_path
    rows.append(
        run_design(
            "own_weights",
            cfg,
            c,
            lambda: llama.own_weights_planner(path, "planner", cfg.llm.threads),
            prompt,
            alternations,
        )
    )
    header = (
        f"{'design':<15} {'planner ms med/p95':>19} {'plan tok':>9} {'reply 1st ms med/p95':>21} "
        f"{'reply tok':>10} {'valid':>6} {'RSS built':>10} {'RSS run':>8}"
    )
    print(f"planner context: {alternations} alternations (planner call, reply turn), one conversation each")
    print(header)
    for r in rows:
        p, q = r["planner_ms"], r["reply_first_token_ms"]
        pt, rt = r["planner_tokens_evaluated"]["median"], r["reply_prompt_tokens_evaluated"]["median"]
        print(
            f"{r['design']:<15} {p['median']:>9.0f}/{p['p95']:<9.0f} {pt:>9.0f} "
            f"{q['median']:>10.0f}/{q['p95']:<10.0f} {rt:>10.0f} {r['planner_steps_valid']:>6} "
            f"{r['rss_planner_built_mb']:>8.0f}MB {r['rss_after_run_mb']:>6.0f}MB"
        )
    sc = rows[1]["state_cache"]
    print(
        f"state_cache: {sc['entries']} states held, {sc['state_bytes'] / 1e6:.0f} MB of llama.cpp state + "
        f"{sc['scores_bytes'] / 1e6:.0f} MB of copied scores; one save_state {sc['save_state_ms']:.0f} ms "
        f"({sc['save_state_scores_bytes'] / 1e6:.0f} MB of scores)"
    )
    out = {
        "alternations": alternations,
        "reply_tokens": REPLY_TOKENS,
        "state_cache_capacity_bytes": STATE_CACHE_BYTES,
        "rss_with_reply_model_mb": rss_llm,
        "designs": rows,
        "note": "wall-clock on this machine under whatever else ran; tokens evaluated are exact",
    }
    for target in filter(None, (RESULTS, json_file)):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(out, indent=2))
    return 0
