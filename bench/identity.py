"""`twin bench identity`: how well Twin knows who is speaking, and what knowing it costs a turn.

Enrol each fixture speaker on three clean utterances; test on the other three, clean and degraded
with the fixture noise (5 dB SNR) and room impulse responses. Open-set: voices that are not enrolled
(the two stereo-file speakers, Twin's own voice) must come out "unknown". Reports EER and minDCF over
all trials, identification accuracy, the time the speaker + emotion work adds to a turn when run
beside ASR on its own thread, and enrolment time. Figures, never asserts.
"""

from __future__ import annotations

import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from pipeline.config import TwinConfig
from voice.audio import SAMPLE_RATE, AudioClip, load_audio

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


def eer_and_min_dcf(
    targets: list[float], nontargets: list[float], p_target: float = 0.01
) -> tuple[float, float, float]:
    """(EER, threshold at the EER, minDCF with unit costs normalised by min(p, 1 - p)), from
    speechbrain's metrics (speechbrain.utils.metric_stats)."""
    from voice.speechbrain_runtime import verification_metrics

    eer, eer_thr, dcf = verification_metrics(targets, nontargets, p_target)
    return eer, eer_thr, dcf / min(p_target, 1 - p_target)


def _noisy(clip: AudioClip, noise: np.ndarray, snr_db: float) -> AudioClip:
    x = clip.samples
    reps = int(np.ceil(len(x) / len(noise)))
    n = np.tile(noise, reps)[: len(x)]
    gain = np.sqrt(np.mean(x**2) / (np.mean(n**2) + 1e-12) / 10 ** (snr_db / 10))
    return AudioClip(np.clip(x + gain * n, -1, 1).astype(np.float32), SAMPLE_RATE, clip.source)


def _reverb(clip: AudioClip, rir: np.ndarray) -> AudioClip:
    from scipy.signal import fftconvolve

    y = fftconvolve(clip.samples, rir / (np.abs(rir).max() + 1e-9))[: len(clip.samples)]
    y *= np.abs(clip.samples).max() / (np.abs(y).max() + 1e-9)
    return AudioClip(y.astype(np.float32), SAMPLE_RATE, clip.source)


def run_identity_bench(cfg: TwinConfig, json_path: Path | None) -> int:
    from pipeline.runtime.components import Components
    from voice.audio import read_samples
    from voice.listener import VoiceListener
    from voice.speakers import SpeakerRegistry

    root = SAMPLES / "speechbrain_samples"
    comps = Components(cfg)
    t0 = time.monotonic()
    comps.asr  # noqa: B018 - loaded before any timing
    comps.listener  # noqa: B018
    load_s = time.monotonic() - t0
    embedder = comps.speakers.embedder
    utt = {(s, n): load_audio(root / f"ASR/spk{s}_snt{n}.wav") for s in (1, 2) for n in range(1, 7)}
    stereo, _ = read_samples(SAMPLES / "faster_whisper_tests/stereo_diarization.wav")
    unknown = [AudioClip(np.ascontiguousarray(stereo[:, c]), SAMPLE_RATE, f"stereo ch{c}") for c in (0, 1)]
    from voice.audio import resample

    for text in ("Please unlock the front door.", "Send fifty pounds to my brother now."):
        audio = comps.tts.synthesize_all(text)
        unknown.append(AudioClip(resample(audio, comps.tts.sample_rate), SAMPLE_RATE, "twin voice"))
    noises = [load_audio(root / f"noise/noise{i}.wav").samples for i in (1, 2, 4, 5)]
    rirs = [read_samples(root / f"RIRs/rir{i}.wav")[0] for i in (1, 2, 3, 4)]

    import tempfile

    from voice.speakers.augment import CALIBRATION_DEGRADATIONS

    # The same cohort Twin uses (shipped real-speech windows, espeak-ng voices, Twin's own voice).
    reg = SpeakerRegistry(
        Path(tempfile.mkdtemp()), embedder, comps.speakers.synthetic, cohort=comps.speakers.cohort
    )
    embedder.embed(unknown[0])  # the first call pays torch's warm-up; enrolment is timed warm
    enrol_times = []
    for s, name in ((1, "spk1"), (2, "spk2")):
        t = time.monotonic()
        reg.enroll(name, [utt[(s, n)] for n in (1, 2, 3)])
        enrol_times.append(time.monotonic() - t)

    conditions = {
        "clean": lambda c, i: c,
        "noise 5 dB": lambda c, i: _noisy(c, noises[i % len(noises)], 5.0),
        "reverb": lambda c, i: _reverb(c, rirs[i % len(rirs)]),
        "noise+reverb": lambda c, i: _noisy(
            _reverb(c, rirs[i % len(rirs)]), noises[(i + 1) % len(noises)], 10.0
        ),
    }
    rows = []
    for cond, degrade in conditions.items():
        raw_t: list[float] = []
        raw_n: list[float] = []
        norm_t: list[float] = []
        norm_n: list[float] = []
        count = {rule: {"right": 0, "abstain": 0, "fa_known": 0, "fa_unknown": 0} for rule in ("old", "new")}
        i = 0
        for s in (1, 2):
            for n in (4, 5, 6):
                emb = embedder.embed(degrade(utt[(s, n)], i))
                i += 1
                scores, norm = reg.score_all(emb.vector), reg.normalised_all(emb.vector)
                raw_t.append(scores[f"spk{s}"])
                raw_n.append(scores[f"spk{3 - s}"])
                norm_t.append(norm[f"spk{s}"])
                norm_n.append(norm[f"spk{3 - s}"])
                for rule in ("old", "new"):
                    got = reg.identify_embedding(emb, legacy=rule == "old").name
                    count[rule]["right"] += got == f"spk{s}"
                    count[rule]["abstain"] += got == "unknown"
                    count[rule]["fa_known"] += got not in (f"spk{s}", "unknown")
        for clip in unknown:
            emb = embedder.embed(degrade(clip, i))
            i += 1
            raw_n.extend(reg.score_all(emb.vector).values())
            norm_n.extend(reg.normalised_all(emb.vector).values())
            for rule in ("old", "new"):
                got = reg.identify_embedding(emb, legacy=rule == "old").name
                count[rule]["fa_unknown"] += got != "unknown"
        row: dict = {"condition": cond, "trials": len(raw_t) + len(raw_n)}
        for rule, (t, nt) in (("old", (raw_t, raw_n)), ("new", (norm_t, norm_n))):
            eer, thr, dcf = eer_and_min_dcf(t, nt)
            c = count[rule]
            row[rule] = {
                "eer": round(eer, 3),
                "eer_threshold": round(thr, 3),
                "min_dcf": round(dcf, 3),
                "open_set_accuracy": round(
                    (c["right"] + len(unknown) - c["fa_unknown"]) / (6 + len(unknown)), 3
                ),
                "enrolled_identified": round(c["right"] / 6, 3),
                "enrolled_abstained": round(c["abstain"] / 6, 3),
                "false_accepts": c["fa_known"] + c["fa_unknown"],
                "false_accepts_unknown_or_synthetic": c["fa_unknown"],
            }
        rows.append(row)

    # The cost added to a turn: ASR alone vs ASR with hear() on its own thread, then conclude(),
    # with two voices enrolled so identification really runs.
    listener = VoiceListener(reg, emotion=True)
    asr_pool, id_pool = ThreadPoolExecutor(1), ThreadPoolExecutor(1)
    clips = [utt[(s, n)] for s in (1, 2) for n in range(1, 7)]
    alone, beside, hear_ms = [], [], []
    for clip in clips * 2:
        t = time.monotonic()
        asr_pool.submit(comps.asr.transcribe, clip, cfg.asr.language, cfg.asr.vad_filter).result()
        alone.append(time.monotonic() - t)
        t = time.monotonic()
        fut = id_pool.submit(listener.hear, clip)
        tr = asr_pool.submit(comps.asr.transcribe, clip, cfg.asr.language, cfg.asr.vad_filter).result()
        signals = fut.result()
        listener.conclude(signals, tr.text, tr.language)
        beside.append(time.monotonic() - t)
        hear_ms.append(signals.compute_ms)
    added = [(b - a) * 1000 for a, b in zip(alone, beside, strict=True)]
    cost = {
        "asr_alone_ms_median": round(statistics.median(alone) * 1000, 1),
        "asr_with_identity_ms_median": round(statistics.median(beside) * 1000, 1),
        "added_ms_median": round(statistics.median(added), 1),
        "added_ms_p90": round(sorted(added)[int(0.9 * (len(added) - 1))], 1),
        "identity_compute_ms_median": round(statistics.median(hear_ms), 1),
    }
    report = {
        "conditions": rows,
        "turn_cost": cost,
        "enrol_seconds_per_speaker_3_clips": round(statistics.mean(enrol_times), 3),
        "load_seconds": round(load_s, 2),
        "speakers": 2,
        "unknown_voices": len(unknown),
        "thresholds": {n: reg.get(n).threshold for n in reg.names()},
        "norm_thresholds": {n: reg.get(n).norm_threshold for n in reg.names()},
        "cohort_size": len(reg.cohort),
        "calibration_degradations": list(CALIBRATION_DEGRADATIONS),
        "test_degradations": "speechbrain fixture noise{1,2,4,5}.wav at 5/10 dB SNR and RIRs rir{1..4}.wav",
    }
    print(
        "old = raw cosine, thresholds from the clean enrolment clips; new = AS-norm against the cohort,\n"
        "thresholds from the enrolment clips through GENERATED rooms/noise/phone (speakers/augment.py).\n"
        "The degraded conditions below use the speechbrain FIXTURE noise clips and RIRs, which calibration\n"
        "never sees.\n"
    )
    print(
        f"{'condition':14} {'rule':4} {'EER':>6} {'minDCF':>7} {'open-set acc':>13} {'identified':>11} "
        f"{'abstained':>10} {'false acc':>10} {'trials':>7}"
    )
    for r in rows:
        for rule in ("old", "new"):
            x = r[rule]
            print(
                f"{r['condition']:14} {rule:4} {x['eer'] * 100:5.1f}% {x['min_dcf']:7.3f} "
                f"{x['open_set_accuracy'] * 100:12.1f}% {x['enrolled_identified'] * 100:10.0f}% "
                f"{x['enrolled_abstained'] * 100:9.0f}% {x['false_accepts']:10d} {r['trials']:7d}"
            )
    print(
        f"\nturn cost: ASR alone {cost['asr_alone_ms_median']:.0f} ms, with speaker+emotion beside it "
        f"{cost['asr_with_identity_ms_median']:.0f} ms: +{cost['added_ms_median']:.0f} ms median "
        f"(p90 +{cost['added_ms_p90']:.0f} ms); "
        f"speaker+emotion compute {cost['identity_compute_ms_median']:.0f} ms"
    )
    print(
        f"enrolment: {report['enrol_seconds_per_speaker_3_clips'] * 1000:.0f} ms per speaker (3 clips); "
        f"models load {load_s:.1f} s"
    )
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=1))
        print(f"wrote {json_path}")
    comps.close()
    return 0


# -- DEV split: where the normalised-score constants were chosen -----------------------------------
DEV_TARGET = "silero_vad_tests/test.wav"  # enrolled on windows 0-2, tested on the rest
DEV_SECOND = "faster_whisper_tests/jfk.flac"  # a second enrolled voice (all its windows)
DEV_UNKNOWN_ESPEAK = ("en-gb-x-gbclan", "en-us+f4")  # synthetic voices outside the cohort
DEV_UNKNOWN_REAL = "silero_vad_tests/aepyx_8k.wav"  # a telephone call, held out of the DEV cohort


def _dev_degradations() -> dict:
    """Generated, and unlike both the calibration's (augment.py) and the reported conditions'."""
    from voice.speakers import augment as aug

    def white(c: AudioClip, snr: float, seed: int) -> np.ndarray:
        return aug.add_noise(c.samples, np.random.default_rng(seed).standard_normal(len(c.samples)), snr)

    def clip(x: np.ndarray, c: AudioClip) -> AudioClip:
        x = x * (np.abs(c.samples).max() / max(float(np.abs(x).max()), 1e-9))
        return AudioClip(np.clip(x, -1, 1).astype(np.float32), SAMPLE_RATE, c.source)

    return {
        "clean": lambda c, i: c,
        "white 3 dB": lambda c, i: clip(white(c, 3.0, 100 + i), c),
        "room 1.2 s": lambda c, i: clip(
            aug.reverberate(c.samples, aug.synthetic_rir(1.2, np.random.default_rng(200 + i))), c
        ),
        "phone + white 10 dB": lambda c, i: clip(
            aug.add_noise(
                aug.telephone(c.samples), np.random.default_rng(300 + i).standard_normal(len(c.samples)), 10
            ),
            c,
        ),
    }


def run_identity_dev(cfg: TwinConfig) -> int:
    """The DEV split the normalised-score constants (cohort.TOP_K, calibration.NORM_*) were chosen on:
    a cohort speaker (DEV_TARGET) enrolled on three windows and held out of the cohort, tested on its
    other windows through generated degradations; unknowns are the real speech_to_phrase commands
    and two espeak voices outside the cohort. Prints a grid; nothing here is the reported bench."""
    import json as _json
    import subprocess
    import tempfile

    from pipeline.runtime.components import Components
    from voice.speakers import cohort as co
    from voice.speakers.augment import degraded_versions
    from voice.speakers.calibration import (
        calibrate_norm_threshold,
        calibrate_threshold,
        degraded_cosine_floor,
        norm_calibration_scores,
    )
    from voice.speakers.vectors import unit

    comps = Components(cfg)
    reg = comps.speakers
    embedder = reg.embedder
    twin = reg.synthetic
    labels = _json.loads(co.shipped_path(embedder).with_suffix(".json").read_text())["windows"]
    real = np.load(co.shipped_path(embedder))
    keep = [
        i for i, lab in enumerate(labels) if not lab.startswith((DEV_TARGET, DEV_SECOND, DEV_UNKNOWN_REAL))
    ]
    cohort_vectors = np.concatenate([real[keep], co.espeak_cohort_vectors(embedder, None), np.stack(twin)])

    def windows(rel: str) -> list[AudioClip]:
        a = load_audio(SAMPLES / rel)
        step = int(co.WINDOW_S * SAMPLE_RATE)
        out = [AudioClip(a.samples[s : s + step], SAMPLE_RATE, rel) for s in range(0, len(a.samples), step)]
        return [c for c in out if embedder.embed(c).speech_seconds >= co.WINDOW_MIN_SPEECH_S]

    target, second = windows(DEV_TARGET), windows(DEV_SECOND)
    enrol = {"A": target[:3], "B": second}
    profiles = {}
    for name, clips in enrol.items():
        clean = [unit(embedder.embed(c).vector) for c in clips]
        degraded = [[unit(embedder.embed(d).vector) for d in degraded_versions(c)] for c in clips]
        profiles[name] = (clean, degraded)
    unknown = []
    cmds = sorted((SAMPLES / "speech_to_phrase_en/wav").glob("*.wav"))
    for a, b in zip(cmds[0::2], cmds[1::2], strict=False):
        x = np.concatenate([load_audio(a).samples, load_audio(b).samples])
        unknown.append(AudioClip(x, SAMPLE_RATE, "speech_to_phrase"))
    unknown += windows(DEV_UNKNOWN_REAL)[::3]
    with tempfile.TemporaryDirectory() as tmp:
        for v in DEV_UNKNOWN_ESPEAK:
            out = Path(tmp) / f"{v}.wav"
            text = "Please open the garage and tell me what is on my calendar for Friday."
            subprocess.run(["espeak-ng", "-v", v, "-w", str(out), text], check=True)
            unknown.append(AudioClip(load_audio(out).samples, SAMPLE_RATE, f"espeak {v}"))
    limit = reg.twin_voice.limit
    trials: dict[str, list[tuple[np.ndarray, str]]] = {}
    for cond, degrade in _dev_degradations().items():
        rows = [(unit(embedder.embed(degrade(c, i)).vector), "A") for i, c in enumerate(target[3:])]
        rows += [(unit(embedder.embed(degrade(c, 50 + i)).vector), "unknown") for i, c in enumerate(unknown)]
        trials[cond] = rows
    print(f"DEV: {len(target) - 3} target clips, {len(unknown)} unknown clips per condition")

    def run(
        k: int,
        position: float,
        margin: float,
        q: float,
        legacy: bool = False,
        floor: tuple[float, float] | None = None,
        spread: float = co.MIN_SPREAD,
        side: str = co.SIDE,
    ) -> dict[str, tuple]:
        cohort = co.Cohort(cohort_vectors, top_k=k, min_spread=spread, side=side)
        thr, raw_thr, centres, floors = {}, {}, {}, {}
        for name, (clean, degraded) in profiles.items():
            others = [v for n, (c, d) in profiles.items() if n != name for v in c + sum(d, [])]
            clean_others = [v for n, (c, _) in profiles.items() if n != name for v in c]
            g, imp = norm_calibration_scores(cohort, clean, degraded, others + list(twin))
            thr[name] = calibrate_norm_threshold(g, imp, position, 0.0, margin, q)
            raw_thr[name] = calibrate_threshold(clean, clean_others + list(twin))
            floors[name] = degraded_cosine_floor(clean, degraded, *floor) if floor else -1.0
            centres[name] = unit(np.mean(clean, 0))
        model = {n: cohort.stats(c) for n, c in centres.items()}
        out = {}
        for cond, rows in trials.items():
            ident = fa = n_t = 0
            for v, truth in rows:
                raw = {n: float(v @ c) for n, c in centres.items()}
                if legacy:
                    z, cut = raw, raw_thr
                else:
                    test = cohort.stats(v)
                    z, cut = {n: cohort.normalise(raw[n], test, model[n]) for n in centres}, thr
                best = max(z, key=z.__getitem__)
                twin_score = max(float(v @ unit(t)) for t in twin)
                ok = z[best] >= cut[best] and raw[best] >= floors[best] and twin_score < limit
                got = best if ok else "unknown"
                if truth == "A":
                    n_t += 1
                    ident += got == "A"
                    fa += got not in ("A", "unknown")
                else:
                    fa += got != "unknown"
            out[cond] = (ident, n_t, fa)
        return out

    def show(label: str, out: dict[str, tuple]) -> None:
        ident = sum(x[0] for x in out.values()) / sum(x[1] for x in out.values())
        fa = sum(x[2] for x in out.values())
        per = ", ".join(f"{c} {x[0]}/{x[1]}" for c, x in out.items())
        print(f"{label}: identified {ident:.0%}, false accepts {fa} ({per})")

    show("old rule (raw cosine, clean calibration)", run(20, 0, 0, 0, legacy=True))
    for side in co.SIDES:  # the grid cohort.SIDE, MIN_SPREAD and the margin were chosen on
        for spread in (0.02, 0.04, 0.06, 0.08, 0.1):
            for margin in (0.0, 0.25, 0.5, 1.0):
                show(
                    f"side {side:9} top_k 20 min_spread {spread:.2f} margin {margin:.2f}",
                    run(20, 0.5, margin, 0.0, floor=(0.0, 0.0), spread=spread, side=side),
                )
    # The unknowns' highest raw cosine to either DEV profile, per condition (how close strangers come).
    for cond, rows in trials.items():
        strangers = [
            max(float(v @ unit(np.mean(c, 0))) for c, _ in profiles.values()) for v, t in rows if t != "A"
        ]
        print(f"{cond}: unknowns' highest cosine {max(strangers):.3f}")
    comps.close()
    return 0


if __name__ == "__main__":
    import sys

    from pipeline.config import load_config

    if "--dev" in sys.argv:
        raise SystemExit(run_identity_dev(load_config()))
