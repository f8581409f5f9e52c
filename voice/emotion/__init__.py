"""How the user sounds: prosody (pitch, energy, rate, pauses) fused with what they said.

No speech-emotion model ships offline, so the estimate is built from measurable cues: acoustic
prosody, judged against the speaker's own usual voice when it is known (a naturally high voice is
not an excited one), and the transcript's sentiment. The result is a hint with a confidence, never a
hard branch. A user-supplied model (ONNX, or a speechbrain model directory) can be added; its label
distribution is fused with the cues.

prosody.py measures the voice, sentiment.py reads the words, classifiers.py loads a user's model,
fusion.py combines them. Callers import from here.
"""

from ..capabilities import EmotionEstimate, EmotionModel
from .classifiers import OnnxEmotionModel, SpeechbrainEmotionModel, load_emotion_model
from .fusion import LABELS, ProsodyEmotionEstimator, estimate_json
from .prosody import (
    AROUSAL_WEIGHTS,
    AROUSAL_WEIGHTS_UNKNOWN,
    POPULATION,
    SCALES,
    ProsodyFeatures,
    baseline_from,
    prosody_features,
)
from .sentiment import feeling_cues, syllable_count, text_valence, zh_cues

__all__ = [
    "AROUSAL_WEIGHTS",
    "AROUSAL_WEIGHTS_UNKNOWN",
    "LABELS",
    "POPULATION",
    "SCALES",
    "EmotionEstimate",
    "EmotionModel",
    "OnnxEmotionModel",
    "ProsodyEmotionEstimator",
    "ProsodyFeatures",
    "SpeechbrainEmotionModel",
    "baseline_from",
    "estimate_json",
    "feeling_cues",
    "load_emotion_model",
    "prosody_features",
    "syllable_count",
    "text_valence",
    "zh_cues",
]
