"""Text to speech with Piper, one chunk per sentence, with prosody set by the persona."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.errors import ModelLoadError


@dataclass(frozen=True)
class Prosody:
    """How to speak: the knobs a style policy turns (piper's SynthesisConfig)."""

    length_scale: float = 1.0  # >1 slower
    noise_scale: float | None = None
    noise_w_scale: float | None = None
    volume: float = 1.0


@dataclass(frozen=True)
class TtsDescriptor:
    name: str
    languages: tuple[str, ...]
    sample_rate: int
    streaming: bool = True  # sentence by sentence
    local: bool = True
    device: str = "cpu"


def pick_ort_providers(device: str) -> list[str]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device in ("auto", "cuda") and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device in ("auto", "metal") and "CoreMLExecutionProvider" in available:
        return ["CoreMLExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        raise ModelLoadError(
            "config asks for device 'cuda' but onnxruntime has no CUDA provider",
            "install onnxruntime-gpu, or use device auto/cpu",
        )
    return ["CPUExecutionProvider"]


class PiperTts:
    def __init__(self, model_path: Path, name: str, device: str = "auto", threads: int = 2) -> None:
        import onnxruntime as ort
        from piper import PiperVoice
        from piper.config import PiperConfig

        config_path = Path(f"{model_path}.json")
        try:
            config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            providers = pick_ort_providers(device)
            session = ort.InferenceSession(str(model_path), sess_options=opts, providers=providers)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelLoadError(
                f"cannot load TTS voice '{name}' from {model_path}: {exc}",
                "run `twin models --check`; the voice needs its .onnx and .onnx.json side by side",
            ) from None
        except Exception as exc:  # onnxruntime raises its own non-exported exception types
            raise ModelLoadError(
                f"cannot load TTS voice '{name}': {exc}", "run `twin models --check`"
            ) from None
        self.voice = PiperVoice(config=config, session=session)
        lang = (config.espeak_voice or "en").split("-")[0]
        self.descriptor = TtsDescriptor(
            name,
            (lang,),
            config.sample_rate,
            device=session.get_providers()[0].replace("ExecutionProvider", "").lower(),
        )

    @property
    def sample_rate(self) -> int:
        return self.descriptor.sample_rate

    def synthesize(self, text: str, prosody: Prosody | None = None) -> Iterator[np.ndarray]:
        """Yield float32 audio, one array per sentence, as soon as each is ready."""
        from piper import SynthesisConfig

        p = prosody or Prosody()
        cfg = SynthesisConfig(
            length_scale=p.length_scale,
            noise_scale=p.noise_scale,
            noise_w_scale=p.noise_w_scale,
            volume=p.volume,
        )
        for chunk in self.voice.synthesize(text, cfg):
            yield chunk.audio_float_array

    def synthesize_all(self, text: str, prosody: Prosody | None = None) -> np.ndarray:
        parts = list(self.synthesize(text, prosody))
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)
