"""The acoustic wake word: microWakeWord models through pymicro-wakeword (the only module that imports
`pymicro_wakeword`).

The wheel (Apache-2.0) ships four models with their JSON manifests, trained by Kevin Ahrendt: the
files of esphome/micro-wake-word-models, whose NOTICE states that its Apache-2.0 licence covers the
model weights (.tflite) and manifests. "Alexa" is Amazon's trademark: offered, never the default.
openWakeWord's pretrained models are non-commercial (CC BY-NC-SA) and are not used.

The detector takes frames of any length at 16 kHz: the features are made every 10 ms, the model runs
every 30 ms, and a detection needs the mean of the last five outputs over the model's cutoff. After a
detection the same utterance of the wake word cannot fire again for `refractory_s`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from models.errors import BadInputError

from .capabilities import WakeWordDescriptor

SAMPLE_RATE = 16_000
# name -> licence of the model file, as the wheel states it (the wheel's licence covers its models)
BUILTIN: dict[str, str] = {
    "okay_nabu": "Apache-2.0",
    "hey_jarvis": "Apache-2.0",
    "hey_mycroft": "Apache-2.0",
    "alexa": "Apache-2.0 (the word is Amazon's trademark)",
}
DEFAULT_WAKE_WORD = "okay_nabu"  # the most robust across voices in tests/test_wake.py (README)


class WakeWordError(BadInputError):
    code = "wake_word_unknown"


def wake_word_names() -> tuple[str, ...]:
    return tuple(BUILTIN)


class MicroWakeWordDetector:
    """One built-in microWakeWord model on a stream of frames."""

    def __init__(self, name: str = DEFAULT_WAKE_WORD, refractory_s: float = 1.5) -> None:
        if name not in BUILTIN:
            raise WakeWordError(
                f"no wake word model named '{name}'",
                "choose one of: " + ", ".join(BUILTIN) + " ('twin live --wake' also takes 'name' and 'none')",
            )
        logging.getLogger("pymicro_wakeword").setLevel(logging.ERROR)
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

        self._model = MicroWakeWord.from_builtin(Model(name))
        self._features = MicroWakeWordFeatures()
        manifest = Path(self._model.tflite_model).with_suffix(".json")
        langs = tuple(json.loads(manifest.read_text()).get("trained_languages", ["en"]))
        self.descriptor = WakeWordDescriptor(name, self._model.wake_word, langs, BUILTIN[name])
        # the model's own cutoff: a lower one wakes more often on speech with no wake word in it
        # (`twin bench wake`, README "Hands-free")
        self.cutoff = float(self._model.probability_cutoff)
        self.refractory = int(refractory_s * SAMPLE_RATE)
        self.score = 0.0  # the last sliding-mean probability
        self.peak = 0.0  # the highest of them in the last frame given to `detect` (the bench reads it)
        self._quiet = 0  # samples left in the refractory period

    def reset(self) -> None:
        self._model.reset()
        self._features.reset()
        self.score = self.peak = 0.0
        self._quiet = 0

    def detect(self, frame: np.ndarray) -> bool:
        pcm = (np.clip(frame, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        fired = False
        self.peak = 0.0
        for features in self._features.process_streaming(pcm):
            prob = self._model.process_streaming_prob(features)
            self.score = float(prob or 0.0)
            self.peak = max(self.peak, self.score)
            if self.score > self.cutoff and self._quiet <= 0:
                fired = True
        if self._quiet > 0:
            self._quiet -= len(frame)
        if fired:
            self._quiet = self.refractory
        return fired

    def close(self) -> None:
        self._model.close()
