"""Speech recognition with faster-whisper (CTranslate2): the one module that imports either.

Gates keep silence and noise from becoming phantom text: faster-whisper's own VAD filter, then per
segment the no-speech probability, average log-probability and compression ratio.

The user's words (`voice/vocabulary.py`) reach the decoder as Whisper's previous-text prompt (what
faster-whisper's `initial_prompt` and `hotwords` both become) for utterances up to 13 s (the short
window): the names make those spellings likely when they were said. Whether anyone spoke is decided
without the prompt (one unprompted decoder step), and longer audio is heard unbiased. An optional
second model re-hears short commands the first was unsure of (`second_pass`); where its reading
drops a protected word the first heard (the wake name, a vocabulary entry), the first reading's words
stand in that place (`keep_protected`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

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


class PromptSource(Protocol):
    """Where the biasing prompt comes from (voice/vocabulary.py's `VocabularyPrompt`)."""

    def prompt(self, multilingual: bool) -> str: ...


# Whisper's decoder holds 448 tokens; faster-whisper gives the previous-text prompt at most half.
MAX_PROMPT_TOKENS = 223


SECOND_PASS_MAX_S = 4.0  # only short commands are re-heard
SECOND_PASS_BELOW = -0.4  # mean token log-probability (`twin bench asr` sweeps it on the dev sets only)
SECOND_PASS_BEAM = 5  # the second model's beam: dev WER 0.119 against 0.129 greedy (`twin bench asr`)


@dataclass(frozen=True)
class SecondPass:
    """Re-hear a short utterance with a larger model when the first result is unsure: only clips up
    to `max_seconds` that gave text, only when its mean token log-probability is below
    `below_logprob`; the result with the higher log-probability is kept. Silence the first model's
    gates dropped is never re-heard.

    Protected words (`keep`: the wake name; and every entry of the first model's vocabulary prompt)
    that the first reading heard are never lost to the second: where the second reading has other
    words in their place, the first reading's words stand there (measured: whisper-base's surer
    "Will, what is the date today?" for tiny.en's "Twin, what is the date today?")."""

    asr: WhisperAsr
    max_seconds: float = SECOND_PASS_MAX_S
    below_logprob: float = SECOND_PASS_BELOW
    keep: tuple[str, ...] = ()


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
        vocabulary: PromptSource | None = None,
        second_pass: SecondPass | None = None,
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
        self.vocabulary = vocabulary
        self.second_pass = second_pass
        self.last_logprob: float | None = None  # the last result's mean token log-probability
        self.last_second_pass = False  # whether the last result came from the second model
        self.last_protected = False  # whether protected words of the first reading were put back in it
        self.bias_overruled = False  # whether the last result is the unprompted reading (see above)

    def prompt(self, lead: str = "") -> str:
        """The biasing prompt for this model ('' without a vocabulary or a lead), cut to Whisper's
        limit: `lead` first ("Twin."; "Twin, Saoirse, EcoBee." with a vocabulary). The lead is a
        word that matters to one caller for now (the wake name, while one live loop listens for it:
        pipeline/runtime/front_end.py), so it comes with each call, never stored on the model that
        every session and device of a hub shares."""
        text = self.vocabulary.prompt(self.multilingual).strip() if self.vocabulary is not None else ""
        if lead:
            text = f"{lead}, {text}" if text else f"{lead}."
        if not text:
            return ""
        ids = self.model.hf_tokenizer.encode(" " + text, add_special_tokens=False).ids
        if len(ids) > MAX_PROMPT_TOKENS:
            text = self.model.hf_tokenizer.decode(ids[:MAX_PROMPT_TOKENS]).strip()
        return text

    def transcribe(
        self,
        audio: AudioClip | np.ndarray,
        language: str | None = None,
        vad_filter: bool = True,
        lead: str = "",
    ) -> Transcript:
        """`lead`: a word put first in this call's biasing prompt (see prompt())."""
        samples = audio.samples if isinstance(audio, AudioClip) else audio
        first = self._transcribe_once(samples, language, vad_filter, lead)
        self.last_second_pass = False
        self.last_protected = False
        sp = self.second_pass
        if sp is None or len(samples) > sp.max_seconds * 16_000:
            return first
        if not first.text or self.last_logprob is None or self.last_logprob >= sp.below_logprob:
            return first  # sure, or nothing heard (the gates' "no speech" is never re-heard)
        second = sp.asr.transcribe(samples, language or first.language or "en", vad_filter)
        if sp.asr.last_logprob is not None and (
            self.last_logprob is None or sp.asr.last_logprob > self.last_logprob
        ):
            self.last_logprob = sp.asr.last_logprob
            self.last_second_pass = True
            text = keep_protected(first.text, second.text, self.protected_words(sp.keep, lead))
            if text == second.text:
                return second
            self.last_protected = True
            return replace(second, text=text, segments=(text,))
        return first

    def protected_words(self, keep: tuple[str, ...] = (), lead: str = "") -> list[str]:
        """What a second reading may not drop: `keep` (the wake name) and the entries of the
        prompt the first reading had (its lead and the vocabulary)."""
        prompt = self.prompt(lead).rstrip(".")
        return [*keep, *(w.strip() for w in prompt.split(",") if w.strip())]

    def _transcribe_once(
        self, samples: np.ndarray, language: str | None, vad_filter: bool, lead: str = ""
    ) -> Transcript:
        if not self.multilingual:
            language = "en"
        self.last_logprob = None
        if self.short_window and len(samples) <= SHORT_MAX_SECONDS * 16_000:
            short = self._transcribe_short(samples, language, vad_filter, self.prompt(lead))
            if short is not None:
                return short
        # Longer audio, and anything the short path was unsure of, is heard without the prompt: the
        # standard path's gates were tuned unbiased, and a prompt there made noise say names.
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
        logprobs: list[float] = []
        for seg in segments:
            if self._phantom(seg):
                rejected += 1
                continue
            text = seg.text.strip()
            if text:
                kept.append(text)
                logprobs.append(float(seg.avg_logprob))
        self.last_logprob = min(logprobs) if logprobs else None
        return Transcript(
            text=" ".join(kept).strip(),
            language=info.language,
            language_probability=float(info.language_probability),
            duration=len(samples) / 16_000,
            segments=tuple(kept),
            rejected=rejected,
        )

    def _transcribe_short(
        self, samples: np.ndarray, language: str | None, vad_filter: bool, prompt: str = ""
    ) -> Transcript | None:
        """Utterances up to 13 s go through a 15 s encoder window instead of Whisper's fixed 30 s
        (as whisper.cpp's audio_ctx does): ASR is ~2.3x faster. A result that looks
        degenerate (repetition) returns None, and the caller uses the standard 30 s path."""
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        duration = len(samples) / 16_000
        if vad_filter and not get_speech_timestamps(samples, VadOptions()):
            return Transcript("", language or "en", 0.0, duration)
        encoded = self._encode_short(samples)
        lang_prob = 1.0
        if language is None:
            lang_token, lang_prob = self.model.model.detect_language(encoded)[0][0]
            language = lang_token[2:-2]
        tok = Tokenizer(self.model.hf_tokenizer, self.multilingual, task="transcribe", language=language)
        max_len = min(200, 24 + int(duration * 10))
        previous: list[int] = []
        if prompt:
            previous = [tok.sot_prev, *tok.encode(" " + prompt)[:MAX_PROMPT_TOKENS]]
        sot = list(tok.sot_sequence) + [tok.no_timestamps]

        def decode(start: list[int]) -> tuple[list[int], str, float, float]:
            result = self.model.model.generate(
                encoded,
                [start],
                beam_size=self.beam_size,
                max_length=len(start) + max_len,  # CTranslate2 counts the prompt in the length
                return_scores=True,
                return_no_speech_prob=True,
                suppress_blank=True,
            )[0]
            ids = [t for t in result.sequences_ids[0] if t < tok.eot]
            logprob = result.scores[0] * len(ids) / (len(ids) + 1)
            return ids, tok.decode(ids).strip(), logprob, result.no_speech_prob

        ids, text, avg_logprob, no_speech = decode(previous + sot)
        self.bias_overruled = False
        if previous:
            # The prompt may change how words are spelled, never whether anyone spoke or what was
            # said: a prompted decoder sees less silence and can put a name where there was noise
            # (measured: "Shopping List." out of noise). The unprompted hearing decides no-speech
            # (the stricter of the two), and when the two readings share too little (the prompt
            # wrote something else), the unprompted one is kept.
            p_ids, p_text, p_logprob, p_no_speech = decode(sot)
            no_speech = max(no_speech, p_no_speech)
            if _agreement(text, p_text) < MIN_AGREEMENT:
                ids, text, avg_logprob = p_ids, p_text, p_logprob
                self.bias_overruled = True
        degenerate = _compression_ratio(text) > self.compression_threshold or len(ids) >= max_len - 1
        if degenerate or no_speech > self.no_speech_threshold:
            return None  # unsure: let the standard path (and its tuned gates) decide
        seg = _Segment(text, no_speech, avg_logprob, _compression_ratio(text))
        rejected = self._phantom(seg)
        kept = () if rejected or not text else (text,)
        self.last_logprob = float(avg_logprob) if kept else None
        return Transcript(" ".join(kept), language, float(lang_prob), duration, kept, int(rejected))

    def _encode_short(self, samples: np.ndarray, to_cpu: bool = False):
        """The encoder's output for up to 13 s of audio in the 15 s window (`to_cpu`: in host memory
        on a GPU, to be copied)."""
        import ctranslate2

        padded = np.zeros(SHORT_WINDOW_SECONDS * 16_000, np.float32)
        padded[: len(samples)] = samples[: SHORT_WINDOW_SECONDS * 16_000]
        fe = self.model.feature_extractor
        frames = SHORT_WINDOW_SECONDS * 16_000 // fe.hop_length
        features = np.ascontiguousarray(fe(padded)[:, :frames])
        return self.model.model.encode(ctranslate2.StorageView.from_array(features[None]), to_cpu=to_cpu)

    def phrase_probability(self, samples: np.ndarray, phrase: str) -> float:
        """How likely the decoder finds that `samples` (a few seconds) say `phrase` and begin with
        it: the geometric mean of the phrase's token probabilities when the decoder is made to read
        it (CTranslate2's alignment pass, teacher-forced). The wake word's second look
        (voice/wake.py: `SecondLook`); no text is produced or kept."""
        return float(np.exp(self.phrase_log_probs(samples, [phrase])[0]))

    def phrase_log_probs(self, samples: np.ndarray, phrases: list[str], total: bool = False) -> list[float]:
        """For each of `phrases`, the mean log-probability of its tokens (with `total`, their sum)
        when the decoder is made to read it as what `samples` (up to 13 s) say: one encoder pass,
        one alignment pass for all."""
        import ctranslate2
        from faster_whisper.tokenizer import Tokenizer

        if len(samples) > SHORT_MAX_SECONDS * 16_000:
            raise ValueError("a phrase's probability is read from at most 13 s of audio")
        if not phrases:
            return []
        tok = Tokenizer(self.model.hf_tokenizer, self.multilingual, task="transcribe", language="en")
        ids = [tok.encode(" " + p.strip()) for p in phrases]
        frames = max(1, len(samples) // self.model.feature_extractor.hop_length)
        encoded = self._encode_short(samples, to_cpu=len(ids) > 1)
        if len(ids) > 1:  # the alignment pass takes one encoder output per phrase
            one = np.asarray(encoded)
            encoded = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.repeat(one, len(ids), 0)))
        # the alignment pass puts <|notimestamps|> after the start itself, as faster-whisper relies on
        found = self.model.model.align(encoded, list(tok.sot_sequence), ids, [frames] * len(ids))
        probs = [np.maximum(np.asarray(f.text_token_probs, np.float64), 1e-9) for f in found]
        return [float(np.log(p).sum() if total else np.log(p).mean()) for p in probs]

    def _phantom(self, seg) -> bool:
        if seg.no_speech_prob > self.no_speech_threshold and seg.avg_logprob < self.logprob_threshold:
            return True
        if seg.compression_ratio > self.compression_threshold:
            return True
        # Whisper's known non-speech outputs: bracketed sound tags and lone punctuation.
        text = seg.text.strip()
        stripped = text.strip(" .,!?-♪*()[]")
        return not stripped or (text.startswith(("[", "(", "♪")) and text.endswith(("]", ")", "♪")))


def _word_key(token: str) -> str:
    return "".join(ch for ch in token.casefold() if ch.isalnum())


def keep_protected(first: str, second: str, protected: list[str]) -> str:
    """`second` with the first reading's words put back wherever `second` replaced or dropped a
    protected phrase (case, punctuation aside) that `first` holds: the words are aligned (difflib over
    lower-cased letters and digits), and each stretch where the two differ and `first`'s side covers
    part of a protected phrase is taken from `first`. Words `second` adds, or changes elsewhere, stand."""
    import difflib

    a, b = first.split(), second.split()
    ka, kb = [_word_key(t) for t in a], [_word_key(t) for t in b]
    guard = [False] * len(a)
    for phrase in protected:
        words = [k for k in (_word_key(t) for t in phrase.split()) if k]
        n = len(words)
        if not n:
            continue
        for i in range(len(ka) - n + 1):
            if ka[i : i + n] == words:
                for j in range(i, i + n):
                    guard[j] = True
    if not any(guard):
        return second
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ka, kb, autojunk=False).get_opcodes():
        if op != "equal" and any(guard[i1:i2]):
            out.extend(a[i1:i2])
        else:
            out.extend(b[j1:j2])
    return " ".join(out)


SHORT_WINDOW_SECONDS = 15
SHORT_MAX_SECONDS = 13.0
# How alike the prompted and the unprompted reading must be for the prompted one to stand (difflib
# ratio over letters and digits). Fixed before measuring; not tuned on the benchmark's sets.
MIN_AGREEMENT = 0.5


def _agreement(a: str, b: str) -> float:
    import difflib
    import re

    def squash(t: str) -> str:
        return " ".join(re.sub(r"[^\w ]", " ", t.lower()).split())

    a, b = squash(a), squash(b)
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b).ratio()


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
