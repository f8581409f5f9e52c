"""How the user sounds: prosody (pitch, energy, rate, pauses) fused with what they said.

No speech-emotion model ships offline, so the estimate is built from measurable cues: acoustic
prosody, judged against the speaker's own usual voice when it is known (a naturally high voice is
not an excited one), and the transcript's sentiment. The result is a hint with a confidence, never a
hard branch. A user-supplied model (ONNX, or a speechbrain model directory) can be added; its label
distribution is fused with the cues.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from models.errors import ModelLoadError

from .audio import SAMPLE_RATE, AudioClip
from .capabilities import EmotionEstimate

log = logging.getLogger(__name__)

LABELS = ("neutral", "happy", "sad", "angry", "anxious", "tired")


@dataclass(frozen=True)
class ProsodyFeatures:
    f0_median_st: float  # semitones above 100 Hz (nan: no voiced frames)
    f0_spread_st: float  # standard deviation of pitch, semitones
    energy_db: float  # mean intensity of voiced frames
    rate_sps: float  # syllables per second of speech (from the transcript, else intensity peaks)
    pause_ratio: float  # share of silence between the first and last speech
    speech_seconds: float

    def to_json(self) -> dict[str, float]:
        return {k: (round(v, 3) if math.isfinite(v) else None) for k, v in asdict(self).items()}


# Typical adult conversational speech, for a speaker with no baseline yet. Pitch level and loudness
# depend on the voice and the microphone, so without a baseline they do not count.
POPULATION = {"f0_spread_st": 2.5, "rate_sps": 5.5, "pause_ratio": 0.15}
SCALES = {"f0_median_st": 2.0, "f0_spread_st": 1.0, "energy_db": 4.0, "rate_sps": 1.5, "pause_ratio": 0.1}
AROUSAL_WEIGHTS = {
    "f0_median_st": 0.35,
    "f0_spread_st": 0.3,
    "energy_db": 0.3,
    "rate_sps": 0.35,
    "pause_ratio": -0.2,
}

_VOWELS = re.compile(r"[aeiouy]+", re.I)
_CUES = {
    "anxious": re.compile(
        r"\b(worr(y|ied|ying)|nervous|anxious|scared|afraid|panic\w*|stress\w*|what if|frighten\w*)\b", re.I
    ),
    "tired": re.compile(r"\b(tired|exhausted|sleepy|worn out|knackered|no energy|drained)\b", re.I),
    "angry": re.compile(
        r"\b(angry|furious|annoy\w*|hate|ridiculous|useless|stupid|fed up|sick of|damn\w*)\b", re.I
    ),
    "sad": re.compile(
        r"\b(sad|lonely|alone|miss(ed)? (him|her|them)|cry\w*|depress\w*|heartbroken|grief)\b", re.I
    ),
    "happy": re.compile(r"\b(great|wonderful|amazing|happy|glad|excited|love|fantastic|yay)\b", re.I),
}


# Chinese: no offline sentiment model for conversational Chinese ships (SnowNLP's, trained on
# shop reviews, rates "我很担心" as positive), so a small lexicon of feeling words does it, with
# negation (不/没/别 just before a word turns it around: "我不累" is not tired).
_ZH_CUES = {
    "anxious": ("担心", "紧张", "焦虑", "害怕", "不安", "慌", "压力好大", "压力很大", "怎么办"),
    "tired": ("累", "疲惫", "困", "没精神", "没力气", "筋疲力尽", "好困"),
    "angry": ("生气", "气死", "烦死", "讨厌", "恼火", "受够了", "愤怒", "可恶", "太过分"),
    "sad": ("难过", "伤心", "孤单", "寂寞", "想哭", "哭了", "失落", "沮丧", "难受", "想念"),
    "happy": ("开心", "高兴", "快乐", "太好了", "太棒", "喜欢", "兴奋", "幸福", "真好", "好极了"),
}
_ZH_POSITIVE = _ZH_CUES["happy"] + ("不错", "满意", "放心", "舒服", "谢谢", "好玩", "顺利")
_ZH_NEGATIVE = (
    _ZH_CUES["anxious"]
    + _ZH_CUES["tired"]
    + _ZH_CUES["angry"]
    + _ZH_CUES["sad"]
    + (
        "糟糕",
        "倒霉",
        "痛",
        "失望",
        "后悔",
    )
)
_ZH_NEGATION = ("不", "没", "别", "未")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _zh_hits(text: str, words: tuple[str, ...]) -> tuple[int, int]:
    """(plain mentions, negated mentions) of any of `words`; a word inside a longer listed word
    counts once."""
    plain = negated = 0
    taken: list[tuple[int, int]] = []
    for w in sorted(words, key=len, reverse=True):
        for m in re.finditer(re.escape(w), text):
            if any(a <= m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            before = text[max(0, m.start() - 2) : m.start()]
            if any(n in before for n in _ZH_NEGATION) and not w.startswith(_ZH_NEGATION):
                negated += 1
            else:
                plain += 1
    return plain, negated


def zh_cues(text: str) -> dict[str, bool]:
    return {label: _zh_hits(text, words)[0] > 0 for label, words in _ZH_CUES.items()}


def syllable_count(text: str) -> int:
    """English syllables by vowel groups; each Chinese character is one syllable."""
    latin = sum(max(1, len(_VOWELS.findall(w))) for w in re.findall(r"[A-Za-z']+", text))
    return latin + len(_CJK.findall(text))


def prosody_features(audio: AudioClip, text: str = "") -> ProsodyFeatures:
    """Praat's pitch and intensity tracks (via parselmouth) summarised for one utterance."""
    import parselmouth

    samples = audio.samples.astype(np.float64)
    if audio.sample_rate != SAMPLE_RATE or len(samples) < 0.1 * audio.sample_rate:
        return ProsodyFeatures(math.nan, math.nan, math.nan, math.nan, math.nan, 0.0)
    snd = parselmouth.Sound(samples, sampling_frequency=audio.sample_rate)
    pitch = snd.to_pitch(time_step=0.01, pitch_floor=60.0, pitch_ceiling=500.0)
    f0 = pitch.selected_array["frequency"]
    voiced = f0[f0 > 0]
    if len(voiced) < 10:  # under 0.1 s of voicing: nothing to judge (silence, noise)
        return ProsodyFeatures(math.nan, math.nan, math.nan, math.nan, math.nan, 0.0)
    st = 12 * np.log2(voiced / 100.0) if len(voiced) else np.zeros(0)
    intensity = snd.to_intensity(minimum_pitch=75.0, time_step=0.01)
    db = intensity.values[0]
    if not len(db) or not np.isfinite(db).any():
        return ProsodyFeatures(math.nan, math.nan, math.nan, math.nan, math.nan, 0.0)
    loud = db > (np.nanmax(db) - 25.0)
    idx = np.flatnonzero(loud)
    span = (idx[-1] - idx[0] + 1) if len(idx) else 0
    speech_frames = int(loud[idx[0] : idx[-1] + 1].sum()) if len(idx) else 0
    speech_s = speech_frames * 0.01
    pause_ratio = 1.0 - speech_frames / span if span else math.nan
    if text.strip():
        syllables = syllable_count(text)
    else:  # intensity peaks stand in for syllable nuclei
        from scipy.signal import find_peaks

        peaks, _ = find_peaks(np.nan_to_num(db, nan=0.0), prominence=2.0, distance=10)
        syllables = int(np.sum(loud[peaks])) if len(peaks) else 0
    rate = syllables / speech_s if speech_s > 0.2 and syllables else math.nan
    voiced_db = db[loud]
    return ProsodyFeatures(
        float(np.median(st)) if len(st) else math.nan,
        float(np.std(st)) if len(st) > 5 else math.nan,
        float(np.mean(voiced_db)) if len(voiced_db) else math.nan,
        float(rate),
        float(pause_ratio),
        float(speech_s),
    )


def baseline_from(features: list[ProsodyFeatures]) -> dict[str, float]:
    """A speaker's usual voice: the median of each feature over their enrolment clips."""
    out: dict[str, float] = {}
    for key in SCALES:
        values = [getattr(f, key) for f in features if math.isfinite(getattr(f, key))]
        if values:
            out[key] = round(float(np.median(values)), 4)
    return out


def text_valence(text: str, language: str = "en") -> float | None:
    """VADER's compound sentiment for English, the feeling-word lexicon for Chinese (negation
    aware); None for other languages or no text."""
    if not text.strip():
        return None
    lang = language or "en"
    if lang.startswith("zh") or (
        lang.startswith("en") and _CJK.search(text) and not re.search("[A-Za-z]", text)
    ):
        pos, neg_pos = _zh_hits(text, _ZH_POSITIVE)
        neg, pos_neg = _zh_hits(text, _ZH_NEGATIVE)
        good, bad = pos + pos_neg * 0.1, neg + neg_pos  # "不开心" is bad; "不累" only a little good
        if good + bad == 0:
            return 0.0
        return float(np.tanh(1.2 * (good - bad)))
    if not lang.startswith("en"):
        return None
    return float(_vader().polarity_scores(text)["compound"])


_VADER = None


def _vader():
    global _VADER
    if _VADER is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _VADER = SentimentIntensityAnalyzer()
    return _VADER


class EmotionModel(Protocol):
    """A user-supplied classifier: label -> probability for one clip."""

    def predict(self, audio: AudioClip) -> dict[str, float]: ...


class OnnxEmotionModel:
    """An ONNX classifier taking (1, samples) float32 16 kHz audio and returning logits; the label
    of each output is one line of `labels.txt` beside the model."""

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        labels_file = path.with_name("labels.txt")
        if not labels_file.exists():
            raise ModelLoadError(
                f"emotion model {path} has no labels.txt beside it", "add one label per output, one per line"
            )
        self.labels = [x.strip() for x in labels_file.read_text(encoding="utf-8").splitlines() if x.strip()]
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
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
        try:
            from speechbrain.inference.interfaces import foreign_class
        except ImportError as exc:
            raise ModelLoadError(
                f"cannot load the speechbrain emotion model: {exc}", "install speechbrain==1.1.2"
            ) from None
        self.model = foreign_class(
            source=str(path), pymodule_file="custom_interface.py", classname="CustomEncoderWav2vec2Classifier"
        )

    def predict(self, audio: AudioClip) -> dict[str, float]:
        import torch

        out = self.model.classify_batch(torch.from_numpy(audio.samples).unsqueeze(0))
        probs = torch.softmax(out[1], -1)[0].tolist() if out[1].dim() > 1 else [1.0]
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


# Where each label sits in (valence, arousal): a user model's distribution is mapped through these.
_LABEL_VA = {
    "neutral": (0.0, 0.0),
    "happy": (0.6, 0.4),
    "sad": (-0.6, -0.4),
    "angry": (-0.6, 0.6),
    "anxious": (-0.4, 0.5),
    "tired": (-0.2, -0.6),
}


class ProsodyEmotionEstimator:
    """Prosody relative to the speaker's baseline, fused with text sentiment and keyword cues."""

    def __init__(
        self, baselines: dict[str, dict[str, float]] | None = None, model: EmotionModel | None = None
    ):
        self.baselines = baselines if baselines is not None else {}
        self.model = model

    def arousal(self, features: ProsodyFeatures, baseline: dict[str, float] | None) -> tuple[float, float]:
        """(arousal in [-1, 1], share of the cues that could be judged)."""
        reference = baseline or POPULATION
        acc = total = used = 0.0
        for key, weight in AROUSAL_WEIGHTS.items():
            value = getattr(features, key)
            total += abs(weight)
            if key not in reference or not math.isfinite(value):
                continue
            acc += weight * float(np.clip((value - reference[key]) / SCALES[key], -3, 3))
            used += abs(weight)
        if used == 0:
            return 0.0, 0.0
        return float(np.tanh(acc / used)), used / total

    def estimate_from(
        self,
        features: ProsodyFeatures,
        text: str,
        speaker: str | None,
        language: str = "en",
        model_probs: dict[str, float] | None = None,
    ) -> EmotionEstimate:
        if features.speech_seconds < 0.3 and not text.strip() and not model_probs:
            return EmotionEstimate(0.0, 0.0, "neutral", 0.0)  # no speech: no hint
        baseline = self.baselines.get(speaker or "") or None
        arousal, coverage = self.arousal(features, baseline)
        sentiment = text_valence(text, language)
        valence = sentiment if sentiment is not None else 0.0
        if text and _CJK.search(text):
            cues = zh_cues(text)
        else:
            cues = {label: bool(rx.search(text)) for label, rx in _CUES.items()} if text else {}
        if model_probs:
            mv = sum(p * _LABEL_VA.get(k, (0, 0))[0] for k, p in model_probs.items())
            ma = sum(p * _LABEL_VA.get(k, (0, 0))[1] for k, p in model_probs.items())
            valence, arousal = 0.5 * valence + 0.5 * mv, 0.5 * arousal + 0.5 * ma
        label, strength = self._label(valence, arousal, cues)
        if model_probs:
            top = max(model_probs, key=model_probs.__getitem__)
            if top in LABELS and model_probs[top] > 0.6:
                label, strength = top, max(strength, model_probs[top])
        evidence = 0.5 * coverage + (0.3 if sentiment is not None else 0.0) + (0.2 if model_probs else 0.0)
        duration = min(1.0, features.speech_seconds / 1.5)
        confidence = float(
            np.clip((0.25 + 0.6 * strength) * (0.4 + 0.6 * evidence) * (0.5 + 0.5 * duration), 0, 0.95)
        )
        return EmotionEstimate(
            round(float(np.clip(valence, -1, 1)), 3),
            round(float(np.clip(arousal, -1, 1)), 3),
            label,
            round(confidence, 3),
        )

    @staticmethod
    def _label(v: float, a: float, cues: dict[str, bool]) -> tuple[str, float]:
        for label in ("anxious", "angry", "tired", "sad"):
            if cues.get(label):
                return label, 0.6 + 0.4 * min(1.0, abs(v) + max(0.0, abs(a) - 0.2))
        if v >= 0.3:
            return "happy", min(1.0, v + max(0.0, a) * 0.5)
        if v <= -0.3:
            if a >= 0.3:
                return "angry", min(1.0, -v * 0.5 + a * 0.5)
            if a <= -0.4:
                return "tired", min(1.0, -a * 0.6 - v * 0.4)
            return "sad", min(1.0, -v)
        if a <= -0.45:
            return "tired", min(1.0, -a * 0.8)
        if cues.get("happy") and v > 0:
            return "happy", 0.5
        return "neutral", 1.0 - max(abs(v), abs(a))

    def estimate(self, audio: AudioClip, text: str, speaker: str | None) -> EmotionEstimate:
        features = prosody_features(audio, text)
        probs = self.model.predict(audio) if self.model is not None else None
        return self.estimate_from(features, text, speaker, model_probs=probs)


def estimate_json(e: EmotionEstimate) -> dict[str, float | str]:
    return {"valence": e.valence, "arousal": e.arousal, "label": e.label, "confidence": e.confidence}
