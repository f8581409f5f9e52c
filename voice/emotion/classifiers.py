"""A user-supplied emotion classifier, when one is configured: an ONNX model or a speechbrain model
directory. No such model ships; its label distribution is fused with the prosody and text cues."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.errors import ModelLoadError

from ..capabilities import EmotionModel
from ..clip import AudioClip
from ..onnx_runtime import create_session
from ..speechbrain_runtime import load_emotion_recogniser
from ..torch_runtime import from_numpy, softmax


class OnnxEmotionModel:
    """An ONNX classifier taking (1, samples) float32 16 kHz audio and returning logits; the label
    of each output is one line of `labels.txt` beside the model."""

    def __init__(self, path: Path) -> None:
        labels_file = path.with_name("labels.txt")
        if not labels_file.exists():
            raise ModelLoadError(
                f"emotion model {path} has no labels.txt beside it", "add one label per output, one per line"
            )
        self.labels = [x.strip() for x in labels_file.read_text(encoding="utf-8").splitlines() if x.strip()]
        self.session = create_session(path, ["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def predict(self, audio: AudioClip) -> dict[str, float]:
        logits = self.session.run(None, {self.input: audio.samples.reshape(1, -1).astype(np.float32)})[0]
        z = np.asarray(logits, np.float64).reshape(-1)
        p = np.exp(z - z.max())
        p /= p.sum()
        return dict(zip(self.labels, p.tolist(), strict=False))


class SpeechbrainEmotionModel:
    """A speechbrain wav2vec2 emotion recogniser (e.g. IEMOCAP) from a local directory."""

    _MAP = {"neu": "neutral", "hap": "happy", "sad": "sad", "ang": "angry"}

    def __init__(self, path: Path) -> None:
        self.model = load_emotion_recogniser(path)

    def predict(self, audio: AudioClip) -> dict[str, float]:
        out = self.model.classify_batch(from_numpy(audio.samples).unsqueeze(0))
        probs = softmax(out[1], -1)[0].tolist() if out[1].dim() > 1 else [1.0]
        labels = self.model.hparams.label_encoder.decode_ndim(list(range(len(probs))))
        return {self._MAP.get(str(k), str(k)): float(v) for k, v in zip(labels, probs, strict=False)}


def load_emotion_model(path: str | Path) -> EmotionModel:
    path = Path(path).expanduser()
    if path.suffix == ".onnx" and path.is_file():
        return OnnxEmotionModel(path)
    if path.is_dir() and (path / "hyperparams.yaml").exists():
        return SpeechbrainEmotionModel(path)
    raise ModelLoadError(
        f"no emotion model at {path}",
        "give an .onnx file with labels.txt beside it, or a speechbrain model directory",
    )
