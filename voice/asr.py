"""Speech recognition with faster-whisper (CTranslate2): the one module that imports either.

Gates keep silence and noise from becoming phantom text: faster-whisper's own VAD filter, then per
segment the no-speech probability, average log-probability and compression ratio.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.errors import ModelLoadError

from .capabilities import AsrDescriptor, Transcript
from .clip import AudioClip


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
        short_window: bool = True,
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
        self.short_window = short_window
        self.no_speech_threshold = no_speech_threshold
        self.logprob_threshold = logprob_threshold
        self.compression_threshold = compression_threshold

    def transcribe(
        self, audio: AudioClip | np.ndarray, language: str | None = None, vad_filter: bool = True
    ) -> Transcript:
        samples = audio.samples if isinstance(audio, AudioClip) else audio
        if not self.multilingual:
            language = "en"
        if self.short_window and len(samples) <= SHORT_MAX_SECONDS * 16_000:
            short = self._transcribe_short(samples, language, vad_filter)
            if short is not None:
                return short
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

    def _transcribe_short(
        self, samples: np.ndarray, language: str | None, vad_filter: bool
    ) -> Transcript | None:
        """Utterances up to 13 s go through a 15 s encoder window instead of Whisper's fixed 30 s
        (as whisper.cpp's audio_ctx does): ASR is ~2.3x faster. A result that looks
        degenerate (repetition) returns None, and the caller uses the standard 30 s path."""
        import ctranslate2
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        duration = len(samples) / 16_000
        if vad_filter and not get_speech_timestamps(samples, VadOptions()):
            return Transcript("", language or "en", 0.0, duration)
        padded = np.zeros(SHORT_WINDOW_SECONDS * 16_000, np.float32)
        padded[: len(samples)] = samples
        fe = self.model.feature_extractor
        frames = SHORT_WINDOW_SECONDS * 16_000 // fe.hop_length
        features = np.ascontiguousarray(fe(padded)[:, :frames])
        encoded = self.model.model.encode(ctranslate2.StorageView.from_array(features[None]), to_cpu=False)
        lang_prob = 1.0
        if language is None:
            lang_token, lang_prob = self.model.model.detect_language(encoded)[0][0]
            language = lang_token[2:-2]
        tok = Tokenizer(self.model.hf_tokenizer, self.multilingual, task="transcribe", language=language)
        max_len = min(200, 24 + int(duration * 10))
        result = self.model.model.generate(
            encoded,
            [list(tok.sot_sequence) + [tok.no_timestamps]],
            beam_size=self.beam_size,
            max_length=max_len,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
        )[0]
        ids = [t for t in result.sequences_ids[0] if t < tok.eot]
        text = tok.decode(ids).strip()
        avg_logprob = result.scores[0] * len(ids) / (len(ids) + 1)
        degenerate = _compression_ratio(text) > self.compression_threshold or len(ids) >= max_len - 1
        if degenerate or result.no_speech_prob > self.no_speech_threshold:
            return None  # unsure: let the standard path (and its tuned gates) decide
        seg = _Segment(text, result.no_speech_prob, avg_logprob, _compression_ratio(text))
        rejected = self._phantom(seg)
        kept = () if rejected or not text else (text,)
        return Transcript(" ".join(kept), language, float(lang_prob), duration, kept, int(rejected))

    def _phantom(self, seg) -> bool:
        if seg.no_speech_prob > self.no_speech_threshold and seg.avg_logprob < self.logprob_threshold:
            return True
        if seg.compression_ratio > self.compression_threshold:
            return True
        # Whisper's known non-speech outputs: bracketed sound tags and lone punctuation.
        text = seg.text.strip()
        stripped = text.strip(" .,!?-♪*()[]")
        return not stripped or (text.startswith(("[", "(", "♪")) and text.endswith(("]", ")", "♪")))


SHORT_WINDOW_SECONDS = 15
SHORT_MAX_SECONDS = 13.0


@dataclass(frozen=True)
class _Segment:
    text: str
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float


def _compression_ratio(text: str) -> float:
    import zlib

    data = text.encode("utf-8")
    return len(data) / max(1, len(zlib.compress(data))) if data else 0.0
