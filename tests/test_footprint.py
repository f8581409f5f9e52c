"""`twin bench footprint` (bench/footprint.py) and the allocation settings it measures."""

from __future__ import annotations

import json

import pytest

from bench.footprint import Meter, apply_variant, summary
from models.errors import BadInputError


def test_a_one_turn_run_reports_every_phase_in_a_fresh_process(cfg, tmp_path, capsys):
    from bench.footprint import run_footprint_bench

    out = tmp_path / "footprint.json"
    assert run_footprint_bench(cfg, 1, out) == 0
    report = json.loads(out.read_text())
    phases = [r["phase"] for r in report["phases"]]
    assert phases[:2] == ["python", "import twin"]
    for part in ("load vad", "load asr", "load tts", "load llm", "warm-up", "first turn (text)"):
        assert part in phases
    assert phases[-1] == "after 1 turns"
    rows = report["phases"]
    for before, row in zip(rows, rows[1:], strict=False):
        assert row["delta"] == pytest.approx(row["rss"] - before["rss"], abs=0.11)
        assert row["peak"] >= before["peak"]  # the high-water mark never goes down
        assert row["peak"] >= row["rss"] - 0.1
    # a fresh process: the interpreter alone is far below the models, which are all counted
    assert rows[0]["rss"] < 100 < report["summary"]["models_loaded_mb"]
    turn = next(r for r in rows if r["phase"] == "first turn (text)")
    assert turn["status"] == "completed" and turn["reply"]
    s = report["summary"]
    assert s["turns"] == 1 and s["failed_turns"] == 0
    assert s["peak_mb"] == max(r["peak"] for r in rows)
    assert "peak" in capsys.readouterr().out


def test_summary_counts_a_failed_turn():
    def row(phase, rss, peak, **kw):
        return {"phase": phase, "rss": rss, "peak": peak, "anon": rss / 2, "file": rss / 2} | kw

    rows = [
        row("python", 10, 10),
        row("load llm", 500, 520),
        row("warm-up", 510, 520),
        row("first turn (text)", 600, 640, status="completed"),
        row("turn 2 (voice)", 650, 700, status="no_speech"),
        row("after 2 turns", 650, 700),
    ]
    s = summary(rows)
    assert s["models_loaded_mb"] == 500 and s["warm_mb"] == 510 and s["peak_mb"] == 700
    assert s["turns"] == 2 and s["failed_turns"] == 1 and s["turn_growth_mb"] == 50


def test_meter_reads_this_process():
    m = Meter()
    a = m.mark("a")
    block = bytearray(64 * 1024 * 1024)  # touched: resident
    for i in range(0, len(block), 4096):
        block[i] = 1
    b = m.mark("b")
    assert b["rss"] - a["rss"] > 50 and b["delta"] > 50 and b["peak"] >= b["rss"]
    assert b["threads"] >= 1 and "anon" in b and "file" in b
    del block


def test_a_variant_is_environment_or_config(cfg):
    vcfg, env = apply_variant(cfg, ["MALLOC_ARENA_MAX=4", "tts.threads=1", "memory.enabled=false"])
    assert env == {"MALLOC_ARENA_MAX": "4"}
    assert vcfg.tts.threads == 1 and vcfg.memory.enabled is False
    assert cfg.tts.threads != 1 or cfg.memory.enabled  # the original is untouched
    for bad in (["nosuch.key=1"], ["tts.threads"], ["tts.threads=0"], ["tts.nosuch=1"]):
        with pytest.raises(BadInputError):
            apply_variant(cfg, bad)


def test_the_piper_voice_runs_without_a_memory_pattern(components):
    # sentences of every length: a memory pattern per shape in a never-shrinking arena (README)
    opts = components.tts.voice.session.get_session_options()
    assert opts.enable_mem_pattern is False
    assert opts.enable_cpu_mem_arena is True  # the arena stays: without it synthesis is ~60% slower


def test_create_session_keeps_onnxruntime_defaults_unless_asked(components):
    from voice.onnx_runtime import create_session

    path = components.resolved("vad").path
    assert create_session(path, ["CPUExecutionProvider"]).get_session_options().enable_mem_pattern
    off = create_session(path, ["CPUExecutionProvider"], mem_pattern=False)
    assert off.get_session_options().enable_mem_pattern is False


def test_malloc_arenas_are_limited_unless_the_user_chose(monkeypatch):
    from pipeline.config import TwinConfig
    from pipeline.runtime.workers import limit_malloc_arenas

    assert TwinConfig().malloc_arenas == 2  # the default every Components applies
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_malloc_arenas(0) is False  # 0: glibc's own default, untouched
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas(2) is False  # the user's explicit setting wins
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    import platform

    if platform.libc_ver()[0] == "glibc":
        assert limit_malloc_arenas(2) is True
