"""`twin bench turn_end`: the semantic end of turn (pipeline/runtime/turn_end.py) against today's
fixed silence window, side by side in one run.

1. Text: P(end) from the local LLM on bench/turn_end_cases.py (DEV, on which the thresholds were
   chosen, and TEST, reported apart): accuracy at `p_done`, how many cut-off phrases are held,
   how many whole ones end fast, and the cost of one call (median / p95 ms).
2. Real audio: the human recordings of ../shared/fixtures/speech_to_phrase_en (file name = words).
   Each whole recording, and the same recording with 0.8 s of silence spliced in at each boundary
   between words (found with the ASR: `boundaries`), goes through the real VAD and endpointer. At every
   pause the real ASR transcribes what was said so far and the LLM scores it; the verdict reaches
   the endpointer as many frames later as those two calls took here (so the figures include their
   cost, on this machine, under whatever else runs). Reported: mid-phrase pauses cut off, and the
   silence waited after the end of whole requests, semantic vs fixed.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.turn_end_cases import DEV, TEST
from persona.spoken import number_words
from pipeline.config import TwinConfig
from pipeline.events import AudioFrame, SpeechPaused, SpeechResumed, Utterance
from pipeline.runtime.endpointing import FRAME_S, Endpointer
from pipeline.runtime.turn_end import TurnEnd, Windows, lm_turn_end, normalize
from voice.audio import SAMPLE_RATE, AudioClip, load_audio
from voice.vad import FRAME

RECORDINGS = (
    Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "speech_to_phrase_en" / "wav"
)
SPLICE_S = 0.8  # a mid-phrase pause: longer than every profile's silence window


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, math.ceil(q * len(s)) - 1)]


def score_text(model: TurnEnd, cases: tuple[tuple[str, bool], ...], w: Windows) -> dict:
    """P(end) per case; decisions at the thresholds; the cost of each call."""
    rows, ms = [], []
    for text, complete in cases:
        t0 = time.perf_counter()
        p = model.p_end(text)
        ms.append((time.perf_counter() - t0) * 1000)
        rows.append({"text": text, "complete": complete, "p_end": p, "window_ms": w.window_ms(p)})
    whole = [r for r in rows if r["complete"]]
    cut = [r for r in rows if not r["complete"]]
    correct = sum((r["p_end"] >= w.p_done) == r["complete"] for r in rows)
    pairs = [(a["p_end"], b["p_end"]) for a in whole for b in cut]
    return {
        "n": len(rows),
        "accuracy": correct / len(rows),
        "ranking_auc": sum(a > b for a, b in pairs) / max(1, len(pairs)),
        "complete_fast": sum(r["window_ms"] < w.default_ms for r in whole) / max(1, len(whole)),
        "complete_held": sum(r["window_ms"] > w.default_ms for r in whole) / max(1, len(whole)),
        "incomplete_held": sum(r["window_ms"] > SPLICE_S * 1000 for r in cut) / max(1, len(cut)),
        "incomplete_cut_fixed_window": 1.0,  # a fixed window shorter than the pause cuts every one
        "call_ms": {"median": statistics.median(ms), "p95": _pct(ms, 0.95)},
        "cases": rows,
    }


def tune(model: TurnEnd, cases: tuple[tuple[str, bool], ...]) -> tuple[float, float]:
    """The thresholds (p_done, p_hold) DEV calls for: first hold every cut-off phrase it can (a
    cut-off is the worse error), then end as many whole requests fast as possible, then hold as few
    of them as possible; among equals, the thresholds farthest (in log P) from every DEV case."""
    ps = [(model.p_end(t), c) for t, c in cases]
    logs = [math.log10(max(p, 1e-12)) for p, _ in ps]
    grid = [round(10**e, 7) for e in np.arange(-4.0, -0.99, 1 / 32)]
    best: tuple | None = None
    for p_hold in grid:
        for p_done in (g for g in grid if g >= p_hold):
            held = sum(p < p_hold for p, c in ps if not c)
            fast = sum(p >= p_done for p, c in ps if c)
            slow = sum(p < p_hold for p, c in ps if c)
            margin = min(min(abs(x - math.log10(p_hold)), abs(x - math.log10(p_done))) for x in logs)
            key = (held, fast, -slow, round(margin, 6))
            if best is None or key > best[0]:
                best = (key, p_hold, p_done)
    assert best is not None
    return float(best[2]), float(best[1])


@dataclass
class Run:
    ends: list[float]  # stream times at which the endpointer closed the turn (or dropped a fragment)
    waited_ms: list[float]  # per utterance: silence from the last voiced frame to the endpoint
    verdict_ms: list[float]  # per judged pause: ASR + LLM on this machine
    judged: list[tuple[str, float, int]]  # per judged pause: (words heard, P(end), window ms)


def frames_of(samples: np.ndarray) -> list[np.ndarray]:
    n = len(samples) // FRAME
    return [samples[i * FRAME : (i + 1) * FRAME] for i in range(n)]


def simulate(samples: np.ndarray, vad, asr, model: TurnEnd | None, w: Windows, language: str = "en") -> Run:
    """The front end's endpointing on a recording, frame by frame. With `model`, each pause is held
    for a verdict, which arrives as many frames later as ASR + P(end) took here."""
    vad.reset()
    ep = Endpointer(w.default_ms)
    pending: tuple[int, int, int | None] | None = None  # (frame index it lands on, voiced, window)
    run = Run([], [], [], [])
    for i, frame in enumerate(frames_of(samples)):
        if pending is not None and i >= pending[0]:
            ep.verdict(pending[1], pending[2])
            pending = None
        was_open = ep.in_speech
        out = ep.push(
            AudioFrame(samples=frame, position=i * FRAME_S, speech_prob=vad.frame_probability(frame))
        )
        if was_open and not ep.in_speech:
            run.ends.append((i + 1) * FRAME_S)
        if isinstance(out, SpeechPaused) and model is not None:
            ep.expect_verdict(out.voiced, w.hold_ms)
            t0 = time.perf_counter()
            text = asr.transcribe(out.audio, language, True).text
            p = model.p_end(text)
            took = time.perf_counter() - t0
            run.verdict_ms.append(took * 1000)
            window = w.window_ms(p) if text.strip() else None  # no words: the profile's (PauseJudge)
            run.judged.append((text, p, window or w.default_ms))
            pending = (i + 1 + math.ceil(took / FRAME_S), out.voiced, window)
        elif isinstance(out, SpeechResumed):
            pending = None
        elif isinstance(out, Utterance):
            run.waited_ms.append(((i + 1) * FRAME_S - out.end) * 1000)
    return run


_NUMBERS = dict(enumerate(number_words(20))) | {30: "thirty", 40: "forty", 50: "fifty"}


def _spoken(text: str) -> list[str]:
    """The words of a reference as the ASR writes them (small numbers in words; "percent")."""
    words = normalize(text.replace("%", " percent")).split()
    return [_NUMBERS.get(int(w), w) if w.isdigit() else w for w in words]


def boundaries(
    samples: np.ndarray, asr, reference: str = "", language: str = "en", step_s: float = 0.05
) -> list[float]:
    """Word boundaries inside a recording, found with the ASR (it gives no word times): a cut point
    every `step_s`, and for each number of words k (1 <= k < all) the middle of the times at which
    the audio up to the cut is heard as exactly the first k words of the whole recording's
    transcript or of its `reference` words. A cut where the ASR heard something else (a word cut
    in two, a made-up ending) is not a boundary."""
    tail = np.zeros(int(0.15 * SAMPLE_RATE), np.float32)
    heard = normalize(asr.transcribe(AudioClip(samples), language, True).text).split()
    wholes = [heard] + ([_spoken(reference)] if reference else [])
    at: dict[int, list[float]] = {}
    for t in np.arange(0.2, len(samples) / SAMPLE_RATE - 0.1, step_s):
        words = normalize(
            asr.transcribe(
                AudioClip(np.concatenate([samples[: int(t * SAMPLE_RATE)], tail])), language, True
            ).text
        ).split()
        if any(0 < len(words) < len(whole) and words == whole[: len(words)] for whole in wholes):
            at.setdefault(len(words), []).append(float(t))
    return [statistics.median(ts) for _, ts in sorted(at.items())]


def splice(samples: np.ndarray, at_s: float, pause_s: float = SPLICE_S) -> np.ndarray:
    cut = int(at_s * SAMPLE_RATE)
    return np.concatenate([samples[:cut], np.zeros(int(pause_s * SAMPLE_RATE), np.float32), samples[cut:]])


def recordings() -> list[tuple[str, AudioClip]]:
    """(the words said, the recording) for each human recording."""
    if not RECORDINGS.is_dir():
        return []
    return [
        (p.stem, load_audio(p))
        for p in sorted(RECORDINGS.glob("*.wav"))
        if not p.stem.startswith("oov_")  # out-of-vocabulary clips: their names are not their words
    ]


def _real(comps, model: TurnEnd, w: Windows) -> dict | None:
    clips = recordings()
    if not clips:
        print(f"\nreal recordings: {RECORDINGS} not found; that part is skipped")
        return None
    lead_s = 0.3
    lead = np.zeros(int(lead_s * SAMPLE_RATE), np.float32)
    tail = np.zeros(int((w.hold_ms / 1000 + 0.5) * SAMPLE_RATE), np.float32)
    modes = {"semantic": model, "fixed": None}
    whole: dict[str, dict] = {k: {"waited_ms": [], "split": 0} for k in modes}
    cut: dict[str, int] = dict.fromkeys(modes, 0)
    cases: list[dict] = []
    verdicts: list[float] = []
    for words, clip in clips:
        x = np.concatenate([lead, clip.samples, tail])
        for key, m in modes.items():
            r = simulate(x, comps.vad, comps.asr, m, w)
            whole[key]["waited_ms"] += r.waited_ms[-1:]
            whole[key]["split"] += len(r.ends) > 1
            verdicts += r.verdict_ms
            if m is not None:
                cases.append(
                    {"recording": words, "splice_s": None, "judged": r.judged, "waited_ms": r.waited_ms}
                )
        for at in boundaries(clip.samples, comps.asr, words):
            y = np.concatenate([lead, splice(clip.samples, at), tail])
            pause = (lead_s + at, lead_s + at + SPLICE_S + 0.05)
            case: dict = {"recording": words, "splice_s": round(at, 2)}
            for key, m in modes.items():
                r = simulate(y, comps.vad, comps.asr, m, w)
                was_cut = any(pause[0] < t <= pause[1] for t in r.ends)  # closed inside the pause
                cut[key] += was_cut
                case[f"cut_{key}"] = was_cut
                verdicts += r.verdict_ms
                if m is not None:
                    case["judged"] = r.judged
            cases.append(case)
    n_spliced = sum(c["splice_s"] is not None for c in cases)
    out: dict = {}
    for key in modes:
        waited = whole[key]["waited_ms"]
        out[key] = {
            "whole_recordings": len(clips),
            "whole_split": whole[key]["split"],
            "end_delay_ms": {"median": statistics.median(waited), "p95": _pct(waited, 0.95)},
            "midphrase_pauses": n_spliced,
            "midphrase_cut": cut[key],
        }
    out["verdict_ms"] = {
        "median": statistics.median(verdicts),
        "p95": _pct(verdicts, 0.95),
        "n": len(verdicts),
    }
    out["cases"] = cases
    return out


def run_turn_end_bench(cfg: TwinConfig, json_path: Path | None, audio: bool = True) -> int:
    from pipeline.runtime.components import Components

    comps = Components(cfg)
    t0 = time.monotonic()
    model = lm_turn_end(comps.llm)
    if model is None:
        print("the configured LLM gives no end-of-turn scores: nothing to measure")
        return 1
    model.p_end("warm up")  # the fixed prompt prefix into the scorer's cache
    default_ms = cfg.device_profile.endpoint_silence_ms
    w = Windows.from_config(cfg.endpointing, default_ms)
    print(
        f"Models loaded in {time.monotonic() - t0:.1f} s. "
        f"Profile '{cfg.profile}': fixed window {default_ms} ms;"
    )
    print(f"semantic: p >= {w.p_done} -> {min(w.done_ms, default_ms)} ms, p < {w.p_hold} -> {w.hold_ms} ms.")
    dev, test = score_text(model, DEV, w), score_text(model, TEST, w)
    tuned_done, tuned_hold = tune(model, DEV)
    print(f"\nthresholds DEV calls for (bench/turn_end.py tune): p_done {tuned_done}, p_hold {tuned_hold}")
    print(f"\ntext cases (synthetic){'':10} {'DEV':>8} {'TEST':>8}")
    for key, label in (
        ("accuracy", "accuracy at p_done"),
        ("ranking_auc", "whole > cut-off (AUC)"),
        ("complete_fast", "whole: ends fast"),
        ("complete_held", "whole: held long"),
        ("incomplete_held", "cut-off: held"),
    ):
        print(f"{label:32} {dev[key]:8.2f} {test[key]:8.2f}")
    print(
        f"{'P(end) call ms median / p95':32} {dev['call_ms']['median']:5.0f}/{dev['call_ms']['p95']:<4.0f}"
        f" {test['call_ms']['median']:4.0f}/{test['call_ms']['p95']:.0f}"
    )
    report: dict = {
        "profile": cfg.profile,
        "windows": w.__dict__,
        "tuned_on_dev": {"p_done": tuned_done, "p_hold": tuned_hold},
        "text": {"dev": dev, "test": test},
        "contended": "timings on a shared 2-core machine",
    }
    if audio:
        real = _real(comps, model, w)
        if real is not None:
            s, f = real["semantic"], real["fixed"]
            print(
                f"\nreal recordings ({s['whole_recordings']} human clips, {s['midphrase_pauses']} spliced "
                f"{SPLICE_S:.1f} s mid-phrase pauses){'':2} {'semantic':>9} {'fixed':>9}"
            )
            print(f"{'mid-phrase pauses cut off':40} {s['midphrase_cut']:9d} {f['midphrase_cut']:9d}")
            print(f"{'whole requests split':40} {s['whole_split']:9d} {f['whole_split']:9d}")
            print(
                f"{'end-of-turn silence waited, median ms':40} {s['end_delay_ms']['median']:9.0f}"
                f" {f['end_delay_ms']['median']:9.0f}"
            )
            print(
                f"{'end-of-turn silence waited, p95 ms':40} {s['end_delay_ms']['p95']:9.0f}"
                f" {f['end_delay_ms']['p95']:9.0f}"
            )
            v = real["verdict_ms"]
            print(f"verdict at a pause (ASR + P(end)): median {v['median']:.0f} ms, p95 {v['p95']:.0f} ms")
            report["real"] = real
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=1))
        print(f"wrote {json_path}")
    return 0
