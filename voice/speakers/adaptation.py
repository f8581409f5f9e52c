"""A profile that learns from turns whose speaker was confirmed: the guards a turn must pass before
its voice joins the profile, and what adaptation answers (`Adaptation`: added, or why not).

A turn's embedding is added only when every one of these holds (SpeakerRegistry.adapt_from_turn):
it was not heard while Twin was playing audio (the caller says so); it holds at least
`ADAPT_MIN_SPEECH_S` of speech, as the speech detector hears it when there is one, and that speech
is most of the sound (no music or noise); it holds one voice; it is not Twin's own voice and is
nearer this profile than Twin's voice; it is nearer this profile than any other enrolled voice; and
it passes the STRICT verification (the normalised rule and the clean-calibrated raw threshold: the
check every permission uses). The profile keeps every enrolment clip and at most
`MAX_TURN_SAMPLES` turns: past that the turn that agrees least with the rest is dropped. Thresholds
and the quality verdict are recalibrated on each change; the strict raw threshold never falls below
what the enrolment clips alone calibrate (adaptation may sharpen it, never loosen it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# Shorter turns ("yes", "stop") say little about a voice: 2 s is about where a single utterance's
# embedding settles (quality.py: 0.78 held-out cosine from 2 s of speech, 0.76 from 1.6 s).
ADAPT_MIN_SPEECH_S = 2.0
# Turns kept per profile beside the enrolment clips: enough to outweigh a single enrolment clip,
# few enough that the enrolment clips stay a third or more of a three-clip profile.
MAX_TURN_SAMPLES = 6

ADDED = "added"
# Why a turn was not added
PLAYBACK = "during_playback"
UNKNOWN_SPEAKER = "unknown_speaker"
SHORT = "too_little_speech"
NOT_SPEECH = "not_clean_speech"
TWO_VOICES = "two_voices"
TWIN_VOICE = "twin_voice"
NEARER_OTHER = "nearer_another_voice"
NOT_CONFIRMED = "not_confirmed"
CHANGED = "profile_changed_on_disk"
BUSY = "profile_busy"


@dataclass(frozen=True)
class Adaptation:
    name: str
    reason: str  # ADDED, or why not
    turn_samples: int = 0  # turns the profile holds after this
    dropped: int = 0  # turns dropped to stay within MAX_TURN_SAMPLES

    @property
    def added(self) -> bool:
        return self.reason == ADDED

    def to_json(self) -> dict:
        return asdict(self) | {"added": self.added}
