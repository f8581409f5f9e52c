"""`twin bench speaker-encoder`: Resemblyzer's speaker encoder as Twin runs it now (numpy mel,
onnxruntime network, no torch) beside the previous way (Resemblyzer's torch VoiceEncoder, one thread,
windows in padded batches of 8): per-utterance embed time and resident memory, each backend in a
fresh process of its own so that one's imports never count against the other.

Utterances: the 12 speechbrain fixture clips (1.6 to 3 s of speech after trimming), each embedded
`--repeats` times, and the 3.0 s one (spk1_snt2) on its own. Figures, never asserts.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "speechbrain_samples" / "ASR"
THREE_SECONDS = "spk1_snt2.wav"  # 3.00 s of speech after trimming
ROOT = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _peak_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _torch_embedder() -> Any:
    """The previous ResemblyzerEmbedder's embed (git history: voice/speakers/resemblyzer_encoder.py),
    kept here as the reference it is measured against."""
    from resemblyzer import VoiceEncoder
    from resemblyzer import audio as ra

    from voice.speakers.resemblyzer_encoder import trim_speech
    from voice.torch_runtime import from_numpy, no_grad, set_threads

    set_threads(1)
    encoder = VoiceEncoder("cpu", verbose=False)
    batch = 8

    def embed(clip: Any) -> np.ndarray:
        wav = trim_speech(clip)
        wav_slices, mel_slices = encoder.compute_partial_slices(len(wav), rate=2.5, min_coverage=0.75)
        if wav_slices[-1].stop >= len(wav):
            wav = np.pad(wav, (0, wav_slices[-1].stop - len(wav)))
        mel = ra.wav_to_mel_spectrogram(wav)
        mels = np.array([mel[s] for s in mel_slices], np.float32)
        out = []
        with no_grad():
            for i in range(0, len(mels), batch):
                chunk = mels[i : i + batch]
                n = len(chunk)
                if n < batch:
                    chunk = np.concatenate([chunk, np.repeat(chunk[-1:], batch - n, 0)])
                out.append(encoder(from_numpy(chunk)).numpy()[:n])
        partials = np.concatenate(out)
        mean = partials.mean(0)
        return mean / np.linalg.norm(mean)

    embed(_warm_clip())  # torch's and librosa's first calls, as the previous embedder did at load
    return embed


def _warm_clip() -> Any:
    from voice.audio import AudioClip

    rng = np.random.default_rng(0)
    return AudioClip((0.1 * rng.standard_normal(32000)).astype(np.float32), 16000, "warm-up")


def _child(backend: str, repeats: int) -> dict[str, Any]:
    """One backend, measured in this (fresh) process."""
    from voice.audio import load_audio

    clips = {p.name: load_audio(p) for p in sorted(SAMPLES.glob("*.wav"))}
    base = _rss_mb()
    t0 = time.perf_counter()
    if backend == "onnx":
        from voice.speakers import ResemblyzerEmbedder

        embedder = ResemblyzerEmbedder()

        def embed(clip: Any) -> np.ndarray:
            return embedder.embed(clip).vector
    else:
        embed = _torch_embedder()
    load_s = time.perf_counter() - t0
    times: list[float] = []
    for _ in range(repeats):
        for clip in clips.values():
            t = time.perf_counter()
            embed(clip)
            times.append((time.perf_counter() - t) * 1000)
    three: list[float] = []
    for _ in range(max(20, repeats)):
        t = time.perf_counter()
        embed(clips[THREE_SECONDS])
        three.append((time.perf_counter() - t) * 1000)
    return {
        "backend": backend,
        "load_s": round(load_s, 2),
        "utterances": len(times),
        "embed_ms_median": round(statistics.median(times), 1),
        "embed_ms_p95": round(float(np.percentile(times, 95)), 1),
        "embed_3s_ms_median": round(statistics.median(three), 1),
        "embed_3s_ms_p95": round(float(np.percentile(three, 95)), 1),
        "rss_base_mib": round(base),
        "rss_after_mib": round(_rss_mb()),
        "rss_added_mib": round(_rss_mb() - base),
        "peak_rss_mib": round(_peak_mb()),
        "torch_imported": "torch" in sys.modules,
        "numba_imported": "numba" in sys.modules,
    }


def components_rss() -> int:
    """`python -m bench.speaker_encoder --components`: resident memory after each part of a whole
    session's models (default config, a fresh data directory), and whether torch came in."""
    import os
    import tempfile

    os.environ["TWIN_DATA_DIR"] = tempfile.mkdtemp(prefix="twin-rss-")
    from pipeline.config import load_config
    from pipeline.runtime.components import Components

    comps = Components(load_config())
    print(f"{'part':14} {'RSS MiB':>7} torch")
    print(f"{'(start)':14} {_rss_mb():>7.0f} {'torch' in sys.modules}")
    for part in ("vad", "asr", "tts", "llm", "listener", "tool_index", "planner_model", "speakers"):
        getattr(comps, part)
        print(f"{part:14} {_rss_mb():>7.0f} {'torch' in sys.modules}")
    print(f"peak RSS {_peak_mb():.0f} MiB")
    comps.close()
    return 0


def run_speaker_encoder_bench(json_path: Path | None, repeats: int = 5) -> int:
    if not SAMPLES.is_dir():
        print(f"the fixture clips are missing: {SAMPLES}", file=sys.stderr)
        return 1
    rows = []
    for backend in ("onnx", "torch"):
        done = subprocess.run(
            [sys.executable, "-m", "bench.speaker_encoder", "--child", backend, "--repeats", str(repeats)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            print(f"{backend}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
            return 1
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    names = {"onnx": "numpy mel + onnxruntime (now)", "torch": "torch VoiceEncoder (before)"}
    print(
        f"{'speaker encoder':32} {'load s':>7} {'embed ms med/p95':>17} {'3 s utt ms med/p95':>19} "
        f"{'RSS added MiB':>13} {'peak MiB':>8} {'torch':>6}"
    )
    for r in rows:
        print(
            f"{names[r['backend']]:32} {r['load_s']:>7} "
            f"{r['embed_ms_median']:>8}/{r['embed_ms_p95']:<8} "
            f"{r['embed_3s_ms_median']:>9}/{r['embed_3s_ms_p95']:<9} "
            f"{r['rss_added_mib']:>13} {r['peak_rss_mib']:>8} {str(r['torch_imported']):>6}"
        )
    print(
        f"({rows[0]['utterances']} utterances each: 12 fixture clips x {repeats}; "
        "RSS added: by loading the encoder and embedding)"
    )
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({"rows": rows, "repeats": repeats}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", choices=("onnx", "torch"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--components", action="store_true", help="RSS after each part of a session's models")
    args = parser.parse_args()
    if args.components:
        sys.exit(components_rss())
    if args.child:
        print(json.dumps(_child(args.child, args.repeats)))
    else:
        sys.exit(run_speaker_encoder_bench(args.json, args.repeats))
