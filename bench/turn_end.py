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
   cost, on this machine, under whatever else runs). While a verdict is pending the pause keeps the
   profile's window (the bound in `Endpointer.expect_verdict`): a verdict later than that changes
   nothing. Reported for every device profile's window: mid-phrase pauses cut off (0.8 s pauses,
   longer than every window; and 0.3 s ones, shorter than every window, which only a wrong "done"
   verdict can cut), the silence waited after the end of whole requests (the end-of-turn delay: the
   reply cannot start before it), how many verdicts landed in time, and what one verdict costs.
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
from devices.profiles import PROFILES
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
SHORT_S = 0.3  # a short mid-phrase pause: shorter than every profile's window, longer than `done_ms`


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
    in_time: list[bool]  # per judged pause: the verdict reached the pause while it was open


def frames_of(samples: np.ndarray) -> list[np.ndarray]:
    n = len(samples) // FRAME
    return [samples[i * FRAME : (i + 1) * FRAME] for i in range(n)]


def speech_probs(samples: np.ndarray, vad) -> list[float]:
    """The VAD's speech probability of each frame (the same for every mode and window)."""
    vad.reset()
    return [vad.frame_probability(f) for f in frames_of(samples)]


def simulate(
    samples: np.ndarray, probs: list[float], asr, model: TurnEnd | None, w: Windows, language: str = "en"
) -> Run:
    """The front end's endpointing on a recording, frame by frame (`probs`: `speech_probs`). With
    `model`, each pause awaits a verdict, which arrives as many frames later as ASR + P(end) took
    here; meanwhile the pause keeps the profile's window (a verdict after it changes nothing)."""
    ep = Endpointer(w.default_ms)
    pending: tuple[int, int, int | None] | None = None  # (frame index it lands on, voiced, window)
    run = Run([], [], [], [], [])
    for i, frame in enumerate(frames_of(samples)):
        if pending is not None and i >= pending[0]:
            run.in_time.append(ep.verdict(pending[1], pending[2]))
            pending = None
        was_open = ep.in_speech
        out = ep.push(AudioFrame(samples=frame, position=i * FRAME_S, speech_prob=probs[i]))
        if was_open and not ep.in_speech and pending is not None:
            run.in_time.append(False)  # the profile's window passed before the verdict came
            pending = None
        if was_open and not ep.in_speech:
            run.ends.append((i + 1) * FRAME_S)
        if isinstance(out, SpeechPaused) and model is not None:
            ep.expect_verdict(out.voiced)
            t0 = time.perf_counter()
            text = asr.transcribe(out.audio, language, True).text
            p = model.p_end(text)
            took = time.perf_counter() - t0
            run.verdict_ms.append(took * 1000)
            window = w.window_ms(p) if text.strip() else None  # no words: the profile's (PauseJudge)
            run.judged.append((text, p, window or w.default_ms))
            pending = (i + 1 + math.ceil(took / FRAME_S), out.voiced, window)
        elif isinstance(out, SpeechResumed):
            if pending is not None:
                run.in_time.append(False)  # the user spoke on first: the verdict is for old words
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


def _real(comps, model: TurnEnd, cfg: TwinConfig) -> dict | None:
    """Every recording whole and with pauses spliced in at its word boundaries, through the real
    VAD and endpointer with each device profile's window: semantic (the configured thresholds) and
    fixed, side by side. The boundaries are found once (the ASR every 50 ms: most of the time)."""
    clips = recordings()
    if not clips:
        print(f"\nreal recordings: {RECORDINGS} not found; that part is skipped")
        return None
    lead_s = 0.3
    lead = np.zeros(int(lead_s * SAMPLE_RATE), np.float32)
    tail = np.zeros(int((cfg.endpointing.hold_ms / 1000 + 0.5) * SAMPLE_RATE), np.float32)
    inputs: list[tuple[str, float | None, float, np.ndarray, list[float]]] = []  # words, at, pause, audio
    for words, clip in clips:
        x = np.concatenate([lead, clip.samples, tail])
        inputs.append((words, None, 0.0, x, speech_probs(x, comps.vad)))
        for at in boundaries(clip.samples, comps.asr, words):
            for pause_s in (SPLICE_S, SHORT_S):
                y = np.concatenate([lead, splice(clip.samples, at, pause_s), tail])
                inputs.append((words, round(at, 2), pause_s, y, speech_probs(y, comps.vad)))
    out: dict = {"profiles": {}, "cases": []}
    verdicts: list[float] = []
    for name, profile in PROFILES.items():
        w = Windows.from_config(cfg.endpointing, profile.endpoint_silence_ms)
        modes: dict[str, TurnEnd | None] = {"semantic": model, "fixed": None}
        row = {k: {"waited_ms": [], "split": 0, "cut_long": 0, "cut_short": 0} for k in modes}
        in_time: list[bool] = []
        for words, at, pause_s, audio, probs in inputs:
            case: dict = {"profile": name, "recording": words, "splice_s": at, "pause_s": pause_s}
            for key, m in modes.items():
                r = simulate(audio, probs, comps.asr, m, w)
                if m is not None:
                    verdicts += r.verdict_ms
                    in_time += r.in_time
                    case["judged"] = r.judged
                if at is None:
                    row[key]["waited_ms"] += r.waited_ms[-1:]
                    row[key]["split"] += len(r.ends) > 1
                    case[f"waited_ms_{key}"] = r.waited_ms
                else:
                    pause = (lead_s + at, lead_s + at + pause_s + 0.05)
                    was_cut = any(pause[0] < t <= pause[1] for t in r.ends)  # closed inside the pause
                    row[key]["cut_long" if pause_s == SPLICE_S else "cut_short"] += was_cut
                    case[f"cut_{key}"] = was_cut
            out["cases"].append(case)
        n_long = sum(at is not None and p == SPLICE_S for _, at, p, _, _ in inputs)
        n_short = sum(at is not None and p == SHORT_S for _, at, p, _, _ in inputs)
        out["profiles"][name] = {
            "window_ms": profile.endpoint_silence_ms,
            "whole_recordings": len(clips),
            "long_pauses": n_long,
            "short_pauses": n_short,
            "verdicts_in_time": sum(in_time) / max(1, len(in_time)),
        } | {
            key: {
                "whole_split": v["split"],
                "end_delay_ms": {
                    "median": statistics.median(v["waited_ms"]),
                    "p95": _pct(v["waited_ms"], 0.95),
                },
                "midphrase_cut": v["cut_long"],
                "short_pause_cut": v["cut_short"],
            }
            for key, v in row.items()
        }
    out["verdict_ms"] = {
        "median": statistics.median(verdicts),
        "p95": _pct(verdicts, 0.95),
        "n": len(verdicts),
    }
    return out


def print_real(real: dict) -> None:
    profiles = real["profiles"]
    first = next(iter(profiles.values()))
    print(
        f"\nreal recordings ({first['whole_recordings']} human clips; {first['long_pauses']} pauses of "
        f"{SPLICE_S:.1f} s and {first['short_pauses']} of {SHORT_S:.1f} s spliced in mid-phrase), "
        "semantic / fixed:"
    )
    print(f"{'':34}" + "".join(f"{n + ' ' + str(p['window_ms']) + ' ms':>18}" for n, p in profiles.items()))

    def line(label: str, cell) -> None:
        print(f"{label:34}" + "".join(f"{cell(p):>18}" for p in profiles.values()))

    line(
        f"{SPLICE_S:.1f} s mid-phrase pauses cut off",
        lambda p: f"{p['semantic']['midphrase_cut']} / {p['fixed']['midphrase_cut']}",
    )
    line(
        f"{SHORT_S:.1f} s mid-phrase pauses cut off",
        lambda p: f"{p['semantic']['short_pause_cut']} / {p['fixed']['short_pause_cut']}",
    )
    line("whole requests split", lambda p: f"{p['semantic']['whole_split']} / {p['fixed']['whole_split']}")
    for q in ("median", "p95"):
        line(
            f"end-of-turn delay {q} ms",
            lambda p, q=q: f"{p['semantic']['end_delay_ms'][q]:.0f} / {p['fixed']['end_delay_ms'][q]:.0f}",
        )
    line("verdicts in time (semantic)", lambda p: f"{p['verdicts_in_time']:.0%}")
    v = real["verdict_ms"]
    print(
        f"{'verdict per pause (ASR + P(end))':34}median {v['median']:.0f} ms, p95 {v['p95']:.0f} ms "
        f"({v['n']} pauses)"
    )


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
        real = _real(comps, model, cfg)
        if real is not None:
            print_real(real)
            report["real"] = real
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=1))
        print(f"wrote {json_path}")
    return 0
