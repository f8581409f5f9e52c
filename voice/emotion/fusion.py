"""One estimate from all the cues: arousal from prosody (against the speaker's baseline when known),
valence from the words, keyword cues for the label, and a user model's distribution when there is
one. The result is a hint with a confidence, never a hard branch."""

from __future__ import annotations

import math

import numpy as np

from ..capabilities import EmotionEstimate, EmotionModel
from ..clip import AudioClip
from .prosody import (
    AROUSAL_WEIGHTS,
    AROUSAL_WEIGHTS_UNKNOWN,
    POPULATION,
    SCALES,
    ProsodyFeatures,
    prosody_features,
)
from .sentiment import feeling_cues, text_valence

LABELS = ("neutral", "happy", "sad", "angry", "anxious", "tired")

# Where each label sits in (valence, arousal): a user model's distribution is mapped through these.
_LABEL_VA = {
    "neutral": (0.0, 0.0),
    "happy": (0.6, 0.4),
    "sad": (-0.6, -0.4),
    "angry": (-0.6, 0.6),
    "anxious": (-0.4, 0.5),
    "tired": (-0.2, -0.6),
}


def weighted_arousal(
    features: ProsodyFeatures,
    reference: dict[str, float],
    weights: dict[str, float],
    scales: dict[str, float],
) -> tuple[float, float]:
    """(arousal in [-1, 1], share of the weighted cues that could be judged): each cue's distance
    from `reference` in units of `scales`, clipped to 3, weighted, squashed by tanh."""
    acc = total = used = 0.0
    for key, weight in weights.items():
        value = getattr(features, key)
        total += abs(weight)
        if key not in reference or not math.isfinite(value):
            continue
        acc += weight * float(np.clip((value - reference[key]) / scales[key], -3, 3))
        used += abs(weight)
    if used == 0:
        return 0.0, 0.0
    return float(np.tanh(acc / used)), used / total


class ProsodyEmotionEstimator:
    """Prosody relative to the speaker's baseline, fused with text sentiment and keyword cues."""

    def __init__(
        self, baselines: dict[str, dict[str, float]] | None = None, model: EmotionModel | None = None
    ):
        self.baselines = baselines if baselines is not None else {}
        self.model = model

    def arousal(self, features: ProsodyFeatures, baseline: dict[str, float] | None) -> tuple[float, float]:
        """(arousal in [-1, 1], share of the cues that could be judged). Against the speaker's
        baseline when there is one, else the voice-independent cues against population norms."""
        if baseline:
            return weighted_arousal(features, baseline, AROUSAL_WEIGHTS, SCALES)
        return weighted_arousal(features, POPULATION, AROUSAL_WEIGHTS_UNKNOWN, SCALES)

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
        cues = feeling_cues(text)
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
