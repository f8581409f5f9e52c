"""Is this enough of a voice? The verdict after enrolment (and after each adaptation from a turn):
how much speech the profile holds, how well its recordings agree with one another, and how far it
stands from the other voices Twin knows. A weak profile is not stored silently: the CLI refuses it
(unless told to keep it) and enrolment by voice asks for another sentence.

The rules and where their numbers come from:

- Net speech: at least `MIN_NET_SPEECH_S` seconds, counted by the speech detector (silero-vad, which
  hears no speech in music or noise) when the registry has one, else by the encoder's own trimming.
  Measured on the 49 s of one speaker in silero-vad's test.wav (Resemblyzer, 200 random enrolment
  windows per length, scored against 2.8 s held-out chunks of the same speaker): the mean held-out
  cosine is 0.761 from 1.6 s of enrolment speech, 0.807 from 3 s, 0.851 from 6 s, 0.860 from 8 s,
  0.865 from 10 s and 0.879 from 20 s. From 8 s on a profile is within 0.02 of what 20 s gives;
  it is also what enrolment by voice already asked for (three sentences, 8 s).
- Consistency: every recording's cosine to the centroid of the others (leave-one-out; one long
  recording is split into thirds) is at least `MIN_CONSISTENCY`, the cosine two single utterances
  of one voice reach (calibration.SAME_VOICE_DEFAULT). Below it the recordings are of one person
  (enrolment refuses clips below 0.6 as different people) but sound unlike each other: another
  room, microphone or noise.
- Separation: each recording, held out, is closer to the centroid of the others than the closest
  other known voice (another enrolled person, Twin's own voice, a cohort stranger) is to the
  profile, by `SEPARATION_MARGIN` (calibration.calibrate_threshold's margin over the closest
  impostor): otherwise the calibrated threshold would reject the person's own held-out recordings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ..capabilities import SpeechEmbedding
from .calibration import SAME_VOICE_DEFAULT, leave_one_out
from .vectors import unit

MIN_NET_SPEECH_S = 8.0
MIN_CONSISTENCY = SAME_VOICE_DEFAULT
SEPARATION_MARGIN = 0.05
# Windows per third when one recording is split to measure its consistency (1.6 s windows, 0.4 s
# apart: 2 windows are 2 s of speech).
_MIN_WINDOWS_PER_PART = 2

SPEECH, CONSISTENCY, SEPARATION = "speech", "consistency", "separation"


@dataclass(frozen=True)
class EnrolQuality:
    speech_seconds: float  # net speech in the profile
    recordings: int
    consistency: float | None  # the lowest leave-one-out cosine; None: not measurable (one short clip)
    separation: float | None  # the lowest held-out score less the closest other voice's; None: unmeasured
    closest: str | None  # the closest other voice ("Ben", "Twin's own voice", "a stranger's voice")
    reasons: tuple[str, ...]  # what is weak: SPEECH, CONSISTENCY, SEPARATION; () when good

    @property
    def ok(self) -> bool:
        return not self.reasons

    def problems(self) -> list[str]:
        """Each weakness in a sentence that can be printed or spoken."""
        out = []
        if SPEECH in self.reasons:
            out.append(
                f"I have {self.speech_seconds:.0f} seconds of speech; I need at least {MIN_NET_SPEECH_S:.0f}."
            )
        if CONSISTENCY in self.reasons:
            out.append(
                "The recordings sound quite different from one another (another room, microphone or noise?)."
            )
        if SEPARATION in self.reasons:
            out.append(f"This voice is close to {self.closest}, so I could mix the two up.")
        return out

    def advice(self) -> str:
        """'say a few more sentences', with why; '' when the profile is good."""
        if self.ok:
            return ""
        return " ".join(self.problems()) + " Say a few more sentences."

    def summary(self) -> str:
        parts = [f"{self.speech_seconds:.1f} s of speech in {self.recordings} recording(s)"]
        if self.consistency is not None:
            parts.append(f"recordings agree {self.consistency:.2f} (need {MIN_CONSISTENCY:.2f})")
        if self.separation is not None:
            parts.append(f"{self.separation:+.2f} clear of {self.closest} (need {SEPARATION_MARGIN:+.2f})")
        return ("good: " if self.ok else "weak: ") + ", ".join(parts)

    def to_json(self) -> dict:
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        out["ok"] = self.ok
        return out


def units_of(vectors: Sequence[np.ndarray], embeddings: Sequence[SpeechEmbedding] = ()) -> list[np.ndarray]:
    """What consistency is measured over: the recordings, or with a single recording the thirds of
    its windowed embeddings (when it holds enough windows to split)."""
    if len(vectors) >= 2:
        return [unit(np.asarray(v, np.float32)) for v in vectors]
    partials = np.asarray(embeddings[0].partials, np.float32) if len(embeddings) == 1 else np.zeros((0, 1))
    if len(partials) < 3 * _MIN_WINDOWS_PER_PART:
        return [unit(np.asarray(v, np.float32)) for v in vectors]
    return [unit(partials[idx].mean(0)) for idx in np.array_split(np.arange(len(partials)), 3)]


def assess(
    units: Sequence[np.ndarray],
    speech_seconds: float,
    recordings: int,
    impostors: Mapping[str, Sequence[np.ndarray]],
) -> EnrolQuality:
    """The verdict on a profile made of `units` (unit vectors: see units_of) holding
    `speech_seconds` of speech, against the other voices Twin knows (`impostors`: a label for each
    group, e.g. a person's name, and its vectors)."""
    reasons = []
    if speech_seconds < MIN_NET_SPEECH_S:
        reasons.append(SPEECH)
    g = np.stack([unit(np.asarray(u, np.float32)) for u in units]) if len(units) else np.zeros((0, 1))
    consistency = separation = None
    closest = None
    if len(g) >= 2:
        loo = leave_one_out(g)
        consistency = round(float(loo.min()), 4)
        if consistency < MIN_CONSISTENCY:
            reasons.append(CONSISTENCY)
        centre = unit(g.mean(0))
        best = -1.0
        for label, vectors in impostors.items():
            for v in vectors:
                score = float(unit(np.asarray(v, np.float32)) @ centre)
                if score > best:
                    best, closest = score, label
        if closest is not None:
            separation = round(float(loo.min()) - best, 4)
            if separation < SEPARATION_MARGIN:
                reasons.append(SEPARATION)
    return EnrolQuality(
        round(speech_seconds, 2), recordings, consistency, separation, closest, tuple(reasons)
    )
