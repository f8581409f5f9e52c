"""Resemblyzer's GE2E speaker encoder (256-d d-vectors; the weights ship inside its wheel), and the
speech trimming both encoders share (its volume normalisation and VAD), so `speech_seconds` means the
same whichever encoder is chosen.

The one module that imports resemblyzer (and librosa, its mel library, for the one-time export).
The Twin process never imports torch for it: `resemblyzer/__init__.py` imports its torch network, so
its torch-free `audio` module is loaded from the wheel's files without that `__init__`, and the network
runs in onnxruntime (`ge2e`), exported once, in a subprocess that imports torch, to an .npz in the
user's cache (keyed by the checkpoint's sha256, written atomically, checked on every load).
"""

from __future__ import annotations

import importlib.util
import io
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType

import numpy as np

from models.durable import atomic_write_bytes
from models.errors import ModelLoadError
from models.resolver import default_cache_dir, sha256_file

from ..audio import SAMPLE_RATE, AudioClip, resample
from ..capabilities import EmbedderDescriptor, SpeechEmbedding
from .ge2e import FORMAT, HOP, INPUT, N_FFT, N_MELS, OUTPUT, Ge2eModel, partial_slices, probe_input
from .vectors import unit

RESEMBLYZER_BACKEND = "resemblyzer-ge2e"
CONVERT_TIMEOUT_S = 600.0
_MISSING_EXIT = 3  # the export subprocess's exit status when torch or onnx cannot be imported

log = logging.getLogger(__name__)
_audio_lock = threading.Lock()


def resemblyzer_dir() -> Path:
    """The installed resemblyzer package's folder, found without importing it."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or spec.origin is None:
        raise ModelLoadError(
            "the resemblyzer package is not installed",
            "install it: .venv/bin/pip install 'resemblyzer==0.1.4'",
        )
    return Path(spec.origin).parent


def resemblyzer_audio() -> ModuleType:
    """resemblyzer.audio (preprocess_wav, wav_to_mel_spectrogram), without the package's __init__,
    which imports its torch network. Its `hparams` and `audio` files are loaded under their own names,
    so a later `import resemblyzer` (ECAPA's tests, the conversion) reuses these very modules."""
    with _audio_lock:
        loaded = sys.modules.get("resemblyzer.audio")
        if loaded is not None:
            return loaded
        folder = resemblyzer_dir()
        for name in ("hparams", "audio"):  # audio does `from resemblyzer.hparams import *`
            full = f"resemblyzer.{name}"
            if full in sys.modules:
                continue
            spec = importlib.util.spec_from_file_location(full, folder / f"{name}.py")
            if spec is None or spec.loader is None:
                raise ModelLoadError(f"cannot load {folder / name}.py", "reinstall the resemblyzer package")
            module = importlib.util.module_from_spec(spec)
            sys.modules[full] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[full]
                raise
        return sys.modules["resemblyzer.audio"]


def trim_speech(audio: AudioClip) -> np.ndarray:
    """The clip's speech at 16 kHz, volume normalised and with long silences cut; empty for a clip
    that is silent (or digital zero), which is never passed to the VAD."""
    samples = audio.samples
    if audio.sample_rate != SAMPLE_RATE:
        samples = resample(samples, audio.sample_rate, SAMPLE_RATE)
    if len(samples) == 0 or float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) < 1e-4:
        return np.zeros(0, np.float32)
    # Already 16 kHz: no source_sr, so preprocess_wav skips librosa.resample (a no-op at equal
    # rates, but its first call imports numba, ~190 MB).
    return resemblyzer_audio().preprocess_wav(samples.astype(np.float32))


def warm_up_trimming() -> None:
    """Pay trim_speech()'s first-call costs (webrtcvad's, scipy's) at load, not in a turn."""
    rng = np.random.default_rng(0)
    resemblyzer_audio().preprocess_wav((0.1 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32))


def ge2e_model(cache_dir: Path | None = None) -> Ge2eModel:
    """Resemblyzer's network for onnxruntime, from `<cache>/resemblyzer/ge2e-<sha256>.npz`; exported
    from the wheel's pretrained.pt (in a subprocess that imports torch) when the file is missing or
    fails its checks, which is logged: a damaged file is rebuilt, never trusted."""
    checkpoint = resemblyzer_dir() / "pretrained.pt"
    if not checkpoint.is_file():
        raise ModelLoadError(
            f"resemblyzer's weights are missing: {checkpoint}", "reinstall the resemblyzer package"
        )
    sha = sha256_file(checkpoint)
    path = (cache_dir or default_cache_dir()) / "resemblyzer" / f"ge2e-{sha[:16]}.npz"
    if path.exists():
        try:
            return Ge2eModel.load(path, sha)
        except (OSError, ValueError) as exc:
            log.warning("rebuilding the damaged speaker-encoder file %s: %s", path, exc)
    convert_checkpoint(checkpoint, sha, path)
    try:
        return Ge2eModel.load(path, sha)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"the converted speaker encoder {path} fails its checks: {exc}",
            "reinstall the resemblyzer package, then delete that file",
        ) from exc


def convert_checkpoint(checkpoint: Path, sha: str, target: Path) -> None:
    """pretrained.pt -> the .npz Ge2eModel loads, in a child process (torch's ~300 MB never enter
    this one). The child writes a temporary file, checked here before it is renamed into place."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from voice.speakers.resemblyzer_encoder import _export_checkpoint; "
        "_export_checkpoint(sys.argv[2], sys.argv[3], sys.argv[4])"
    )
    log.info("exporting resemblyzer's network %s -> %s (once)", checkpoint, target)
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, str(root), str(checkpoint), sha, str(tmp)],
            capture_output=True,
            text=True,
            timeout=CONVERT_TIMEOUT_S,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        if done.returncode == _MISSING_EXIT:
            raise ModelLoadError(
                f"exporting the speaker encoder once needs torch and onnx: {done.stderr.strip()[-300:]}",
                "install them: .venv/bin/pip install torch 'onnx==1.23.2' (scripts/setup.sh does); "
                "the result is cached, and Twin itself never loads torch for this encoder",
            )
        if done.returncode != 0:
            raise ModelLoadError(
                f"exporting {checkpoint} failed: {done.stderr.strip()[-500:]}",
                "reinstall the resemblyzer package",
            )
        Ge2eModel.load(tmp, sha)  # checked before it becomes the cache
        os.replace(tmp, target)
    except subprocess.TimeoutExpired as exc:
        raise ModelLoadError(
            f"exporting {checkpoint} took over {CONVERT_TIMEOUT_S:.0f} s", "try again on an idle machine"
        ) from exc
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"the exported speaker encoder fails its checks: {exc}", "reinstall the resemblyzer package"
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)


def _export_checkpoint(checkpoint: str, sha: str, out: str) -> None:
    """Runs in the export subprocess: resemblyzer's own VoiceEncoder loads the checkpoint (as it does
    for itself), torch exports it to ONNX, and librosa gives the Hann window and mel filters of
    Resemblyzer's mel spectrogram; torch's output on the probe is stored to check every later load."""
    import importlib
    import warnings

    for needed in ("torch", "onnx"):
        try:
            importlib.import_module(needed)
        except ImportError as exc:
            print(f"cannot import {needed}: {exc}", file=sys.stderr)
            raise SystemExit(_MISSING_EXIT) from exc
    import librosa
    from resemblyzer import VoiceEncoder

    from ..torch_runtime import export_onnx, from_numpy, no_grad

    encoder = VoiceEncoder("cpu", verbose=False, weights_fpath=checkpoint).eval()
    probe = probe_input()
    with no_grad():
        probe_out = encoder(from_numpy(probe)).numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the LSTM's batch-size note: no initial state is exported
        graph = export_onnx(encoder, probe[:1], INPUT, OUTPUT)
    arrays = {
        "onnx": np.frombuffer(graph, np.uint8),
        "window": librosa.filters.get_window("hann", N_FFT, fftbins=True),
        "mel_basis": librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS),
        "probe_in": probe,
        "probe_out": probe_out,
        "format": np.array(FORMAT),
        "source_sha256": np.array(sha),
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(Path(out), buffer.getvalue())


class ResemblyzerEmbedder:
    """GE2E d-vectors (256-d); the weights ship inside the `resemblyzer` wheel. The network runs in
    onnxruntime on the CPU, one thread, whatever `device` says (it is small: ~10 ms for a 3 s
    utterance's five windows); `cache_dir` holds its exported file (default: the user's cache)."""

    def __init__(self, device: str = "cpu", cache_dir: Path | None = None) -> None:
        self.model = ge2e_model(cache_dir)
        self.descriptor = EmbedderDescriptor(RESEMBLYZER_BACKEND, 256)
        self._warm_up()

    def _warm_up(self) -> None:
        """Pay the first-call costs (webrtcvad's, numpy's FFT, onnxruntime's) at load, not in a turn."""
        warm_up_trimming()
        self._partials(np.zeros(2 * SAMPLE_RATE, np.float32))

    def embed(self, audio: AudioClip) -> SpeechEmbedding:
        wav = trim_speech(audio)
        speech = len(wav) / SAMPLE_RATE
        if speech < 0.3:
            return SpeechEmbedding(np.zeros(256, np.float32), np.zeros((0, 256), np.float32), speech)
        partials = self._partials(wav)
        vector = unit(partials.mean(0))
        return SpeechEmbedding(vector.astype(np.float32), partials.astype(np.float32), speech)

    def _partials(self, wav: np.ndarray) -> np.ndarray:
        """Resemblyzer's embed_utterance (2.5 windows a second, the last kept at 75% coverage), all
        the windows through the network as one batch."""
        slices = partial_slices(len(wav), rate=2.5, min_coverage=0.75)
        stop = slices[-1].stop * HOP  # the last window's end, in samples
        if stop >= len(wav):
            wav = np.pad(wav, (0, stop - len(wav)))
        mel = self.model.mel_spectrogram(wav)
        return self.model.embed_windows(np.stack([mel[s] for s in slices]))
