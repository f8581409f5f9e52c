"""The acoustic wake word: microWakeWord models through pymicro-wakeword (the only module that imports
`pymicro_wakeword`).

The wheel (Apache-2.0) ships four models with their JSON manifests, trained by Kevin Ahrendt: the
files of esphome/micro-wake-word-models, whose NOTICE states that its Apache-2.0 licence covers the
model weights (.tflite) and manifests. "Alexa" is Amazon's trademark: offered, never the default.
openWakeWord's pretrained models are non-commercial (CC BY-NC-SA) and are not used.

The detector takes frames of any length at 16 kHz: the features are made every 10 ms, the model runs
every 30 ms, and a detection needs the mean of the last five outputs over the model's cutoff. After a
detection the same utterance of the wake word cannot fire again for `refractory_s`.

**The second look** (`SecondLook`). Under its cutoff, the model still rises for many real wake words
said in an accent or a room it was not trained on (`twin bench wake`: "Okay Nabu" in espeak-ng voices
peaks under the 0.85 cutoff in 60 of 135 DEV trials, yet over 0.05 in all but 4), and for near misses
("okay, now") too. A rise over `look_from` that ends under the cutoff is looked at again by the ASR
the session has loaded: the last 2 s of audio, and how likely its decoder finds that they say the
wake phrase (`WhisperAsr.phrase_probability`, teacher-forced, no text produced). At or over
`confirm_at` it is a wake. Both values were chosen on the bench's DEV voices only (README, "Hands-free").
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np

from models.errors import BadInputError

from .capabilities import WakeWordDescriptor
from .vad import FRAME

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
        self.refractory_s = refractory_s
        self.refractory = int(refractory_s * SAMPLE_RATE)
        self.phrase = self.descriptor.phrase
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

    @property
    def resting(self) -> bool:
        """In the refractory time after a detection (the same utterance cannot fire again)."""
        return self._quiet > 0

    def close(self) -> None:
        self._model.close()


class SecondLook:
    """When a rise of the wake word model's score that stayed under its cutoff is looked at again,
    and whether that look confirms the wake word (see the module's text). `check(samples, phrase)`
    is the ASR's `phrase_probability`; it is given when the session's ASR is loaded."""

    def __init__(
        self,
        look_from: float = 0.05,
        confirm_at: float = 0.006,
        keep_s: float = 2.0,
        after_frames: int = 10,
        check: Callable[[np.ndarray, str], float] | None = None,
        refractory_s: float = 1.5,
    ) -> None:
        self.look_from = look_from
        self.confirm_at = confirm_at
        self.after_frames = after_frames  # the look is taken this many frames after the rise's peak
        self.keep = int(keep_s * SAMPLE_RATE)
        self.check = check
        self._ring: deque[np.ndarray] = deque(maxlen=self.keep // FRAME + 2)
        self._best = 0.0
        self._since = -1  # frames since the open rise's peak; -1: no rise open
        self.rest_s = refractory_s  # after a confirmed look, as the detector's refractory time
        self._rest = int(np.ceil(refractory_s * SAMPLE_RATE / FRAME))
        self._quiet = 0  # frames left after a confirmed look, as the detector's refractory time

    def reset(self) -> None:
        self._ring.clear()
        self._best, self._since, self._quiet = 0.0, -1, 0

    def push(self, samples: np.ndarray, peak: float, sure: bool) -> np.ndarray | None:
        """Each frame, after the detector: `peak` is its highest score in the frame, `sure` that it
        fired or rests after a fire. On the frame where a rise over `look_from` ended (its peak
        `after_frames` frames back), the last `keep_s` seconds of audio to look at; else None.
        The audio is held in memory only, and only this long."""
        self._ring.append(samples)
        if self._quiet > 0:  # the wake word a look confirmed is still being said, or just was
            self._quiet -= 1
            sure = True
        if sure:
            self._best, self._since = 0.0, -1
            return None
        if peak > self.look_from and peak > self._best:
            self._best, self._since = peak, 0
            return None
        if self._since < 0:
            return None
        self._since += 1
        if self._since < self.after_frames:
            return None
        self._best, self._since = 0.0, -1
        return np.concatenate(self._ring)[-self.keep :]

    def confirms(self, samples: np.ndarray, phrase: str) -> tuple[bool, float]:
        """Whether the audio says the wake phrase, with the ASR's probability of it."""
        if self.check is None:
            raise RuntimeError("the second look has no ASR to ask (SecondLook.check)")
        p = self.check(samples, phrase)
        if p >= self.confirm_at:
            self._quiet = self._rest  # one utterance of the wake word wakes Twin once
        return p >= self.confirm_at, p
