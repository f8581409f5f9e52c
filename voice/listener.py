"""Who spoke and how they sound, for one utterance, split so it can run beside ASR.

`hear()` needs only the audio (speaker embedding, pitch and energy tracks), so it runs on its own
worker thread while ASR transcribes; `conclude()` adds the transcript once ASR is done, which costs
well under a millisecond (lexicon sentiment and a few arithmetic steps).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .audio import AudioClip
from .capabilities import EmotionEstimate, SpeakerMatch
from .emotion import EmotionModel, ProsodyEmotionEstimator, ProsodyFeatures, prosody_features
from .speakers import UNKNOWN, SpeakerRegistry


@dataclass(frozen=True)
class VoiceSignals:
    speaker: SpeakerMatch
    features: ProsodyFeatures
    model_probs: dict[str, float] | None
    compute_ms: float


class VoiceListener:
    def __init__(
        self,
        registry: SpeakerRegistry | None,
        emotion: bool = True,
        emotion_model: EmotionModel | None = None,
    ) -> None:
        self.registry = registry
        self.emotion = emotion
        self.estimator = ProsodyEmotionEstimator(model=emotion_model)

    def hear(self, audio: AudioClip) -> VoiceSignals:
        t0 = time.monotonic()
        match = SpeakerMatch(UNKNOWN, 0.0)
        if self.registry is not None and self.registry.profiles:
            match = self.registry.identify(audio)
        # Without a transcript yet, the rate comes from intensity peaks; conclude() recomputes
        # nothing heavy, it only rescales the rate by the syllables actually said.
        features = prosody_features(audio) if self.emotion else ProsodyFeatures(*([float("nan")] * 5), 0.0)
        model = self.estimator.model
        probs = model.predict(audio) if (self.emotion and model is not None) else None
        return VoiceSignals(match, features, probs, (time.monotonic() - t0) * 1000)

    def conclude(self, signals: VoiceSignals, text: str, language: str = "en") -> EmotionEstimate:
        from dataclasses import replace

        from .emotion import syllable_count

        features = signals.features
        if text.strip() and features.speech_seconds > 0.2:
            features = replace(features, rate_sps=syllable_count(text) / features.speech_seconds)
        if self.registry is not None:
            self.estimator.baselines = {
                name: p.baseline for name, p in self.registry.profiles.items() if p.baseline
            }
        speaker = signals.speaker.name if signals.speaker.name != UNKNOWN else None
        return self.estimator.estimate_from(features, text, speaker, language, signals.model_probs)
