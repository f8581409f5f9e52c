"""`twin bench emotion --data DIR`: how well Twin hears arousal in real voices it has never met.

Real acted speech, not Twin's own: folders laid out as RAVDESS (`Actor_NN/03-01-EE-II-SS-RR-NN.wav`,
24 actors) or TESS (`OAF_angry/OAF_back_angry.wav`, two speakers). None ships in a package here, so
the data is the user's own download (RAVDESS is CC BY-NC-SA 4.0, TESS CC BY-NC-ND 4.0: read in
place, never copied into Twin). Arousal is judged high for angry, fearful, happy and surprised,
low for neutral, calm and sad; disgust sits between and is left out. These labels, the splits and
the enrolment clips were fixed before anything was measured:

- DEV = RAVDESS actors 1-12: every constant in voice/emotion/prosody.py was chosen here.
- TEST = RAVDESS actors 13-24 and every TESS speaker (other people, and for TESS another studio,
  other ages and single words): only reported.

Two ways Twin meets a voice: unknown (no baseline: the voice-independent cues against population
norms) and enrolled (the speaker's usual voice from two neutral clips; those two are scored in
neither way, so both see the same clips).
Each clip also goes through the fixture noise at 10 dB SNR. The transcript is the clip's own
script (the speaking rate counts its syllables), not Whisper's. Both the rule before the spectral
centroid (`BEFORE`) and the rule now are scored on the same features in one run. AUC over clips
pooled across speakers; "called" is the share of clips with |arousal| >= 0.3 and "right" the share
of those on the right side. Figures, never asserts.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from models.errors import BadInputError

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
HIGH = frozenset({"angry", "fearful", "happy", "surprised"})
LOW = frozenset({"neutral", "calm", "sad"})
RAVDESS_EMOTION = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
RAVDESS_SCRIPT = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
TESS_EMOTION = {"fear": "fearful", "ps": "surprised", "pleasant_surprise": "surprised"}
_RAVDESS = re.compile(r"^03-01-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
_TESS = re.compile(r"^([A-Z]{3})_([A-Za-z']+)_([A-Za-z_]+)$")

# The rule before this bench existed (session 19): no centroid; with no baseline only pitch
# spread, rate and pauses counted. Kept here to be scored beside the rule now.
BEFORE = {
    "population": {"f0_spread_st": 2.5, "rate_sps": 5.5, "pause_ratio": 0.15},
    "scales": {
        "f0_median_st": 2.0,
        "f0_spread_st": 1.0,
        "energy_db": 4.0,
        "rate_sps": 1.5,
        "pause_ratio": 0.1,
    },
    "weights": {
        "f0_median_st": 0.35,
        "f0_spread_st": 0.3,
        "energy_db": 0.3,
        "rate_sps": 0.35,
        "pause_ratio": -0.2,
    },
}


@dataclass(frozen=True)
class Clip:
    path: str
    corpus: str
    speaker: str
    emotion: str
    script: str
    enrol: bool  # one of the speaker's two neutral clips used as the enrolled baseline

    @property
    def split(self) -> str:
        if self.corpus == "ravdess" and int(self.speaker.removeprefix("ravdess-")) <= 12:
            return "DEV"
        return "TEST"


def find_clips(root: Path) -> list[Clip]:
    """Every RAVDESS- or TESS-named WAV under `root`. A folder with neither is a clear error."""
    if not root.is_dir():
        raise BadInputError(f"{root} is not a folder", "give --data a RAVDESS or TESS folder")
    found: list[Clip] = []
    for wav in sorted(root.rglob("*.wav")):
        if m := _RAVDESS.match(wav.stem):
            emotion, intensity, statement, repetition, actor = m.groups()
            speaker = f"ravdess-{int(actor):02d}"
            enrol = emotion == "01" and repetition == "01"  # neutral, both statements, first take
            found.append(
                Clip(
                    str(wav),
                    "ravdess",
                    speaker,
                    RAVDESS_EMOTION.get(emotion, "?"),
                    RAVDESS_SCRIPT.get(statement, ""),
                    enrol,
                )
            )
        elif m := _TESS.match(wav.stem):
            who, word, emotion = m.groups()
            emotion = emotion.lower()
            emotion = TESS_EMOTION.get(emotion, emotion)
            found.append(Clip(str(wav), "tess", f"tess-{who}", emotion, f"Say the word {word}", False))
    if not found:
        raise BadInputError(
            f"no RAVDESS or TESS recordings under {root}",
            "RAVDESS files look like Actor_01/03-01-05-02-01-01-01.wav, "
            "TESS files like OAF_angry/OAF_back_angry.wav",
        )
    # TESS has no takes: a speaker's first two neutral words (by name) are the enrolment clips.
    tess_neutral: dict[str, list[int]] = {}
    for i, c in enumerate(found):
        if c.corpus == "tess" and c.emotion == "neutral":
            tess_neutral.setdefault(c.speaker, []).append(i)
    for indexes in tess_neutral.values():
        for i in sorted(indexes, key=lambda i: found[i].path)[:2]:
            found[i] = replace(found[i], enrol=True)
    return found


def _noise() -> np.ndarray:
    from voice.audio import load_audio

    folder = FIXTURES / "speechbrain_samples" / "noise"
    clips = sorted(p for p in folder.iterdir() if p.suffix in (".wav", ".flac"))
    return np.concatenate([load_audio(p).samples for p in clips])


def _features(job: tuple[str, str, np.ndarray | None]) -> list[tuple[dict, float]]:
    """(features, ms) for the clip clean, and through the noise at 10 dB when given."""
    from voice.audio import AudioClip, load_audio
    from voice.emotion import prosody_features

    path, script, noise = job
    clip = load_audio(path)
    out = []
    variants = [clip.samples]
    if noise is not None:
        x = clip.samples
        start = (len(path) * 7919) % max(1, len(noise) - len(x))  # a fixed stretch of the noise per clip
        n = np.resize(noise[start:], len(x))
        gain = np.sqrt(np.mean(x**2) / (np.mean(n**2) + 1e-12) / 10.0)
        variants.append(np.clip(x + gain * n, -1, 1).astype(np.float32))
    for samples in variants:
        t0 = time.perf_counter()
        f = prosody_features(AudioClip(samples, clip.sample_rate, path), script)
        out.append((f.to_json(), (time.perf_counter() - t0) * 1000))
    return out


def _as_features(data: dict):
    from voice.emotion import ProsodyFeatures

    return ProsodyFeatures(**{k: (math.nan if v is None else v) for k, v in data.items()})


def _arousal(features: dict, baseline: dict | None, rule: str) -> float:
    from voice.emotion import ProsodyEmotionEstimator
    from voice.emotion.fusion import weighted_arousal

    f = _as_features(features)
    if rule == "now":
        return ProsodyEmotionEstimator().arousal(f, baseline)[0]
    return weighted_arousal(f, baseline or BEFORE["population"], BEFORE["weights"], BEFORE["scales"])[0]


def _auc(high: list[float], low: list[float]) -> float:
    """The chance that a high-arousal clip scores above a low one (ties count half)."""
    if not high or not low:
        return math.nan
    h, lo = np.asarray(high)[:, None], np.asarray(low)[None, :]
    return float(np.mean((h > lo) + 0.5 * (h == lo)))


def score(rows: list[dict], rule: str, enrolled: bool, condition: str) -> dict:
    from voice.emotion import baseline_from

    baselines: dict[str, dict] = {}
    if enrolled:
        by_speaker: dict[str, list] = {}
        for r in rows:
            if r["enrol"]:
                by_speaker.setdefault(r["speaker"], []).append(_as_features(r["features"][condition]))
        baselines = {s: baseline_from(fs) for s, fs in by_speaker.items()}
    high: list[float] = []
    low: list[float] = []
    for r in rows:
        if r["enrol"] or r["emotion"] not in HIGH | LOW:
            continue
        a = _arousal(r["features"][condition], baselines.get(r["speaker"]) if enrolled else None, rule)
        (high if r["emotion"] in HIGH else low).append(a)
    called = [(a, True) for a in high if abs(a) >= 0.3] + [(a, False) for a in low if abs(a) >= 0.3]
    right = sum((a > 0) == is_high for a, is_high in called)
    n = len(high) + len(low)
    return {
        "auc": round(_auc(high, low), 3),
        "clips": n,
        "called": round(len(called) / n, 3) if n else None,
        "right": round(right / len(called), 3) if called else None,
    }


def run_emotion_bench(
    data: list[Path], json_path: Path | None, quick: bool = False, noise: bool = True
) -> int:
    clips = [c for root in data for c in find_clips(root)]
    if quick:  # every fourth clip, enrolment clips always
        clips = [c for i, c in enumerate(clips) if c.enrol or i % 4 == 0]
    noise_samples = _noise() if noise else None
    t0 = time.monotonic()
    with ProcessPoolExecutor(2) as pool:
        measured = list(pool.map(_features, [(c.path, c.script, noise_samples) for c in clips], chunksize=16))
    wall = time.monotonic() - t0
    conditions = ["clean", "noise 10 dB"] if noise else ["clean"]
    rows = [
        {
            "speaker": c.speaker,
            "emotion": c.emotion,
            "enrol": c.enrol,
            "split": f"{c.split} {c.corpus.upper()}",
            "features": {cond: m[i][0] for i, cond in enumerate(conditions)},
        }
        for c, m in zip(clips, measured, strict=True)
    ]
    ms = [m[0][1] for m in measured]
    results = []
    for split in ("DEV RAVDESS", "TEST RAVDESS", "TEST TESS"):
        part = [r for r in rows if r["split"] == split]
        if not part:
            continue
        speakers = len({r["speaker"] for r in part})
        for condition in conditions:
            for enrolled in (False, True):
                for rule in ("before", "now"):
                    s = score(part, rule, enrolled, condition)
                    results.append(
                        {
                            "split": split,
                            "speakers": speakers,
                            "condition": condition,
                            "voice": "enrolled" if enrolled else "unknown",
                            "rule": rule,
                            **s,
                        }
                    )
    print("Arousal from the voice, real acted speech (AUC: high vs low arousal, pooled over speakers)\n")
    print("| split | condition | voice | rule | AUC | clips | called (abs >= 0.3) | right when called |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['split']} ({r['speakers']} speakers) | {r['condition']} | {r['voice']} | {r['rule']} | "
            f"{r['auc']:.3f} | {r['clips']} | {r['called']} | {r['right']} |"
        )
    p95 = float(np.percentile(ms, 95))
    print(
        f"\nprosody features per clip (clean): median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms; "
        f"{len(clips)} clips in {wall:.0f} s"
    )
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        summary = {
            "data": [str(d) for d in data],
            "clips": len(clips),
            "quick": quick,
            "results": results,
            "features_ms": {"median": round(statistics.median(ms), 2), "p95": round(p95, 2)},
        }
        json_path.write_text(json.dumps(summary, indent=2))
    return 0
