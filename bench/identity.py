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

    reg = SpeakerRegistry(Path(tempfile.mkdtemp()), embedder, comps.speakers.synthetic)
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
        targets, nontargets, correct, total = [], [], 0, 0
        known_right = known_abstain = false_accepts = 0
        i = 0
        for s in (1, 2):
            for n in (4, 5, 6):
                emb = embedder.embed(degrade(utt[(s, n)], i))
                i += 1
                scores = reg.score_all(emb.vector)
                targets.append(scores[f"spk{s}"])
                nontargets.append(scores[f"spk{3 - s}"])
                got = reg.identify_embedding(emb).name
                correct += got == f"spk{s}"
                known_right += got == f"spk{s}"
                known_abstain += got == "unknown"
                false_accepts += got not in (f"spk{s}", "unknown")
                total += 1
        for clip in unknown:
            emb = embedder.embed(degrade(clip, i))
            i += 1
            nontargets.extend(reg.score_all(emb.vector).values())
            got = reg.identify_embedding(emb).name
            correct += got == "unknown"
            false_accepts += got != "unknown"
            total += 1
        eer, thr, dcf = eer_and_min_dcf(targets, nontargets)
        rows.append(
            {
                "condition": cond,
                "eer": round(eer, 3),
                "eer_threshold": round(thr, 3),
                "min_dcf": round(dcf, 3),
                "open_set_accuracy": round(correct / total, 3),
                "enrolled_identified": round(known_right / 6, 3),
                "enrolled_abstained": round(known_abstain / 6, 3),
                "false_accepts": false_accepts,
                "trials": len(targets) + len(nontargets),
            }
        )

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
    }
    print(
        f"{'condition':14} {'EER':>6} {'minDCF':>7} {'open-set acc':>13} {'identified':>11} "
        f"{'abstained':>10} {'false acc':>10} {'trials':>7}"
    )
    for r in rows:
        print(
            f"{r['condition']:14} {r['eer'] * 100:5.1f}% {r['min_dcf']:7.3f} "
            f"{r['open_set_accuracy'] * 100:12.1f}% {r['enrolled_identified'] * 100:10.0f}% "
            f"{r['enrolled_abstained'] * 100:9.0f}% {r['false_accepts']:10d} {r['trials']:7d}"
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
