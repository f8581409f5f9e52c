"""Enrolment: a person's voice learnt from several recordings, each checked first (speech, length,
one voice, not Twin's own), with an acceptance threshold calibrated from them. A new voice is a new
impostor for everyone else, so their thresholds are recalibrated too."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..capabilities import SpeakerEmbedder, SpeechEmbedding
from ..clip import AudioClip
from .augment import degraded_versions
from .calibration import (
    calibrate_norm_threshold,
    calibrate_threshold,
    degraded_cosine_floor,
    leave_one_out,
    norm_calibration_scores,
)
from .cohort import Cohort
from .errors import (
    EnrolInconsistentError,
    EnrolNeedsMoreSpeechError,
    EnrolNoSpeechError,
    EnrolNotSpeechError,
    EnrolSyntheticVoiceError,
    EnrolTooShortError,
    EnrolTwoVoicesError,
    SpeakerNameError,
)
from .profiles import ProfileStore, SpeakerProfile
from .quality import EnrolQuality, assess, units_of
from .roles import UNKNOWN, Household, check_role
from .twin_voice import TwinVoice
from .vectors import two_voice_score, unit

MIN_SPEECH_SECONDS = 1.0
# A clip in which the speech detector hears speech for under this share of what the encoder keeps as
# sound is mostly music, a tone or noise: its voiceprint would be mostly that, not the person.
MIN_SPEECH_SHARE = 0.5
_NAME = re.compile(r"^[\w][\w .'-]{0,39}$")


@dataclass(frozen=True)
class EnrolmentEmbedding(SpeechEmbedding):
    """An enrolment clip's embedding, with the embeddings of its generated degradations (room,
    noise, phone line: augment.py) that calibrate the profile's normalised threshold."""

    degraded: tuple[np.ndarray, ...] = ()
    # Seconds the speech detector (net_speech.py) heard as speech; None without one.
    net_speech: float | None = None


def net_seconds(emb: SpeechEmbedding) -> float:
    """An embedding's speech in seconds: the speech detector's count when it has one."""
    net = getattr(emb, "net_speech", None)
    return float(emb.speech_seconds if net is None else net)


def sample_record(origin: str, speech_s: float | None, at: float) -> dict:
    return {
        "origin": origin,
        "speech_s": None if speech_s is None else round(speech_s, 2),
        "at": round(at, 3),
    }


def profile_speech(profile: SpeakerProfile) -> float:
    """The profile's net speech: recorded per sample; an older clip without a record counts as the
    least any accepted clip holds (MIN_SPEECH_SECONDS)."""
    known = [r.get("speech_s") for r in profile.samples]
    known += [None] * (len(profile.embeddings) - len(known))
    return float(sum(MIN_SPEECH_SECONDS if s is None else s for s in known))


def _vectors(rows: Sequence[Sequence[float]]) -> list[np.ndarray]:
    return [np.asarray(e, np.float32) for e in rows]


class Enrolment:
    """Writes profiles into the store; every check that can refuse a voice runs before anything is
    written, so a refused enrolment leaves the household as it was."""

    def __init__(
        self,
        store: ProfileStore,
        household: Household,
        embedder: SpeakerEmbedder,
        twin_voice: TwinVoice,
        min_speech_seconds: float = MIN_SPEECH_SECONDS,
        two_voice_limit: float = 0.2,
        cohort: Callable[[], Cohort] | None = None,
        speech_detector: Callable[[AudioClip], float] | None = None,
    ) -> None:
        """`speech_detector`: seconds of speech in a clip as a neural VAD hears it (NetSpeech); with
        it, music and noise are refused and net speech is counted by it."""
        self.cohort = cohort
        self.speech_detector = speech_detector
        self.store = store
        self.household = household
        self.embedder = embedder
        self.twin_voice = twin_voice
        self.min_speech = min_speech_seconds
        self.two_voice_limit = two_voice_limit

    def check_clip(self, clip: AudioClip) -> SpeechEmbedding:
        """Embed one enrolment clip, or refuse it with the reason."""
        where = clip.source or "the clip"
        emb = self.embedder.embed(clip)
        if emb.speech_seconds < 0.3 or not np.any(emb.vector):
            raise EnrolNoSpeechError(
                f"no speech found in {where}",
                "record the person speaking a sentence or two, close to the mic",
            )
        net = None
        if self.speech_detector is not None:
            net = self.speech_detector(clip)
            if net < MIN_SPEECH_SHARE * emb.speech_seconds:
                raise EnrolNotSpeechError(
                    f"{where} sounds like music, a tone or noise, not speech ({net:.1f} s of speech "
                    f"in {emb.speech_seconds:.1f} s of sound)",
                    "record the person speaking, with no music, TV or machine noise in the background",
                )
        if emb.speech_seconds < self.min_speech:
            raise EnrolTooShortError(
                f"{where} holds {emb.speech_seconds:.1f} s of speech; at least {self.min_speech:.0f} s "
                "is needed",
                "record a full sentence (3-10 s works best)",
            )
        if two_voice_score(emb.partials) > self.two_voice_limit:
            raise EnrolTwoVoicesError(
                f"{where} holds more than one voice",
                "record the person alone, with nobody else talking",
            )
        if self.twin_voice.score(emb.vector) >= self.twin_voice.limit:
            raise EnrolSyntheticVoiceError(
                f"{where} is Twin's own synthetic voice, not a person",
                "record the person speaking, not Twin's replies or another text-to-speech voice",
            )
        degraded = tuple(
            d.vector for d in (self.embedder.embed(c) for c in degraded_versions(clip)) if np.any(d.vector)
        )
        return EnrolmentEmbedding(emb.vector, emb.partials, emb.speech_seconds, degraded, net)

    def prepare(
        self, name: str, role: str | None = None, force: bool = False
    ) -> tuple[str, SpeakerProfile | None, str]:
        """The checks that need no audio, made before any is embedded: the name, the role, and
        the one-owner rule. Returns (name, the profile it replaces or None, the role it gets)."""
        name = name.strip()
        if not _NAME.match(name) or name.lower() == UNKNOWN:
            raise SpeakerNameError(
                f"'{name}' cannot be used as a speaker name", "use letters, digits, spaces, - or ' (max 40)"
            )
        if role is not None:
            check_role(role)
        profiles = self.store.profiles
        with_name = [p for p in profiles.values() if p.name.lower() == name.lower()]
        old = with_name[0] if with_name else None
        if role is None:
            role = old.role if old else ("owner" if not profiles else "adult")
        if role == "owner":
            self.household.check_owner_change(name, force)
        return name, old, role

    def enroll(
        self,
        name: str,
        clips: Sequence[AudioClip],
        baseline: dict[str, float] | None = None,
        replace: bool = True,
        role: str | None = None,
        force: bool = False,
        require_quality: bool = False,
    ) -> SpeakerProfile:
        # A bad name or role, or a second owner, is refused before any audio is embedded.
        name, _, _ = self.prepare(name, role, force)
        if not clips:
            raise EnrolNoSpeechError("no audio given to enrol", "pass two or more recordings of the person")
        checked = [self.check_clip(c) for c in clips]
        return self.enroll_embeddings(name, checked, baseline, replace, role, force, require_quality)

    def impostor_groups(self, name: str) -> dict[str, list[np.ndarray]]:
        """The other voices a profile must stand apart from, by label: each other enrolled person,
        Twin's own voice, and the cohort's strangers."""
        groups: dict[str, list[np.ndarray]] = {
            p.name: _vectors(p.embeddings)
            for p in self.store.profiles.values()
            if p.name.lower() != name.lower()
        }
        groups["Twin's own voice"] = list(self.twin_voice.references)
        cohort = self.cohort() if self.cohort is not None else None
        if cohort is not None and len(cohort):
            groups["a stranger's voice"] = list(cohort.vectors)
        return groups

    def _merged(
        self, name: str, embeddings: Sequence[SpeechEmbedding], old: SpeakerProfile | None, replace: bool
    ) -> tuple[list[np.ndarray], list[list[np.ndarray]], list[dict], EnrolQuality]:
        """The profile's clean vectors, degraded lists and sample records once these embeddings are
        enrolled (added to `old` unless `replace`), and its quality verdict."""
        now = time.time()
        vectors = [np.asarray(e.vector, np.float32) for e in embeddings]
        degraded = [[unit(np.asarray(d, np.float32)) for d in getattr(e, "degraded", ())] for e in embeddings]
        samples = [sample_record("enrol", net_seconds(e), now) for e in embeddings]
        speech = sum(net_seconds(e) for e in embeddings)
        if old is not None and not replace:
            vectors = [np.asarray(e, np.float32) for e in old.embeddings] + vectors
            old_degraded = [_vectors(d) for d in old.degraded]
            degraded = old_degraded + [[]] * (len(old.embeddings) - len(old_degraded)) + degraded
            old_samples = list(old.samples) + [
                sample_record("enrol", None, old.created) for _ in old.embeddings[len(old.samples) :]
            ]
            samples = old_samples + samples
            speech += profile_speech(old)
        units = units_of(vectors, embeddings if len(vectors) == 1 else ())
        quality = assess(units, speech, len(vectors), self.impostor_groups(name))
        return vectors, degraded, samples, quality

    def assess(self, name: str, embeddings: Sequence[SpeechEmbedding], replace: bool = True) -> EnrolQuality:
        """The quality verdict these embeddings would give `name`'s profile, without storing it."""
        old = next((p for p in self.store.profiles.values() if p.name.lower() == name.strip().lower()), None)
        return self._merged(name, embeddings, old, replace)[3]

    def enroll_embeddings(
        self,
        name: str,
        embeddings: Sequence[SpeechEmbedding],
        baseline: dict[str, float] | None = None,
        replace: bool = True,
        role: str | None = None,
        force: bool = False,
        require_quality: bool = False,
    ) -> SpeakerProfile:
        """`require_quality`: refuse (EnrolNeedsMoreSpeechError, nothing stored) a profile whose
        quality verdict is weak; otherwise it is stored with the verdict in `profile.quality`."""
        name, old, role = self.prepare(name, role, force)
        if not embeddings:
            raise EnrolNoSpeechError("no audio given to enrol", "pass two or more recordings of the person")
        vectors, degraded, samples, quality = self._merged(name, embeddings, old, replace)
        if len(vectors) >= 2:
            loo = leave_one_out(np.stack([unit(v) for v in vectors]))
            if float(loo.min()) < 0.6:
                raise EnrolInconsistentError(
                    f"the recordings for '{name}' do not sound like one person "
                    f"(recording {int(np.argmin(loo)) + 1} differs)",
                    "enrol with recordings of the same person only",
                )
        if require_quality and not quality.ok:
            raise EnrolNeedsMoreSpeechError(
                f"not enough of {name}'s voice yet: " + " ".join(quality.problems()),
                "record a few more sentences of the person alone and enrol with all the recordings "
                "(3-10 s each; or add them with --add)",
                quality,
            )
        others = [
            np.asarray(e, np.float32)
            for p in self.store.profiles.values()
            if p.name.lower() != name.lower()
            for e in p.embeddings
        ]
        threshold = calibrate_threshold(vectors, others + self.twin_voice.references)
        others_degraded = [
            np.asarray(d, np.float32)
            for p in self.store.profiles.values()
            if p.name.lower() != name.lower()
            for clip in p.degraded
            for d in clip
        ]
        norm_threshold, cohort_id, floor = self.norm_threshold(
            vectors, degraded, others + others_degraded + self.twin_voice.references
        )
        now = time.time()
        profile = SpeakerProfile(
            name,
            [[round(float(x), 6) for x in unit(v)] for v in vectors],
            round(threshold, 4),
            self.embedder.descriptor.name,
            old.created if old else now,
            now,
            baseline or (old.baseline if old else {}),
            role=role,
            degraded=[[[round(float(x), 5) for x in d] for d in clip] for clip in degraded],
            norm_threshold=norm_threshold,
            cohort=cohort_id,
            cosine_floor=floor,
            samples=samples,
            quality=quality.to_json(),
        )
        if old is not None and old.name != name:
            self.store.delete(old.name)
        self.store.write(profile)
        self.store.profiles[profile.name] = profile
        if role == "owner":
            self.household.demote_other_owners(profile.name)
        self._recalibrate_others(profile.name)
        return profile

    def norm_threshold(
        self,
        clean: Sequence[np.ndarray],
        degraded: Sequence[Sequence[np.ndarray]],
        impostors: list[np.ndarray],
    ) -> tuple[float | None, str, float]:
        """(threshold on AS-norm scores, the cohort's fingerprint, the raw-cosine floor); (None, "",
        0.0) without degraded enrolment clips to calibrate from (such a profile keeps the raw-cosine
        rule) or a cohort."""
        cohort = self.cohort() if self.cohort is not None else None
        if cohort is None or not len(cohort) or not any(len(d) for d in degraded):
            return None, "", 0.0
        genuine, impostor = norm_calibration_scores(cohort, clean, degraded, impostors)
        floor = round(degraded_cosine_floor(clean, degraded), 4)
        return round(calibrate_norm_threshold(genuine, impostor), 4), cohort.ident, floor

    def impostors_for(self, profile: SpeakerProfile) -> list[np.ndarray]:
        """Every other enrolled voice (clean and degraded) and Twin's own."""
        return [
            np.asarray(e, np.float32)
            for q in self.store.profiles.values()
            if q.name != profile.name
            for e in [*q.embeddings, *(d for clip in q.degraded for d in clip)]
        ] + self.twin_voice.references

    def recalibrate(self, profile: SpeakerProfile) -> bool:
        """Both thresholds of one profile against today's household and cohort; True if changed."""
        clean = _vectors(profile.embeddings)
        others = [
            np.asarray(e, np.float32)
            for q in self.store.profiles.values()
            if q.name != profile.name
            for e in q.embeddings
        ]
        new = round(calibrate_threshold(clean, others + self.twin_voice.references), 4)
        records = list(profile.samples) + [{}] * (len(clean) - len(profile.samples))
        enrolled = [v for v, r in zip(clean, records, strict=True) if r.get("origin") != "turn"]
        if enrolled and len(enrolled) < len(clean):
            # Turns added by adaptation may sharpen the strict raw threshold, never loosen it.
            new = max(new, round(calibrate_threshold(enrolled, others + self.twin_voice.references), 4))
        calibrated = self.norm_threshold(
            clean, [_vectors(d) for d in profile.degraded], self.impostors_for(profile)
        )
        current = (profile.norm_threshold, profile.cohort, profile.cosine_floor)
        if (new, *calibrated) == (profile.threshold, *current):
            return False
        profile.threshold = new
        profile.norm_threshold, profile.cohort, profile.cosine_floor = calibrated
        return True

    def add_turn_sample(
        self, profile: SpeakerProfile, vector: np.ndarray, speech_s: float
    ) -> tuple[SpeakerProfile, int]:
        """`profile` with one confirmed turn's embedding added (adaptation.py has the guards, which
        the caller has checked), the least consistent turn dropped past MAX_TURN_SAMPLES, both
        thresholds and the quality verdict recalibrated, written (the caller holds the file's lock)
        and put in the store. Returns (the new profile, turns dropped)."""
        from .adaptation import MAX_TURN_SAMPLES

        now = time.time()
        embeddings = [list(e) for e in profile.embeddings] + [[round(float(x), 6) for x in unit(vector)]]
        samples = [dict(r) for r in profile.samples]
        samples += [sample_record("enrol", None, profile.created)] * (len(profile.embeddings) - len(samples))
        samples.append(sample_record("turn", speech_s, now))
        degraded = [list(d) for d in profile.degraded]
        turns = [i for i, r in enumerate(samples) if r.get("origin") == "turn"]
        dropped = 0
        if len(turns) > MAX_TURN_SAMPLES:
            loo = leave_one_out(np.stack([unit(v) for v in _vectors(embeddings)]))
            worst = min(turns, key=lambda i: float(loo[i]))
            del embeddings[worst], samples[worst]
            if worst < len(degraded):
                del degraded[worst]
            dropped = 1
        new = dataclasses.replace(
            profile, embeddings=embeddings, samples=samples, degraded=degraded, updated=now
        )
        self.recalibrate(new)
        units = units_of(_vectors(embeddings))
        new.quality = assess(
            units, profile_speech(new), len(embeddings), self.impostor_groups(new.name)
        ).to_json()
        self.store.write(new, lock=False)
        self.store.profiles[new.name] = new
        self._recalibrate_others(new.name)
        return new, dropped

    def _recalibrate_others(self, changed: str) -> None:
        """A new voice is a new impostor for everyone else: their thresholds move away from it."""
        for p in list(self.store.profiles.values()):
            if p.name != changed and self.recalibrate(p):
                self.store.write(p)
