"""Resemblyzer's GE2E speaker network without torch: its mel front end in numpy, the network in
onnxruntime (already loaded for the VAD and Piper), so a Twin process embeds voices without torch
(~300 MB resident) or librosa's numba (~190 MB).

The network is small: a 3-layer LSTM (40 mel bands in, 256 hidden) over 160-frame windows, whose last
layer's final hidden state goes through Linear(256, 256), ReLU and an L2 norm. It is exported once from
Resemblyzer's own `pretrained.pt` (`resemblyzer_encoder.ge2e_model`) into one .npz holding the ONNX
graph, the Hann window and mel filters of Resemblyzer's librosa front end, and a probe: a fixed input
and what torch made of it. Loading checks every part and runs the probe, so a damaged file is found.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..onnx_runtime import create_session

N_MELS = 40
EMBED = 256
N_FFT = 400  # 25 ms at 16 kHz
HOP = 160  # 10 ms
PARTIAL_FRAMES = 160  # 1.6 s windows
FORMAT = 1  # bump when the file's layout changes
PROBE_TOLERANCE = 1e-4  # onnxruntime vs torch on the probe (measured: ~1e-7)
INPUT, OUTPUT = "mels", "embeds"

# What a converted file must hold besides the graph: each array's name and shape (None: any length).
SHAPES: dict[str, tuple[int | None, ...]] = {
    "onnx": (None,),
    "window": (N_FFT,),
    "mel_basis": (N_MELS, N_FFT // 2 + 1),
    "probe_in": (None, PARTIAL_FRAMES, N_MELS),
    "probe_out": (None, EMBED),
}


def probe_input() -> np.ndarray:
    """A fixed batch of mel-like windows (power values, mostly small) the export is checked on."""
    rng = np.random.default_rng(1234)
    return (10.0 * rng.random((3, PARTIAL_FRAMES, N_MELS)) ** 4).astype(np.float32)


def check_arrays(arrays: dict[str, np.ndarray], source_sha256: str) -> None:
    """ValueError naming what is wrong: a missing array, a wrong shape, or another source."""
    fmt = int(arrays["format"]) if "format" in arrays else -1
    if fmt != FORMAT:
        raise ValueError(f"format {fmt}, not {FORMAT}")
    source = str(arrays["source_sha256"]) if "source_sha256" in arrays else ""
    if source != source_sha256:
        raise ValueError(
            f"converted from a checkpoint with sha256 {source[:12]!r}, not {source_sha256[:12]!r}"
        )
    for name, shape in SHAPES.items():
        if name not in arrays:
            raise ValueError(f"no array {name!r}")
        got = arrays[name].shape
        if len(got) != len(shape) or any(
            want is not None and g != want for g, want in zip(got, shape, strict=False)
        ):
            raise ValueError(f"{name} has shape {got}, not {shape}")
        if arrays[name].dtype.kind == "f" and not np.all(np.isfinite(arrays[name])):
            raise ValueError(f"{name} holds non-finite values")


@dataclass(frozen=True)
class Ge2eModel:
    session: Any  # onnxruntime.InferenceSession: (batch, 160, 40) mels -> (batch, 256) unit vectors
    window: np.ndarray  # (N_FFT,) float64: librosa's periodic Hann
    mel_basis: np.ndarray  # (N_MELS, N_FFT // 2 + 1) float32: librosa's Slaney mel filters

    @classmethod
    def load(cls, path: Path, source_sha256: str) -> Ge2eModel:
        """The model in `path`, converted from the checkpoint whose sha256 is `source_sha256`, with
        its probe re-run. ValueError (or OSError, or onnxruntime's own error) when it is unreadable,
        of another format or source, or gives other numbers than torch gave."""
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
        except (zipfile.BadZipFile, EOFError, KeyError, ValueError) as exc:
            raise ValueError(f"not a readable .npz: {exc}") from exc
        check_arrays(arrays, source_sha256)
        try:
            # One thread: it runs beside ASR on a 2-core device.
            session = create_session(arrays["onnx"].tobytes(), ["CPUExecutionProvider"], 1, 1)
        except Exception as exc:  # onnxruntime's errors have no common base class worth naming
            raise ValueError(f"onnxruntime cannot load the graph: {exc}") from exc
        model = cls(session, arrays["window"].astype(np.float64), arrays["mel_basis"].astype(np.float32))
        got = model.embed_windows(arrays["probe_in"])
        diff = float(np.max(np.abs(got - arrays["probe_out"])))
        if not diff <= PROBE_TOLERANCE:
            raise ValueError(f"the probe differs from torch's output by {diff:.2g}")
        return model

    def mel_spectrogram(self, wav: np.ndarray) -> np.ndarray:
        """(frames, 40) float32: what resemblyzer.audio.wav_to_mel_spectrogram gives (librosa's power
        mel spectrogram: centred frames with zero padding, periodic Hann, |rfft|², Slaney filters),
        without librosa, whose first call imports numba."""
        y = np.pad(np.asarray(wav, np.float32), N_FFT // 2)
        frames = np.lib.stride_tricks.sliding_window_view(y, N_FFT)[::HOP]
        spectrum = np.fft.rfft(frames * self.window, axis=-1).astype(np.complex64)
        return ((np.abs(spectrum) ** 2) @ self.mel_basis.T).astype(np.float32)

    def embed_windows(self, mels: np.ndarray) -> np.ndarray:
        """(windows, 256) L2-normed embeddings of (windows, 160, 40) mel windows, one batch."""
        out = self.session.run([OUTPUT], {INPUT: np.ascontiguousarray(mels, np.float32)})[0]
        return np.asarray(out, np.float32)


def partial_slices(n_samples: int, rate: float = 2.5, min_coverage: float = 0.75) -> list[slice]:
    """The mel windows of an utterance of n_samples: resemblyzer's
    VoiceEncoder.compute_partial_slices (whose module imports torch), mel slices only."""
    if not 0 < min_coverage <= 1:
        raise ValueError(f"min_coverage {min_coverage} is not in (0, 1]")
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    frame_step = int(np.round((16000 / rate) / HOP))
    if not 0 < frame_step <= PARTIAL_FRAMES:
        raise ValueError(f"rate {rate} is out of range")
    steps = max(1, n_frames - PARTIAL_FRAMES + frame_step + 1)
    slices = [slice(i, i + PARTIAL_FRAMES) for i in range(0, steps, frame_step)]
    coverage = (n_samples - slices[-1].start * HOP) / (PARTIAL_FRAMES * HOP)
    if coverage < min_coverage and len(slices) > 1:
        slices = slices[:-1]
    return slices
