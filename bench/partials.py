"""`twin bench partials`: streaming partial transcripts on and off, side by side in one run.

The same clips are played in real time into the live front end (`twin.live`, the speaker profile's
semantic end of turn on) as one continuing conversation per variant, each variant after the other
(alternating them on one model would evict each other's prompt cache):

- `off`: no partials (`[partials] enabled = false`): the verdict is scored on the speculative
  turn's transcript, as before;
- `on`: partials feed the verdict and the turn's transcript (`reuse`) and are read into the
  model's prompt cache (`prefill`, pipeline/runtime/prefill.py): the defaults;
- `no_prefill`: as `on`, without the prefill;
- `verdict_only`: partials feed the verdict only; the turn transcribes its own audio;
- `pause_score_only`: as `on`, but only a pause's partial is scored for P(end), not those decoded
  mid-speech (`[partials] score_mid_speech = false`).

Clips: the human recordings of ../shared/fixtures/speech_to_phrase_en (commands, mostly answered by
tools) and `--questions` synthetic questions in Twin's own voice (answered by the model). Reported:
voice-to-voice and the end-of-turn delay (silence waited after the last word), median and p95; how
many end-of-turn verdicts arrived in time to be applied; the transcripts' WER against the recordings'
names; partial decodes and their cost; event-loop stalls (a blocking call on the loop holds the
endpointer's frames, so the end of the turn waits behind it). Timings depend on the machine's load:
say whether it was shared.
"""

from __future__ import annotations

import asyncio
import json
import platform
import time
from pathlib import Path

import numpy as np

from bench.latency import QUESTIONS, _cpus, _question_clip, _recordings, _scratch, _stats
from devices.sinks import BufferSink
from devices.sources import ClipSource
from pipeline.config import PartialsConfig, TwinConfig
from pipeline.runtime.components import Components
from pipeline.runtime.session import Twin
from voice.audio import AudioClip

VARIANTS: dict[str, PartialsConfig] = {
    "off": PartialsConfig(enabled=False),
    "on": PartialsConfig(enabled=True, reuse=True),
    "no_prefill": PartialsConfig(enabled=True, reuse=True, prefill=False),
    "verdict_only": PartialsConfig(enabled=True, reuse=False),
    "pause_score_only": PartialsConfig(enabled=True, reuse=True, score_mid_speech=False),
}


STALL_MS = 250  # the event loop held this long: frames (and the end of the turn) wait behind it


async def _loop_lag(out: list[float]) -> None:
    """How late the event loop wakes a 10 ms sleep, all along a clip: a long delay is a stall (a
    blocking call on the loop), which delays the endpointer's frames and so the end of the turn."""
    while True:
        t = time.monotonic()
        await asyncio.sleep(0.01)
        out.append(time.monotonic() - t - 0.01)


def _label(clip: AudioClip) -> str | None:
    """A recording's words: its file name (the fixtures are named by what is said); None when unknown."""
    stem = Path(clip.source or "").stem
    return None if not stem or stem.startswith("oov") else stem


async def _conversation(cfg: TwinConfig, comps: Components, clips: list[tuple[str, AudioClip]]) -> list[dict]:
    twin = Twin(cfg, comps)
    twin.warm_up()
    rows: list[dict] = []
    for kind, clip in clips:
        lags: list[float] = []
        watch = asyncio.create_task(_loop_lag(lags))
        try:
            results = await twin.live(ClipSource(clip, realtime=True, trailing_silence=1.5), BufferSink())
        finally:
            watch.cancel()
        log = twin.front_end.log.events
        verdicts = [e for e in log if e["event"] == "turn_end"]
        partials = twin.front_end.partials
        done = [r for r in results if r.status == "completed"]
        t = done[0].timings_ms if done else {}
        rows.append(
            {
                "kind": kind,
                "label": _label(clip) if kind == "real" else clip.source,
                "transcript": " ".join(r.transcript for r in results),
                "turns": len(results),
                "voice_to_voice": t.get("voice_to_voice"),
                "end_delay": t.get("vad"),
                "asr": t.get("asr"),
                "first_token": t.get("llm_first_token"),
                "verdicts": len(verdicts),
                "applied": sum(bool(v["applied"]) for v in verdicts),
                "verdict_after_s": [v["after_s"] for v in verdicts],
                "partials": len(partials),
                "decode_ms": [p["decode_ms"] for p in partials],
                "loop_stall_ms": round(max(lags, default=0.0) * 1000, 1),
                "partial_texts": [(p["audio_s"], p["at_pause"], p["text"]) for p in partials],
                "verdict_windows": [(v["p_end"], v["window_ms"], v.get("words")) for v in verdicts],
            }
        )
    twin.flush_memory()
    for pool in (comps.pools.memory, comps.pools.llm, comps.pools.identity):
        pool.submit(lambda: None).result(timeout=60)
    return rows


def _wer(rows: list[dict]) -> float | None:
    import jiwer

    from bench.asr import normalize

    pairs = [(r["label"], r["transcript"]) for r in rows if r["kind"] == "real" and r["label"]]
    if not pairs:
        return None
    refs = [normalize(a) for a, _ in pairs]
    hyps = [normalize(b) or "<empty>" for _, b in pairs]
    return round(float(jiwer.wer(refs, hyps)), 3)


def _summary(rows: list[dict]) -> dict:
    out: dict = {}
    for kind in ("real", "synthetic"):
        part = [r for r in rows if r["kind"] == kind]
        out[kind] = {
            "clips": len(part),
            "voice_to_voice_ms": _stats(
                [r["voice_to_voice"] for r in part if r["voice_to_voice"] is not None]
            ),
            "end_delay_ms": _stats([r["end_delay"] for r in part if r["end_delay"] is not None]),
            "asr_ms": _stats([r["asr"] for r in part if r["asr"] is not None]),
            "llm_first_token_ms": _stats([r["first_token"] for r in part if r["first_token"] is not None]),
        }
    verdicts = sum(r["verdicts"] for r in rows)
    after = [a for r in rows for a in r["verdict_after_s"]]
    decodes = [d for r in rows for d in r["decode_ms"]]
    out["verdicts"] = verdicts
    out["verdicts_applied"] = sum(r["applied"] for r in rows)
    out["verdict_after_pause_ms"] = _stats([a * 1000 for a in after])
    out["partials_per_clip"] = round(sum(r["partials"] for r in rows) / max(1, len(rows)), 2)
    out["partial_decode_ms"] = _stats(decodes)
    out["wer_real"] = _wer(rows)
    out["split_or_lost"] = sum(r["turns"] != 1 for r in rows)
    out["loop_stalls"] = sum(r["loop_stall_ms"] > STALL_MS for r in rows)
    return out


def run_partials_bench(cfg: TwinConfig, questions: int, json_path: Path | None, variants: list[str]) -> int:
    comps = Components(cfg)
    t0 = time.monotonic()
    comps.load_all()
    load_s = time.monotonic() - t0
    clips = [("real", c) for c in _recordings()]
    clips += [("synthetic", _question_clip(comps, q)) for q in QUESTIONS[: max(0, questions)]]
    if not clips:
        print("no clips: the recordings are missing and --questions is 0")
        return 1
    semantic = cfg.endpointing.on_for(cfg.device_profile)
    with _scratch(cfg, comps) as scfg:  # warm-up: one-off allocation costs in every backend
        asyncio.run(_conversation(scfg, comps, clips[:1]))
    print(f"Models loaded in {load_s:.1f} s; {len(clips)} clips in real time, one conversation per variant")
    print(f"profile {cfg.profile}, semantic end of turn {'on' if semantic else 'off'}")
    results: dict[str, dict] = {}
    rows_by: dict[str, list[dict]] = {}
    for name in variants:
        with _scratch(cfg, comps) as scfg:
            vcfg = scfg.model_copy(update={"partials": VARIANTS[name]})
            rows_by[name] = asyncio.run(_conversation(vcfg, comps, clips))
        results[name] = _summary(rows_by[name])

    def cell(name: str, kind: str, key: str) -> str:
        s = results[name][kind][key]
        return f"{s['median']:6.0f} /{s['p95']:5.0f}"

    width = max(16, *(len(n) + 2 for n in variants))  # a long variant's name keeps its column
    print(f"\n{'(ms, median / p95)':28}" + "".join(f"{n:>{width}}" for n in variants))
    for kind in ("real", "synthetic"):
        if not results[variants[0]][kind]["clips"]:
            continue
        for key, title in (
            ("voice_to_voice_ms", "voice-to-voice"),
            ("end_delay_ms", "end-of-turn delay"),
            ("asr_ms", "turn's ASR stage"),
            ("llm_first_token_ms", "model's first token"),
        ):
            print(f"{kind + ' ' + title:28}" + "".join(f"{cell(n, kind, key):>{width}}" for n in variants))
    rows = (
        ("verdicts applied", lambda r: f"{r['verdicts_applied']}/{r['verdicts']}"),
        ("verdict after pause (ms)", lambda r: f"{r['verdict_after_pause_ms']['median']:.0f}"),
        ("partials per clip", lambda r: f"{r['partials_per_clip']}"),
        ("partial decode (ms, med)", lambda r: f"{r['partial_decode_ms']['median']:.0f}"),
        ("WER (real recordings)", lambda r: f"{r['wer_real']}"),
        ("clips split or lost", lambda r: f"{r['split_or_lost']}"),
        (f"event loop stalls > {STALL_MS} ms", lambda r: f"{r['loop_stalls']}"),
    )
    for title, fmt in rows:
        print(f"{title:28}" + "".join(f"{fmt(results[n]):>{width}}" for n in variants))
    report = {
        "variants": results,
        "clips": {
            "real": sum(k == "real" for k, _ in clips),
            "synthetic": sum(k == "synthetic" for k, _ in clips),
        },
        "rows": rows_by,
        "profile": cfg.profile,
        "semantic_turn_end": semantic,
        "endpoint_silence_ms": cfg.device_profile.endpoint_silence_ms,
        "machine": {"cpus": _cpus(), "platform": platform.platform()},
        "model_load_s": round(load_s, 2),
    }
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=1, default=_plain))
        print(f"wrote {json_path}")
    comps.close()
    return 0


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
