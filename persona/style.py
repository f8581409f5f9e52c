"""The style policy: persona + device profile + how the user sounds -> how this turn is answered.

Its output is per turn: one style line for the per-turn context message (never the system prompt,
which must stay byte-identical so the LLM's prefix cache holds), the TTS prosody, and length bounds
for the spoken reply. Emotion is a hint: below a confidence floor it changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from devices.profiles import DeviceProfile
from voice.capabilities import EmotionEstimate
from voice.tts import Prosody

from .persona import Persona

MIN_CONFIDENCE = 0.35


@dataclass(frozen=True)
class TurnStyle:
    line: str  # for the per-turn context message; "" when there is nothing to add
    prosody: Prosody
    max_sentences: int
    max_words: int  # per reply; the spoken-form shaper enforces it
    emotion: str = "neutral"


# emotion -> (instruction, length_scale factor, volume, sentence cap or None)
_EMOTION_POLICY = {
    "sad": ("The user sounds sad: be gentle, acknowledge how they feel first, then help.", 1.2, 0.9, None),
    "angry": ("The user sounds upset: stay calm and brief, no jokes, fix the problem.", 1.05, 0.95, 2),
    "anxious": (
        "The user sounds anxious: reassure them briefly and give one concrete next step.",
        1.08,
        0.95,
        None,
    ),
    "tired": ("The user sounds tired: keep it short and easy.", 1.08, 0.9, 2),
    "happy": ("The user sounds happy: match their energy.", 0.95, 1.0, None),
}


class StylePolicy:
    def __init__(self, persona: Persona, profile: DeviceProfile) -> None:
        self.persona = persona
        self.profile = profile
        verbose = 0.5 + persona.verbosity  # 0.5..1.5 around the device's allowance
        self.max_sentences = profile.max_reply_sentences
        self.max_words = max(8, int(profile.max_reply_words * verbose))
        self.device_line = profile.turn_line
        slower = profile.turn_slowing
        self.base = Prosody(length_scale=round(profile.speech_rate * persona.speaking_rate * slower, 3))

    def for_turn(self, emotion: EmotionEstimate | None = None, voices_present: int = 1) -> TurnStyle:
        parts = [self.device_line] if self.device_line else []
        prosody = self.base
        max_sentences, max_words = self.max_sentences, self.max_words
        label = "neutral"
        if emotion is not None and emotion.confidence >= MIN_CONFIDENCE and emotion.label in _EMOTION_POLICY:
            label = emotion.label
            line, rate, volume, cap = _EMOTION_POLICY[label]
            parts.append(line)
            prosody = replace(prosody, length_scale=round(prosody.length_scale * rate, 3), volume=volume)
            if cap is not None:
                max_sentences = min(max_sentences, cap)
                max_words = min(max_words, int(self.max_words * 0.7))
            if label == "sad" or label == "anxious":
                prosody = replace(prosody, noise_scale=0.5)  # steadier voice
        if voices_present > 1 and self.profile.others_may_listen:
            parts.append("Others can hear: say nothing private aloud.")
        return TurnStyle(" ".join(parts), prosody, max_sentences, max_words, label)
