"""Speech recognition with faster-whisper (CTranslate2).

Gates keep silence and noise from becoming phantom text: faster-whisper's own VAD filter, then per
segment the no-speech probability, average log-probability and compression ratio.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.errors import ModelLoadError

from .audio import AudioClip


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    language_probability: float
    duration: float
    segments: tuple[str, ...] = field(default_factory=tuple)
    rejected: int = 0  # segments dropped by the phantom-text gates


@dataclass(frozen=True)
class AsrDescriptor:
    name: str
    languages: tuple[str, ...]
    streaming: bool = False
    local: bool = True
    device: str = "cpu"


def pick_ct2_device(device: str) -> str:
    if device in ("cpu", "metal"):
        return "cpu"  # CTranslate2 has no Metal backend
    import ctranslate2

    has_cuda = ctranslate2.get_cuda_device_count() > 0
    if device == "cuda" and not has_cuda:
        raise ModelLoadError("config asks for device 'cuda' but no CUDA device is visible", "use auto or cpu")
    return "cuda" if has_cuda else "cpu"


class WhisperAsr:
    def __init__(
        self,
        model_dir: Path,
        name: str,
        languages: tuple[str, ...],
        device: str = "auto",
        cpu_threads: int = 2,
        beam_size: int = 1,
        no_speech_threshold: float = 0.6,
        logprob_threshold: float = -1.0,
        compression_threshold: float = 2.4,
    ) -> None:
        from faster_whisper import WhisperModel

        dev = pick_ct2_device(device)
        compute = "int8" if dev == "cpu" else "int8_float16"
        try:
            # A directory, never a size name: a name would trigger a hub download.
            self.model = WhisperModel(
                str(model_dir), device=dev, compute_type=compute, cpu_threads=cpu_threads
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelLoadError(
                f"cannot load ASR model '{name}' from {model_dir}: {exc}",
                "run `twin models --check`; reinstall the model package if it is corrupt",
            ) from None
        self.descriptor = AsrDescriptor(name, languages, device=f"{dev}/{compute}")
        self.multilingual = self.model.model.is_multilingual
        self.beam_size = beam_size
        self.no_speech_threshold = no_speech_threshold
        self.logprob_threshold = logprob_threshold
        self.compression_threshold = compression_threshold

    def transcribe(
        self, audio: AudioClip | np.ndarray, language: str | None = None, vad_filter: bool = True
    ) -> Transcript:
        samples = audio.samples if isinstance(audio, AudioClip) else audio
        if not self.multilingual:
            language = "en"
        segments, info = self.model.transcribe(
            samples,
            language=language,
            beam_size=self.beam_size,
            vad_filter=vad_filter,
            condition_on_previous_text=False,
            without_timestamps=True,
            no_speech_threshold=self.no_speech_threshold,
            log_prob_threshold=self.logprob_threshold,
            compression_ratio_threshold=self.compression_threshold,
            temperature=0.0,
        )
        kept: list[str] = []
        rejected = 0
        for seg in segments:
            if self._phantom(seg):
                rejected += 1
                continue
            text = seg.text.strip()
            if text:
                kept.append(text)
        return Transcript(
            text=" ".join(kept).strip(),
            language=info.language,
            language_probability=float(info.language_probability),
            duration=len(samples) / 16_000,
            segments=tuple(kept),
            rejected=rejected,
        )

    def _phantom(self, seg) -> bool:
        if seg.no_speech_prob > self.no_speech_threshold and seg.avg_logprob < self.logprob_threshold:
            return True
        if seg.compression_ratio > self.compression_threshold:
            return True
        # Whisper's known non-speech outputs: bracketed sound tags and lone punctuation.
        text = seg.text.strip()
        stripped = text.strip(" .,!?-♪*()[]")
        return not stripped or (text.startswith(("[", "(", "♪")) and text.endswith(("]", ")", "♪")))
