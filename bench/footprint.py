"""`twin bench footprint`: where a Twin session's resident memory goes, phase by phase.

A fresh child process (so nothing the parent loaded is counted) does what `twin live` does: imports
Twin, loads each default model as `Components.load_all` does (each on its own, so each is a row),
the tool planner's and the end-of-turn scorer's llama.cpp contexts, warms the session up, then holds
one continuing conversation on a scratch data directory: typed and spoken turns (real recordings
from ../shared/fixtures/speech_to_phrase_en where they are beside the repository, otherwise
sentences in Twin's voice), a tool turn, a memory write and its recall. After each phase it reads
/proc/self/status (resident, anonymous, file-backed, the peak so far) and glibc's mallinfo2 (what
malloc holds free), so each part's cost is the difference between two rows.

The peak (VmHWM, what `ru_maxrss` reports) is the figure the 1.5 GB target is about. File-backed
pages (the GGUF that llama.cpp maps) count in it but are the page cache's, shared and reclaimable.
Every figure is in MiB (the kernel's kB are KiB): 1.5 GB = 1.5e9 bytes = 1430.5 MiB. A last row,
2 s after the conversation, shows what a quiet moment gives back (pipeline/runtime/idle_trim.py).
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from models.errors import BadInputError, TwinError

_VARIANT_HINT = "e.g. --variant malloc_arenas=0, --variant tts.threads=1, --variant MALLOC_ARENA_MAX=8"

CONVERSATION: tuple[tuple[str, str], ...] = (
    # (kind, text or recording name): "text" is typed, "voice" is a recording (or, without the
    # fixtures, the same words in Twin's voice), "say" is always synthesized in Twin's voice
    ("text", "Hello! My name is Sam."),
    ("voice", "what's the weather"),
    ("text", "Remember that my sister Anna lives in Lisbon."),
    ("voice", "set a timer for 5 minutes"),
    ("text", "Add milk and eggs to my shopping list."),
    ("say", "Why is the sky blue?"),
    ("voice", "lock the Front Door"),
    ("text", "Where does my sister live?"),
    ("voice", "what's the date"),
    ("text", "Tell me a fun fact about octopuses."),
    ("say", "Can you suggest a good name for a black cat?"),
    ("text", "What's on my shopping list?"),
    ("voice", "is the Front Door locked"),
    ("text", "How do I make a cup of green tea?"),
    ("voice", "timer status"),
    ("text", "What is my sister's name, and where does she live?"),
)

QUIET_S = 2.0  # the quiet spell after the conversation: idle_trim.py acts after ~0.5-1 s
QUIET_PHASE = f"quiet {QUIET_S:.0f} s later"

RECORDINGS = (
    Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "speech_to_phrase_en" / "wav"
)


# -- measuring (the child) ----------------------------------------------------------------------------
def _status() -> dict[str, float]:
    """Resident memory now, its parts and its peak, in MB, from /proc/self/status."""
    out: dict[str, float] = {}
    keys = {"VmRSS": "rss", "VmHWM": "peak", "RssAnon": "anon", "RssFile": "file"}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in keys:
                out[keys[name]] = round(int(rest.split()[0]) / 1024, 1)
    return out


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks")
        + ("uordblks", "fordblks", "keepcost")
    ]


def _malloc() -> dict[str, float]:
    """glibc's view (main arena only): bytes it holds free (`fordblks`) and in mmapped blocks."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        m = libc.mallinfo2()
    except (OSError, AttributeError):
        return {}
    mb = 1024 * 1024
    return {"malloc_free": round(m.fordblks / mb, 1), "malloc_mmapped": round(m.hblkhd / mb, 1)}


class Meter:
    """The rows of the footprint table: each phase's RSS, its parts, the peak, and the difference."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self._t = time.monotonic()

    def mark(self, phase: str, **extra: Any) -> dict[str, Any]:
        s = _status() | _malloc()
        prev = self.rows[-1] if self.rows else None
        row: dict[str, Any] = {"phase": phase, **s, "threads": len(os.listdir("/proc/self/task"))}
        row["delta"] = round(s["rss"] - prev["rss"], 1) if prev else s["rss"]
        row["seconds"] = round(time.monotonic() - self._t, 2)
        row.update(extra)
        self.rows.append(row)
        self._t = time.monotonic()
        print(
            f"  {phase:28} rss {s['rss']:7.1f}  (+{row['delta']:6.1f})  peak {s['peak']:7.1f} MB",
            file=sys.stderr,
            flush=True,
        )
        return row


def _clip_for(comps: Any, kind: str, what: str) -> Any:
    """The user's line: a real recording, or the words in Twin's voice with 0.3 s of silence first."""
    import numpy as np

    from voice.audio import SAMPLE_RATE, AudioClip, load_audio, resample

    path = RECORDINGS / f"{what}.wav"
    if kind == "voice" and path.is_file():
        return load_audio(path)
    audio = resample(comps.tts.synthesize_all(what), comps.tts.sample_rate, SAMPLE_RATE)
    lead = np.zeros(int(0.3 * SAMPLE_RATE), np.float32)
    return AudioClip(np.concatenate([lead, audio]), SAMPLE_RATE, what)


def _contexts(comps: Any) -> dict[str, int]:
    """How full the llama.cpp contexts are: the reply model's tokens now, the planner's last prompt
    (what n_ctx each really needs)."""
    out: dict[str, int] = {}
    model = getattr(comps.__dict__.get("llm"), "model", None)
    if model is not None and hasattr(model, "n_tokens"):
        out["reply_ctx_tokens"] = int(model.n_tokens)
    planner = comps.__dict__.get("planner_model")
    if planner is not None and hasattr(planner, "last_prompt_tokens"):
        out["planner_prompt_tokens"] = int(planner.last_prompt_tokens)
    return out


def child(cfg_json: str, turns: int, out_path: Path) -> int:
    """The measured process: phases in order, each row written to `out_path` as JSON at the end."""
    meter = Meter()
    meter.mark("python")
    # what the CLI's entry point does before anything loads (umask, no telemetry, malloc settings)
    from pipeline.cli.main import process_setup

    process_setup()
    import asyncio

    from devices.sinks import BufferSink
    from devices.sources import ClipSource
    from memory import Memory
    from pipeline.config import TwinConfig
    from pipeline.runtime.components import Components
    from pipeline.runtime.session import Twin

    meter.mark("import twin")
    cfg = TwinConfig.model_validate_json(cfg_json)
    comps = Components(cfg)
    for part in ("vad", "asr", "tts", "llm"):
        getattr(comps, part)
        meter.mark(f"load {part}")
    ident = cfg.identity
    if ident.speakers or ident.emotion:
        comps.listener  # noqa: B018 - what load_all loads: speaker encoder, Twin's voice, emotion
        meter.mark("load listener (voice id)")
    if cfg.tools.enabled:
        comps.tool_index  # noqa: B018
        meter.mark("load tool index (e5)")
        comps.planner_model  # noqa: B018
        meter.mark("planner context")
    if cfg.endpointing.on_for(cfg.device_profile) and hasattr(comps.llm, "end_scorer"):
        comps.llm.end_scorer()  # type: ignore[attr-defined]
        meter.mark("turn-end context")

    with tempfile.TemporaryDirectory(prefix="twin-footprint-") as scratch:
        # The scripted user acts on a scratch data directory and memory, never the user's own.
        scfg = cfg.model_copy(update={"data_dir": Path(scratch)})
        comps.__dict__["memory"] = Memory.open(Path(scratch) / "memory") if cfg.memory.enabled else None
        meter.mark("open memory")
        twin = Twin(scfg, comps)
        twin.warm_up()
        meter.mark("warm-up")
        script = [CONVERSATION[i % len(CONVERSATION)] for i in range(max(1, turns))]
        clips = {what: _clip_for(comps, kind, what) for kind, what in script if kind != "text"}
        meter.mark("user's audio ready")

        async def converse() -> None:
            for i, (kind, what) in enumerate(script, 1):
                if kind == "text":
                    r = await twin.ask(what, BufferSink(), speak=True)
                    heard, reply, status = what, r.reply, r.status
                else:
                    source = ClipSource(clips[what], realtime=True, trailing_silence=1.2)
                    results = await twin.live(source, BufferSink())
                    r = results[-1] if results else None
                    heard = r.transcript if r else ""
                    reply, status = (r.reply, r.status) if r else ("", "no_speech")
                label = "first turn" if i == 1 else f"turn {i}"
                said = {"said": heard, "reply": (reply or "")[:120], "status": status}
                meter.mark(f"{label} ({kind})", **said, **_contexts(comps))

        asyncio.run(converse())
        twin.flush_memory()
        meter.mark(f"after {len(script)} turns")
        # what a quiet moment gives back (pipeline/runtime/idle_trim.py: the voice's arena, malloc's
        # free memory), as between a user's turns
        time.sleep(QUIET_S)
        meter.mark(QUIET_PHASE)
        comps.close()
    out_path.write_text(json.dumps(meter.rows))
    return 0


# -- reporting (the parent) ---------------------------------------------------------------------------
def measure(cfg: Any, turns: int, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Run the child in a fresh interpreter and return its rows."""
    with tempfile.TemporaryDirectory(prefix="twin-footprint-out-") as tmp:
        out = Path(tmp) / "rows.json"
        cfg_file = Path(tmp) / "cfg.json"
        cfg_file.write_text(cfg.model_dump_json())
        root = Path(__file__).resolve().parents[1]
        cmd = [sys.executable, "-m", "bench.footprint", str(cfg_file), str(turns), str(out)]
        proc = subprocess.run(cmd, cwd=root, env={**os.environ, **(env or {})}, check=False)
        if proc.returncode != 0 or not out.is_file():
            raise TwinError(
                f"the measured process failed (exit {proc.returncode})",
                "its error is printed above; `twin models --check` checks the models",
            )
        return json.loads(out.read_text())


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures the README quotes: models loaded, after warm-up, after the conversation, peak."""
    by = {r["phase"]: r for r in rows}
    loaded = [r for r in rows if r["phase"].startswith("load ") or r["phase"].endswith("context")]
    turns = [r for r in rows if r["phase"].startswith(("first turn", "turn "))]
    quiet = by.get(QUIET_PHASE)
    last = next((r for r in reversed(rows) if r["phase"].startswith("after ")), rows[-1])
    return {
        "models_loaded_mb": loaded[-1]["rss"] if loaded else None,
        "warm_mb": by["warm-up"]["rss"] if "warm-up" in by else None,
        "after_turns_mb": last["rss"],
        "peak_mb": max(r["peak"] for r in rows),
        "anon_mb_end": last.get("anon"),
        "file_mb_end": last.get("file"),
        "quiet_mb": quiet["rss"] if quiet else None,
        "turns": len(turns),
        "turn_growth_mb": round(turns[-1]["rss"] - turns[0]["rss"], 1) if len(turns) > 1 else 0.0,
        "failed_turns": sum(1 for r in turns if r.get("status") not in ("completed",)),
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'phase':30} {'rss MB':>8} {'+MB':>7} {'anon':>7} {'file':>7} {'peak':>7} {'free':>6} {'thr':>4}")
    for r in rows:
        print(
            f"{r['phase']:30} {r['rss']:8.1f} {r['delta']:7.1f} {r.get('anon', 0):7.1f} "
            f"{r.get('file', 0):7.1f} {r['peak']:7.1f} {r.get('malloc_free', 0):6.1f} {r['threads']:4d}"
        )


def apply_variant(cfg: Any, settings: list[str]) -> tuple[Any, dict[str, str]]:
    """`NAME=VALUE` (upper case: the child's environment, e.g. MALLOC_ARENA_MAX=8) or
    `section.key=value` / `key=value` (a config setting, e.g. tts.threads=1, malloc_arenas=0)
    -> (config, environment)."""
    env: dict[str, str] = {}
    data = cfg.model_dump()
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep:
            raise BadInputError(f"'{item}' is not NAME=VALUE or section.key=value", _VARIANT_HINT)
        if key.isupper():
            env[key] = value
            continue
        section, _, name = key.partition(".")
        literal = value in ("true", "false", "null") or value.isdigit()
        parsed = json.loads(value) if literal else value
        if not name and section in data and not isinstance(data[section], dict):
            data[section] = parsed  # a top-level setting (malloc_arenas=0)
            continue
        if not name or section not in data or not isinstance(data[section], dict):
            raise BadInputError(f"'{key}' is not a config setting", _VARIANT_HINT)
        data[section][name] = parsed
    try:
        return type(cfg).model_validate(data), env
    except ValidationError as exc:
        why = exc.errors()[0]["msg"]
        raise BadInputError(f"--variant {' '.join(settings)}: {why}", _VARIANT_HINT) from None


def _print_summary(s: dict[str, Any]) -> None:
    print(
        f"\nmodels loaded {s['models_loaded_mb']:.0f} MB, warm {s['warm_mb']:.0f} MB, after "
        f"{s['turns']} turns {s['after_turns_mb']:.0f} MB (anon {s['anon_mb_end']:.0f}, file-backed "
        f"{s['file_mb_end']:.0f}); peak {s['peak_mb']:.0f} MB; failed turns: {s['failed_turns']}"
    )
    if s.get("quiet_mb") is not None:
        print(f"{QUIET_S:.0f} s after the last turn (the idle trim's quiet moment): {s['quiet_mb']:.0f} MB")


def run_footprint_bench(
    cfg: Any, turns: int, json_path: Path | None, variant: list[str] | None = None
) -> int:
    """The footprint table; with `variant`, the same conversation again in a second fresh process
    with those settings, and the two side by side (before/after in one run)."""
    vcfg, env = apply_variant(cfg, variant) if variant else (cfg, {})  # a typo fails before any run
    print(f"A fresh process loads Twin's default models and holds a {turns}-turn conversation.", flush=True)
    rows = measure(cfg, turns)
    print()
    print_table(rows)
    s = summary(rows)
    _print_summary(s)
    print("'free' is what glibc's arenas hold free; 'file' is mapped files (the GGUF), reclaimable.")
    report: dict[str, Any] = {
        "summary": s,
        "phases": rows,
        "turns": turns,
        "profile": cfg.profile,
        "machine": {"cpus": len(os.sched_getaffinity(0)), "platform": platform.platform()},
    }
    failed = s["failed_turns"]
    if variant:
        print(f"\nThe same with {' '.join(variant)}:", flush=True)
        vrows = measure(vcfg, turns, env)
        print()
        print_table(vrows)
        vs = summary(vrows)
        _print_summary(vs)
        print(f"\n{'':24} {'before':>8} {'after':>8} {'saved':>8}")
        for key in ("models_loaded_mb", "warm_mb", "after_turns_mb", "quiet_mb", "peak_mb"):
            a, b = s[key], vs[key]
            if a is None or b is None:
                continue
            print(f"{key:24} {a:8.0f} {b:8.0f} {a - b:8.0f}")
        report["variant"] = {"settings": variant, "summary": vs, "phases": vrows}
        failed += vs["failed_turns"]
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=1, ensure_ascii=False))
        print(f"wrote {json_path}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(child(Path(sys.argv[1]).read_text(), int(sys.argv[2]), Path(sys.argv[3])))
