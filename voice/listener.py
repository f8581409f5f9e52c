"""Who spoke and how they sound, for one utterance, split so it can run beside ASR.

`hear()` needs only the audio (speaker embedding, pitch and energy tracks), so it runs on its own
worker thread while ASR transcribes; `conclude()` adds the transcript once ASR is done, which costs
well under a millisecond (lexicon sentiment and a few arithmetic steps).

`PresenceTracker` counts the distinct voices heard over the last minutes (the car profile reads
nothing private aloud when more than one voice is present).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .audio import AudioClip
from .capabilities import EmotionEstimate, SpeakerMatch
from .emotion import EmotionModel, ProsodyEmotionEstimator, ProsodyFeatures, prosody_features
from .speakers import UNKNOWN, SpeakerRegistry, SpeechEmbedding


@dataclass(frozen=True)
class VoiceSignals:
    speaker: SpeakerMatch
    features: ProsodyFeatures
    model_probs: dict[str, float] | None
    compute_ms: float
    voices: int = 1  # 2 when this utterance itself holds two voices (someone talking over the user)
    # The utterance's voice embedding (None when speaker identity is off), for PresenceTracker and
    # SpeakerRegistry.verify_owner without embedding the audio again.
    embedding: SpeechEmbedding | None = None


class VoiceListener:
    def __init__(
        self,
        registry: SpeakerRegistry | None,
        emotion: bool = True,
        emotion_model: EmotionModel | None = None,
        count_voices: bool = True,
    ) -> None:
        self.registry = registry
        self.emotion = emotion
        # Embed every utterance even with no one enrolled, so voices can be counted (VoiceSignals
        # .voices, PresenceTracker). False restores the old cost: no embedding until someone enrols.
        self.count_voices = count_voices
        self.estimator = ProsodyEmotionEstimator(model=emotion_model)

    def hear(self, audio: AudioClip) -> VoiceSignals:
        t0 = time.monotonic()
        match = SpeakerMatch(UNKNOWN, 0.0)
        emb, voices = None, 1
        if self.registry is not None and (self.count_voices or self.registry.profiles):
            emb = self.registry.embedder.embed(audio)
            if self.registry.profiles:
                match = self.registry.identify_embedding(emb)
            voices = self.registry.voices_in(emb)
        # Without a transcript yet, the rate comes from intensity peaks; conclude() recomputes
        # nothing heavy, it only rescales the rate by the syllables actually said.
        features = prosody_features(audio) if self.emotion else ProsodyFeatures(*([float("nan")] * 5), 0.0)
        model = self.estimator.model
        probs = model.predict(audio) if (self.emotion and model is not None) else None
        return VoiceSignals(match, features, probs, (time.monotonic() - t0) * 1000, voices, emb)

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


@dataclass
class _Voice:
    name: str  # an enrolled name, or "unknown"
    vectors: list[np.ndarray] = field(default_factory=list)
    last_seen: float = 0.0

    @property
    def centroid(self) -> np.ndarray | None:
        if not self.vectors:
            return None
        c = np.mean(self.vectors, axis=0)
        n = float(np.linalg.norm(c))
        return c / n if n > 0 else None


class PresenceTracker:
    """How many different people have spoken in the last `window_s` seconds (10 minutes by
    default). The engine feeds it every turn with `observe()`; `voices_present()` answers.

    Enrolled speakers count once each by name. An utterance identification abstained on is told
    apart by its embedding: it joins the voice (named or not) it is closest to when the cosine to
    that voice's centroid reaches the same-voice threshold, else it is a new person. The threshold
    is the registry's `same_voice_threshold()` (calibrated from the enrolment utterances), read at
    each observation so new enrolments count, or `same_voice` when given. An utterance holding two
    voices counts as two people on its own. Twin's own voice (echo leaking into the mic) and clips
    with no usable embedding count as nobody; an unknown voice with under `min_speech_s` of speech
    only refreshes a voice it matches (a short "yes" is too vague to tell a new person by).
    Thread-safe; observe() costs well under a millisecond.
    """

    MAX_VECTORS = 20  # per voice: the centroid of the latest utterances

    def __init__(
        self,
        window_s: float = 600.0,
        same_voice: float | None = None,
        registry: SpeakerRegistry | None = None,
        min_speech_s: float = 1.0,
    ) -> None:
        self.window_s = window_s
        self.min_speech_s = min_speech_s
        self.same_voice = same_voice
        self.registry = registry
        self._voices: list[_Voice] = []
        self._multi: list[tuple[float, int]] = []  # (time, voices) of utterances holding several
        self._lock = threading.Lock()

    def threshold(self) -> float:
        if self.same_voice is not None:
            return self.same_voice
        if self.registry is not None:
            return self.registry.same_voice_threshold()
        from .speakers import SAME_VOICE_DEFAULT

        return SAME_VOICE_DEFAULT

    def observe(
        self,
        speaker: str | None,
        embedding: SpeechEmbedding | np.ndarray | None,
        t: float,
        voices: int = 1,
    ) -> None:
        """One turn: who identification said (a name, "unknown" or None), the utterance's
        embedding (a SpeechEmbedding or its vector), when (any clock, as long as voices_present()
        gets the same one), and how many voices the utterance itself held (VoiceSignals.voices)."""
        name = speaker if speaker and speaker != UNKNOWN else None
        vector = embedding.vector if isinstance(embedding, SpeechEmbedding) else embedding
        # Under a second of speech gives a vague embedding: it may refresh a voice already
        # heard, but never counts as a new person nor moves a voice's centroid.
        vague = isinstance(embedding, SpeechEmbedding) and embedding.speech_seconds < self.min_speech_s
        if vector is not None:
            vector = np.asarray(vector, np.float32).reshape(-1)
            norm = float(np.linalg.norm(vector))
            vector = vector / norm if norm > 0 else None
        if (
            vector is not None
            and self.registry is not None
            and self.registry.synthetic_score(vector) >= self.registry.synthetic_limit
        ):
            return  # Twin hearing itself
        threshold = self.threshold() if vector is not None else 0.0
        with self._lock:
            self._prune(t)
            if voices > 1:
                self._multi.append((t, voices))
                vector = None  # a mix of two voices describes neither
            if name is not None:
                voice = next((v for v in self._voices if v.name == name), None)
                if voice is None:
                    voice = _Voice(name)
                    self._voices.append(voice)
                if vector is not None and not vague:
                    self._absorb_unknown(voice, vector, threshold)
            elif vector is not None:
                voice = self._closest(vector, threshold)
                if voice is None:
                    if vague:
                        return
                    voice = _Voice(UNKNOWN)
                    self._voices.append(voice)
            else:
                return  # nothing to tell who it was
            voice.last_seen = max(voice.last_seen, t)
            if vector is not None and not vague:
                voice.vectors = [*voice.vectors[-(self.MAX_VECTORS - 1) :], vector]

    def observe_signals(self, signals: VoiceSignals, t: float) -> None:
        self.observe(signals.speaker.name, signals.embedding, t, signals.voices)

    def _closest(self, vector: np.ndarray, threshold: float) -> _Voice | None:
        best, best_sim = None, -1.0
        for voice in self._voices:
            c = voice.centroid
            if c is None:
                continue
            sim = float(c @ vector)
            if sim > best_sim:
                best, best_sim = voice, sim
        return best if best_sim >= threshold else None

    def _absorb_unknown(self, voice: _Voice, vector: np.ndarray, threshold: float) -> None:
        """Earlier turns of this person that identification abstained on (too short, say) were
        counted as an unknown voice: now that the voice has a name, they are the same person."""
        for other in list(self._voices):
            c = other.centroid
            if other.name == UNKNOWN and c is not None and float(c @ vector) >= threshold:
                voice.vectors = (other.vectors + voice.vectors)[-self.MAX_VECTORS :]
                voice.last_seen = max(voice.last_seen, other.last_seen)
                self._voices.remove(other)

    def _prune(self, now: float) -> None:
        since = now - self.window_s
        self._voices = [v for v in self._voices if v.last_seen >= since]
        self._multi = [(t, n) for t, n in self._multi if t >= since]

    def voices_present(self, now: float) -> int:
        """Distinct voices heard in the last window_s seconds (0 when nobody has spoken)."""
        with self._lock:
            since = now - self.window_s
            distinct = sum(1 for v in self._voices if v.last_seen >= since)
            together = max((n for t, n in self._multi if t >= since), default=0)
            return max(distinct, together)

    def reset(self) -> None:
        """Forget everyone (e.g. a new trip)."""
        with self._lock:
            self._voices.clear()
            self._multi.clear()
