"""Text to speech with Piper, one chunk per sentence, with prosody set by the persona.

The one module that imports piper; its ONNX session comes from onnx_runtime.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from models.errors import ModelLoadError

# Prosody and pick_ort_providers are still imported from here by callers outside voice/.
from .capabilities import Prosody, TtsDescriptor
from .onnx_runtime import create_session, pick_ort_providers


class PiperTts:
    def __init__(self, model_path: Path, name: str, device: str = "auto", threads: int = 2) -> None:
        from piper import PiperVoice
        from piper.config import PiperConfig

        config_path = Path(f"{model_path}.json")
        try:
            config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
            providers = pick_ort_providers(device)
            # every sentence is a new input shape: no memory pattern (onnx_runtime.create_session)
            session = create_session(
                model_path, providers, intra_op_threads=threads, inter_op_threads=1, mem_pattern=False
            )
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
