"""`twin bench turn_end`: the semantic end of turn (pipeline/runtime/turn_end.py) against today's
fixed silence window, side by side in one run.

1. Text: P(end) from the local LLM on bench/turn_end_cases.py (DEV, on which the thresholds were
   chosen, and TEST, reported apart): accuracy at `p_done`, how many cut-off phrases are held,
   how many whole ones end fast, and the cost of one call (median / p95 ms).
2. Audio, DEV and TEST apart. TEST: the human recordings of ../shared/fixtures/speech_to_phrase_en
   (file name = words), never tuned on. DEV: bench/turn_end_cases.py's DEV_SPOKEN phrasings said by
   Piper and two espeak-ng voices (`spoken_dev`; Whisper tiny mishears several, as it does people).
   Each clip whole, and with a pause of 0.8 s, 0.3 s and 1.2 s spliced in at each boundary between
   words (found with the ASR: `boundaries`), goes through the real VAD and endpointer. At every
   pause the real ASR transcribes what was said so far and the LLM scores it; the verdict reaches
   the endpointer as many frames later as those two calls took here (so the figures include their
   cost, on this machine, under whatever else runs; each distinct pause is judged once and that
   verdict and its cost serve every profile and rule). While a verdict is pending the pause keeps
   the profile's window (the bound in `Endpointer.expect_verdict`): a verdict later than that
   changes nothing. Reported for every device profile's window, in one run: the semantic end of turn
   as configured ("after": words the ASR closed with "?" are held `question_hold_ms`), the same
   without that rule ("before": every hold `hold_ms`), and the fixed window: mid-phrase pauses cut
   off (0.8 s: longer than every window; 0.3 s: shorter than every window, which only a wrong "done"
   verdict can cut; 1.2 s: longer than `question_hold_ms`, what the shorter hold costs), whole
   requests that ended sooner / later than with the fixed window, the silence waited after the end
   of whole requests (the end-of-turn delay: the reply cannot start before it), how many verdicts
   landed in time, and what one verdict costs. `tune_question_hold` says which `question_hold_ms`
   DEV calls for.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.turn_end_cases import DEV, DEV_SPOKEN, DEV_VOICES, TEST
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
# the question hold `measure` tries ("after"): what DEV called for (`tune_question_hold`)
QUESTION_HOLD_MS = 1000
LONG_S = 1.2  # a long one: shorter than `hold_ms`, longer than `question_hold_ms` (what that costs)
PAUSES = (SPLICE_S, SHORT_S, LONG_S)


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
    samples: np.ndarray,
    probs: list[float],
    asr,
    model: TurnEnd | None,
    w: Windows,
    language: str = "en",
    heard: dict | None = None,
) -> Run:
    """The front end's endpointing on a recording, frame by frame (`probs`: `speech_probs`). With
    `model`, each pause awaits a verdict, which arrives as many frames later as ASR + P(end) took
    here; meanwhile the pause keeps the profile's window (a verdict after it changes nothing).
    `heard`: the words, P(end) and cost of each pause's audio, kept from its first judging, so the
    same pause is judged alike (and paid once) under every window and rule."""
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
            key = hashlib.sha1(out.audio.samples.tobytes()).hexdigest()
            if heard is None or key not in heard:
                t0 = time.perf_counter()
                text = asr.transcribe(out.audio, language, True).text
                p = model.p_end(text)
                took = time.perf_counter() - t0
                if heard is not None:
                    heard[key] = (text, p, took)
            else:
                text, p, took = heard[key]
            run.verdict_ms.append(took * 1000)
            window = w.window_ms(p, text) if text.strip() else None  # no words: the profile's (PauseJudge)
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


def spoken_dev(comps) -> list[tuple[str, AudioClip]]:
    """The DEV audio: DEV_SPOKEN said by Piper (no random noise: the same audio every run) and by
    each of DEV_VOICES in espeak-ng (skipped, with a line, when espeak-ng is not installed)."""
    from voice.audio import resample
    from voice.capabilities import Prosody

    still = Prosody(noise_scale=0.0, noise_w_scale=0.0)
    out = [
        (t, AudioClip(resample(comps.tts.synthesize_all(t, still), comps.tts.sample_rate, SAMPLE_RATE)))
        for t in DEV_SPOKEN
    ]
    if shutil.which("espeak-ng") is None:
        print("espeak-ng is not installed: the DEV audio is Piper's only (scripts/setup.sh installs it)")
        return out
    with tempfile.TemporaryDirectory() as tmp:
        for voice, speed in DEV_VOICES:
            for n, text in enumerate(DEV_SPOKEN):
                wav = Path(tmp) / f"{voice}-{n}.wav"
                subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text], check=True)
                out.append((text, load_audio(wav)))
    return out


LEAD_S = 0.3  # silence before each clip


def audio_inputs(comps, clips: list[tuple[str, AudioClip]], cfg: TwinConfig, step_s: float) -> list[tuple]:
    """Each clip whole, and with a pause of each of PAUSES spliced in at each word boundary (found
    with the ASR every `step_s`: most of the time): (words, at, pause, audio, speech probs)."""
    lead = np.zeros(int(LEAD_S * SAMPLE_RATE), np.float32)
    tail = np.zeros(int((cfg.endpointing.hold_ms / 1000 + 0.5) * SAMPLE_RATE), np.float32)
    inputs: list[tuple[str, float | None, float, np.ndarray, list[float]]] = []
    for words, clip in clips:
        x = np.concatenate([lead, clip.samples, tail])
        inputs.append((words, None, 0.0, x, speech_probs(x, comps.vad)))
        for at in boundaries(clip.samples, comps.asr, words, step_s=step_s):
            for pause_s in PAUSES:
                y = np.concatenate([lead, splice(clip.samples, at, pause_s), tail])
                inputs.append((words, round(at, 2), pause_s, y, speech_probs(y, comps.vad)))
    return inputs


def _tally(
    r: Run, fixed: Run | None, at: float | None, pause_s: float, row: dict, case: dict, key: str
) -> None:
    """One run's figures into `row`: a whole clip's silence waited, and whether it ended sooner or
    later than with the fixed window (`fixed`, the same clip's run); a spliced clip's cut-off."""
    if at is None:
        waited = r.waited_ms[-1:]
        row["waited_ms"] += waited
        row["split"] += len(r.ends) > 1
        if fixed is not None and waited and fixed.waited_ms:
            row["fast"] += waited[0] < fixed.waited_ms[-1] - 1
            row["held"] += waited[0] > fixed.waited_ms[-1] + 2 * FRAME_S * 1000
        case[f"waited_ms_{key}"] = r.waited_ms
    else:
        pause = (LEAD_S + at, LEAD_S + at + pause_s + 0.05)
        was_cut = any(pause[0] < t <= pause[1] for t in r.ends)  # closed inside the pause
        row["cut"][str(pause_s)] += was_cut
        case[f"cut_{key}"] = was_cut


def measure(
    comps, model: TurnEnd, cfg: TwinConfig, inputs: list[tuple], heard: dict, profiles: dict | None = None
) -> dict:
    """`inputs` through the real VAD and endpointer with each device profile's window: the semantic
    end of turn with this change ("after": a "?" from the ASR holds `question_hold_ms`), without it
    ("before": every hold `hold_ms`), and the fixed window, side by side."""
    out: dict = {"profiles": {}, "cases": []}
    verdicts: list[float] = []
    for name, profile in (profiles or PROFILES).items():
        base = Windows.from_config(cfg.endpointing, profile.endpoint_silence_ms)
        question_ms = min(base.hold_ms, max(QUESTION_HOLD_MS, base.default_ms))
        after = dataclasses.replace(base, question_hold_ms=question_ms)
        modes: dict[str, Windows | None] = {
            "after": after,
            "before": dataclasses.replace(after, question_hold_ms=None),
            "fixed": None,
        }
        row = {
            k: {"waited_ms": [], "split": 0, "fast": 0, "held": 0, "cut": {str(p): 0 for p in PAUSES}}
            for k in modes
        }
        in_time: list[bool] = []
        for words, at, pause_s, audio, probs in inputs:
            case: dict = {"profile": name, "recording": words, "splice_s": at, "pause_s": pause_s}
            fixed = simulate(audio, probs, comps.asr, None, after)
            for key, mw in modes.items():
                r = simulate(audio, probs, comps.asr, model, mw, heard=heard) if mw else fixed
                if key == "after":
                    verdicts += r.verdict_ms
                    in_time += r.in_time
                    case["judged"] = r.judged
                _tally(r, fixed, at, pause_s, row[key], case, key)
            out["cases"].append(case)
        out["profiles"][name] = {
            "window_ms": profile.endpoint_silence_ms,
            "whole_recordings": sum(at is None for _, at, _, _, _ in inputs),
            "pauses": {str(p): sum(at is not None and q == p for _, at, q, _, _ in inputs) for p in PAUSES},
            "verdicts_in_time": sum(in_time) / max(1, len(in_time)),
        } | {
            key: {
                "whole_split": v["split"],
                "whole_fast": v["fast"],
                "whole_held": v["held"],
                "end_delay_ms": {
                    "median": statistics.median(v["waited_ms"]),
                    "p95": _pct(v["waited_ms"], 0.95),
                },
                "pause_cut": v["cut"],
            }
            for key, v in row.items()
        }
    out["verdict_ms"] = {
        "median": statistics.median(verdicts),
        "p95": _pct(verdicts, 0.95),
        "n": len(verdicts),
    }
    return out


def tune_question_hold(comps, model: TurnEnd, cfg: TwinConfig, dev: list[tuple], heard: dict) -> int:
    """The shortest hold for words the ASR closed with "?" (100 ms steps up to `hold_ms`) that, with
    every profile's window, cuts off no more of DEV's 0.8 s mid-phrase pauses than `hold_ms` does (a
    cut-off is the worse error). DEV called for 1000 ms (`QUESTION_HOLD_MS`, what `measure` tries).
    What it costs shows in the 1.2 s pauses: longer than this hold, they are cut after a "?" (on DEV
    that cost outweighed the gain, so the default keeps every hold at `hold_ms`)."""
    spliced = [
        (at, audio, probs) for _, at, pause_s, audio, probs in dev if at is not None and pause_s == SPLICE_S
    ]

    def cuts(base: Windows, question_ms: int | None) -> int:
        w = dataclasses.replace(base, question_hold_ms=question_ms)
        n = 0
        for at, audio, probs in spliced:
            r = simulate(audio, probs, comps.asr, model, w, heard=heard)
            n += any(LEAD_S + at < t <= LEAD_S + at + SPLICE_S + 0.05 for t in r.ends)
        return n

    need = 0
    for profile in PROFILES.values():
        base = Windows.from_config(cfg.endpointing, profile.endpoint_silence_ms)
        target = cuts(base, None)
        ms = next(
            (m for m in range(100, base.hold_ms, 100) if m >= base.default_ms and cuts(base, m) <= target),
            base.hold_ms,
        )
        need = max(need, ms)
    return need


def _real(comps, model: TurnEnd, cfg: TwinConfig) -> dict | None:
    """DEV (spoken_dev) and TEST (the human recordings) through `measure`; `question_hold_ms` as
    DEV alone calls for it, beside the configured value."""
    clips = recordings()
    if not clips:
        print(f"\nreal recordings: {RECORDINGS} not found; that part is skipped")
        return None
    heard: dict = {}  # one judging per distinct pause audio (shared by every profile and rule)
    dev = audio_inputs(comps, spoken_dev(comps), cfg, step_s=0.1)
    test = audio_inputs(comps, clips, cfg, step_s=0.05)
    tuned = tune_question_hold(comps, model, cfg, dev, heard)
    return {
        "question_hold_ms_dev_calls_for": tuned,
        "dev": measure(comps, model, cfg, dev, heard),
        "test": measure(comps, model, cfg, test, heard),
    }


def print_real(real: dict, which: str) -> None:
    part = real[which]
    profiles = part["profiles"]
    first = next(iter(profiles.values()))
    kind = "synthetic speech (Piper, espeak-ng)" if which == "dev" else "human recordings"
    pauses = ", ".join(f"{n} of {p} s" for p, n in first["pauses"].items())
    print(
        f"\n{which.upper()}: {first['whole_recordings']} {kind}; pauses spliced in mid-phrase: {pauses}. "
        "after / before / fixed window:"
    )
    print(f"{'':34}" + "".join(f"{n + ' ' + str(p['window_ms']) + ' ms':>20}" for n, p in profiles.items()))

    def line(label: str, cell) -> None:
        print(f"{label:34}" + "".join(f"{cell(p):>20}" for p in profiles.values()))

    def three(get) -> object:
        return lambda p: " / ".join(str(get(p[k])) for k in ("after", "before", "fixed"))

    for pause in first["pauses"]:
        line(f"{pause} s mid-phrase pauses cut off", three(lambda m, pause=pause: m["pause_cut"][pause]))
    line("whole requests split", three(lambda m: m["whole_split"]))
    line("whole: ended sooner than fixed", three(lambda m: m["whole_fast"]))
    line("whole: held longer than fixed", three(lambda m: m["whole_held"]))
    for q in ("median", "p95"):
        line(f"end-of-turn delay {q} ms", three(lambda m, q=q: f"{m['end_delay_ms'][q]:.0f}"))
    line("verdicts in time (after)", lambda p: f"{p['verdicts_in_time']:.0%}")
    v = part["verdict_ms"]
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
    print(
        f"semantic: p >= {w.p_done} -> {min(w.done_ms, default_ms)} ms, p < {w.p_hold} -> {w.hold_ms} ms "
        f"({w.question_hold_ms} ms for words the ASR closed with '?')."
    )
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
            print(
                f"\nquestion_hold_ms: {w.question_hold_ms} configured; DEV calls for "
                f"{real['question_hold_ms_dev_calls_for']} (bench/turn_end.py tune_question_hold)"
            )
            print_real(real, "dev")
            print_real(real, "test")
            report["real"] = real
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=1))
        print(f"wrote {json_path}")
    return 0
