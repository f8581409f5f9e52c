"""Text to speech with Piper, one chunk per sentence, with prosody set by the persona.

The one module that imports piper; its ONNX session comes from onnx_runtime.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import ModelLoadError

# Prosody and pick_ort_providers are still imported from here by callers outside voice/.
from .capabilities import Prosody, TtsDescriptor
from .onnx_runtime import create_session, pick_ort_providers, shrinking_run_options

# What `PiperTts.release` leaves the voice's arena warmed for: a sentence of ~14 words (~4 s of audio),
# so a reply's first sentence finds its memory in place (measured: first sentence 48.5 ms after a
# release, 48.4 ms without; a two-word warm-up left it at 52 ms).
WARM_TEXT = "Sure, I can help with that, and here is what I found for you today."


class _Session:
    """Piper's ONNX session, with run options Twin chooses (piper passes none)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.run_options: Any = None

    def run(self, output_names: Any, feed: Any, run_options: Any = None) -> Any:
        return self.session.run(output_names, feed, run_options or self.run_options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


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
        self._session = _Session(session)
        self.voice = PiperVoice(config=config, session=self._session)
        self._used = False  # synthesized since the last release
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
        self._used = True
        for chunk in self.voice.synthesize(text, cfg):
            yield chunk.audio_float_array

    def release(self) -> bool:
        """Give back the memory the voice's arena kept from the longest sentence so far (each
        sentence is a new input shape, and onnxruntime's CPU arena keeps every region it grew to:
        ~200 MB after a 30-word sentence), keeping what a usual sentence needs. For a quiet moment,
        on the TTS worker (`pipeline/runtime/idle_trim.py`): a two-phoneme run after which the arena
        frees its unused regions, then `WARM_TEXT` (~70 ms in all). False when nothing was
        synthesized since the last release. Piper's noise is drawn afresh on every run, as before."""
        if not self._used:
            return False
        self._session.run_options = shrinking_run_options()
        try:
            for _ in self.voice.synthesize("Hm."):
                pass
        finally:
            self._session.run_options = None
        for _ in self.voice.synthesize(WARM_TEXT):
            pass
        self._used = False
        return True

    def synthesize_all(self, text: str, prosody: Prosody | None = None) -> np.ndarray:
        parts = list(self.synthesize(text, prosody))
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)
