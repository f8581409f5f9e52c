"""The speaker registry: the one object callers hold for "who is speaking". It joins the profile
store, the household's roles, enrolment and Twin's own voice, and answers identification and
verification itself."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from models.durable import StoreBusyError, locked

from ..capabilities import SpeakerEmbedder, SpeakerMatch, SpeechEmbedding
from ..clip import AudioClip
from . import adaptation as ad
from .adaptation import Adaptation
from .calibration import same_voice_threshold
from .cohort import Cohort, default_cohort
from .enrolment import MIN_SPEECH_SECONDS, MIN_SPEECH_SHARE, Enrolment
from .errors import UnknownSpeakerError
from .profiles import ProfileStore, SpeakerProfile
from .quality import EnrolQuality
from .roles import UNKNOWN, Household
from .twin_voice import TwinVoice
from .vectors import two_voice_score, unit


@dataclass(frozen=True)
class Verification:
    name: str
    score: float
    threshold: float
    accepted: bool
    synthetic: bool  # sounded like Twin's own voice
    # The AS-norm score against the cohort and the profile's threshold on it (None: a profile
    # enrolled before cohort normalisation, decided on the raw cosine `score` and `threshold`).
    normalised: float | None = None
    normalised_threshold: float | None = None

    def to_json(self) -> dict:
        return asdict(self)


class SpeakerRegistry:
    """Enrolled voices, one JSON file per person in DATA_DIR/speakers (0600, written atomically).
    A corrupt file is skipped with a warning, as is one enrolled with another speaker encoder (its
    vectors live in another space); the other profiles keep working. Both are listed in `skipped`."""

    def __init__(
        self,
        directory: Path,
        embedder: SpeakerEmbedder,
        synthetic_references: Sequence[np.ndarray] = (),
        min_speech_seconds: float = MIN_SPEECH_SECONDS,
        two_voice_limit: float = 0.2,
        cohort: Cohort | None = None,
        speech_detector: Callable[[AudioClip], float] | None = None,
    ) -> None:
        """`cohort`: the voices scores are normalised against; by default (cohort.default_cohort)
        the shipped real-speech windows, espeak-ng voices and Twin's own, built on first use and
        cached in the data directory's cache/ folder beside `directory`. `speech_detector`: the
        seconds of speech in a clip as a neural VAD hears them (net_speech.NetSpeech); with it,
        enrolment refuses music and noise, and net speech is counted by it."""
        # Which rule names a voice ("normalised": cohort-normalised scores with thresholds from
        # degraded enrolment; "clean": the raw-cosine rule; "strict": both). Twin's config sets it
        # (identity.naming, "strict" by default); a registry made directly keeps "normalised".
        self.naming = "normalised"
        descriptor = getattr(embedder, "descriptor", None)  # None: listing needs no encoder
        self.store = ProfileStore(Path(directory), descriptor.name if descriptor is not None else None)
        self.household = Household(self.store)
        self.twin_voice = TwinVoice(synthetic_references)
        self._cohort = cohort
        self.enrolment = Enrolment(
            self.store,
            self.household,
            embedder,
            self.twin_voice,
            min_speech_seconds,
            two_voice_limit,
            cohort=lambda: self.cohort,
            speech_detector=speech_detector,
        )
        self._adapt_lock = threading.Lock()
        self._model_stats: dict[str, tuple[str, float, tuple[float, float]]] = {}
        self._recalibrated: set[tuple[str, float]] = set()

    @property
    def cohort(self) -> Cohort:
        if self._cohort is None:
            cache = self.store.dir.parent / "cache"
            self._cohort = default_cohort(self.embedder, self.synthetic, cache if cache.is_dir() else None)
        return self._cohort

    # -- what it holds (each part keeps its own; these read through) --------------------------------
    @property
    def dir(self) -> Path:
        return self.store.dir

    @property
    def embedder(self) -> SpeakerEmbedder:
        return self.enrolment.embedder

    @property
    def synthetic(self) -> list[np.ndarray]:
        """Twin's own voice, as unit vectors."""
        return self.twin_voice.references

    @property
    def min_speech(self) -> float:
        return self.enrolment.min_speech

    @property
    def two_voice_limit(self) -> float:
        return self.enrolment.two_voice_limit

    @property
    def speech_detector(self) -> Callable[[AudioClip], float] | None:
        return self.enrolment.speech_detector

    @property
    def profiles(self) -> dict[str, SpeakerProfile]:
        return self.store.profiles

    @property
    def skipped(self) -> list[str]:
        return self.store.skipped

    # -- storage -----------------------------------------------------------------------------------
    def names(self) -> list[str]:
        return self.store.names()

    def get(self, name: str) -> SpeakerProfile:
        return self.store.get(name)

    def remove(self, name: str) -> None:
        self.store.delete(self.get(name).name)

    # -- enrolment ---------------------------------------------------------------------------------
    def check_clip(self, clip: AudioClip) -> SpeechEmbedding:
        """Embed one enrolment clip, or refuse it with the reason."""
        return self.enrolment.check_clip(clip)

    @property
    def synthetic_limit(self) -> float:
        """Closer to Twin's own voice than its renderings are to one another, less a margin."""
        return self.twin_voice.limit

    def synthetic_score(self, vector: np.ndarray) -> float:
        return self.twin_voice.score(vector)

    def prepare_enrolment(
        self, name: str, role: str | None = None, force: bool = False
    ) -> tuple[str, SpeakerProfile | None, str]:
        """The checks that need no audio, made before any is embedded: the name, the role, and
        the one-owner rule. Returns (name, the profile it replaces or None, the role it gets)."""
        return self.enrolment.prepare(name, role, force)

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
        """Enrol (or re-enrol, replacing the old voice unless `replace` is False) from several clips.

        `role` ("owner" | "adult" | "child") defaults to the person's current role on re-enrolment,
        else owner for the first voice enrolled and adult after that. Making someone the owner while
        another is enrolled raises OwnerExistsError unless `force` (the other becomes an adult).
        The profile carries its quality verdict (`profile.quality`, quality.py); with
        `require_quality` a weak one is refused with EnrolNeedsMoreSpeechError and nothing stored."""
        return self.enrolment.enroll(name, clips, baseline, replace, role, force, require_quality)

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
        """enroll() from clips already passed through check_clip() (enrolment by voice checks each
        utterance as it comes, and does not embed it twice)."""
        return self.enrolment.enroll_embeddings(
            name, embeddings, baseline, replace, role, force, require_quality
        )

    def enrolment_quality(
        self, name: str, embeddings: Sequence[SpeechEmbedding], replace: bool = True
    ) -> EnrolQuality:
        """The quality verdict enrolling these embeddings would give, without storing anything."""
        return self.enrolment.assess(name, embeddings, replace)

    # -- adaptation from confirmed turns (adaptation.py) -------------------------------------------
    def adapt_from_turn(
        self,
        name: str,
        embedding: SpeechEmbedding,
        clip: AudioClip | None = None,
        during_playback: bool = False,
    ) -> Adaptation:
        """Add a turn's voice to `name`'s profile when the turn passes every guard (adaptation.py):
        not during Twin's playback, enough clean speech from one voice, nearer this profile than
        any other enrolled voice or Twin's own, and accepted by the strict verification. `clip`
        (the turn's audio) lets the speech detector count its speech. The write is atomic, under the
        profile file's lock, and skipped when the file changed on disk since it was read (another
        Twin process re-enrolled the person). Blocking: run it on the identity worker."""
        if during_playback:
            return Adaptation(name, ad.PLAYBACK)
        try:
            profile = self.get(name)
        except UnknownSpeakerError:
            return Adaptation(name, ad.UNKNOWN_SPEAKER)
        name = profile.name
        vector = unit(np.asarray(embedding.vector, np.float32))
        if embedding.speech_seconds < ad.ADAPT_MIN_SPEECH_S or not np.any(vector):
            return Adaptation(name, ad.SHORT)
        speech = float(embedding.speech_seconds)
        detector = self.enrolment.speech_detector
        if clip is not None and detector is not None:
            speech = detector(clip)
            if speech < ad.ADAPT_MIN_SPEECH_S:
                return Adaptation(name, ad.SHORT)
            if speech < MIN_SPEECH_SHARE * embedding.speech_seconds:
                return Adaptation(name, ad.NOT_SPEECH)
        if two_voice_score(embedding.partials) > self.two_voice_limit:
            return Adaptation(name, ad.TWO_VOICES)
        scores = self.score_all(vector)
        own = scores[name]
        twin = self.synthetic_score(vector)
        if twin >= self.synthetic_limit or twin >= own:
            return Adaptation(name, ad.TWIN_VOICE)
        if any(score >= own for other, score in scores.items() if other != name):
            return Adaptation(name, ad.NEARER_OTHER)
        if not self._decide(profile, own, self.normalised_all(vector), strict=True).accepted:
            return Adaptation(name, ad.NOT_CONFIRMED)
        path = self.store.path(name)
        with self._adapt_lock:
            try:
                with locked(path, f"{name}'s voice profile", timeout_s=1.0):
                    try:
                        on_disk = ProfileStore.read_file(path)
                    except (OSError, ValueError, TypeError):
                        return Adaptation(name, ad.CHANGED)
                    if on_disk.updated != profile.updated or self.profiles.get(name) is not profile:
                        return Adaptation(name, ad.CHANGED)
                    new, dropped = self.enrolment.add_turn_sample(profile, vector, speech)
            except StoreBusyError:
                return Adaptation(name, ad.BUSY)
        turns = sum(1 for r in new.samples if r.get("origin") == "turn")
        return Adaptation(name, ad.ADDED, turns, dropped)

    # -- household roles ---------------------------------------------------------------------------
    def set_role(self, name: str, role: str, force: bool = False) -> SpeakerProfile:
        """Change a person's role. One owner per household: making someone the owner while another
        is enrolled raises OwnerExistsError unless `force`, which makes the other an adult."""
        return self.household.set_role(name, role, force)

    def role_of(self, name: str | None) -> str:
        """The person's household role, "owner", "adult" or "child"; "guest" for "unknown" or anyone
        not enrolled (the least trusted answer: a permission check never fails open on a name)."""
        return self.household.role_of(name)

    def owner_names(self) -> list[str]:
        return self.household.owner_names()

    # -- recognition -------------------------------------------------------------------------------
    def score_all(self, vector: np.ndarray) -> dict[str, float]:
        """Raw cosines to every profile's centroid."""
        v = unit(vector)
        return {name: float(v @ p.centroid) for name, p in self.profiles.items()}

    def norm_threshold(self, profile: SpeakerProfile) -> float | None:
        """The profile's threshold on normalised scores, recalibrated (in memory) when it was set
        against another cohort; None for a profile without degraded enrolment clips (enrolled before
        cohort normalisation): it keeps the raw-cosine rule until re-enrolled."""
        if not profile.degraded or not len(self.cohort):
            return None
        if profile.cohort != self.cohort.ident and (profile.name, profile.updated) not in self._recalibrated:
            self.enrolment.recalibrate(profile)
            self._recalibrated.add((profile.name, profile.updated))
        return profile.norm_threshold

    def normalised_all(self, vector: np.ndarray) -> dict[str, float]:
        """Cohort-normalised scores against every profile ({} with no cohort; cohort.Cohort.normalise)."""
        cohort = self.cohort
        if not len(cohort) or not self.profiles:
            return {}
        v = unit(vector)
        test = cohort.stats(v)
        out = {}
        for name, p in self.profiles.items():
            key = (cohort.ident, p.updated)
            cached = self._model_stats.get(name)
            if cached is None or cached[:2] != key:
                cached = (*key, cohort.stats(p.centroid))
                self._model_stats[name] = cached
            out[name] = cohort.normalise(float(v @ p.centroid), test, cached[2])
        return out

    def _decide(
        self, profile: SpeakerProfile, raw: float, norm: dict[str, float], strict: bool = False
    ) -> Verification:
        """The profile's rule: normalised score and cosine floor (raw cosine for older profiles).
        `strict` (verification for sensitive actions): the raw-cosine threshold from the clean
        enrolment must be met as well, so a permission is never granted more readily than before
        cohort normalisation (a real stranger can reach a high normalised score: README)."""
        thr = self.norm_threshold(profile)
        if thr is None or profile.name not in norm:
            return Verification(
                profile.name, round(raw, 4), profile.threshold, raw >= profile.threshold, False
            )
        z = norm[profile.name]
        accepted = z >= thr and raw >= profile.cosine_floor and (raw >= profile.threshold or not strict)
        return Verification(profile.name, round(raw, 4), profile.threshold, accepted, False, round(z, 4), thr)

    def identify_embedding(
        self, emb: SpeechEmbedding, legacy: bool | None = None, rule: str | None = None
    ) -> SpeakerMatch:
        """The enrolled person this voice is, or "unknown". The best match is taken by normalised
        score and accepted by its profile's normalised threshold (raw cosine for older profiles).
        `rule` ("clean", "normalised", "strict"; None: this registry's `naming`): "clean" is the
        raw-cosine rule with thresholds from clean enrolment only, as before cohort normalisation;
        "strict" asks both to accept, as verification does. `legacy` True is "clean", False
        "normalised". The score is the raw cosine."""
        if rule is None:
            rule = self.naming if legacy is None else ("clean" if legacy else "normalised")
        legacy = rule == "clean"
        if emb.speech_seconds < 0.5 or not np.any(emb.vector) or not self.profiles:
            return SpeakerMatch(UNKNOWN, 0.0)
        scores = self.score_all(emb.vector)
        norm = {} if legacy else self.normalised_all(emb.vector)
        ranking = norm or scores
        name = max(ranking, key=ranking.__getitem__)
        best = scores[name]
        if self.synthetic_score(emb.vector) >= self.synthetic_limit:
            return SpeakerMatch(UNKNOWN, round(best, 4))
        profile = self.profiles[name]
        if legacy:
            accepted = best >= profile.threshold
        else:
            accepted = self._decide(profile, best, norm, strict=rule == "strict").accepted
        return SpeakerMatch(name if accepted else UNKNOWN, round(best, 4))

    def identify(self, audio: AudioClip) -> SpeakerMatch:
        return self.identify_embedding(self.embedder.embed(audio))

    def verify(self, name: str, audio: AudioClip) -> Verification:
        """For sensitive actions: does this clip carry `name`'s voice? Twin's own voice never does.
        Strict: both the normalised rule and the clean-calibrated raw threshold must accept."""
        profile = self.get(name)
        emb = self.embedder.embed(audio)
        if emb.speech_seconds < 0.5 or not np.any(emb.vector):
            return Verification(profile.name, 0.0, profile.threshold, False, False)
        score = float(unit(emb.vector) @ profile.centroid)
        verdict = self._decide(profile, score, self.normalised_all(emb.vector), strict=True)
        if self.synthetic_score(emb.vector) >= self.synthetic_limit:
            return Verification(profile.name, verdict.score, profile.threshold, False, True)
        return verdict

    def _embedding_of(self, voice: AudioClip | SpeechEmbedding | np.ndarray) -> tuple[np.ndarray, float]:
        """(vector, seconds of speech) from a clip, an embedding, or a bare vector (whose amount of
        speech is unknown, so taken as enough)."""
        if isinstance(voice, AudioClip):
            voice = self.embedder.embed(voice)
        if isinstance(voice, SpeechEmbedding):
            return np.asarray(voice.vector, np.float32), voice.speech_seconds
        return np.asarray(voice, np.float32).reshape(-1), float("inf")

    def owner_verification(self, voice: AudioClip | SpeechEmbedding | np.ndarray) -> Verification:
        """The best-matching owner's verification of this voice. Not accepted when nobody is the
        owner, when there is too little speech, or when the voice is synthetic (Twin's own)."""
        owners = [self.profiles[n] for n in self.owner_names()]
        if not owners:
            return Verification("", 0.0, 1.0, False, False)
        vector, speech = self._embedding_of(voice)
        if speech < 0.5 or not np.any(vector):
            return Verification(owners[0].name, 0.0, owners[0].threshold, False, False)
        v = unit(vector)
        norm = self.normalised_all(v)
        best = max(owners, key=lambda p: norm.get(p.name, float(v @ p.centroid)))
        if self.synthetic_score(v) >= self.synthetic_limit:
            return Verification(best.name, 0.0, best.threshold, False, True)
        return self._decide(best, float(v @ best.centroid), norm, strict=True)

    def verify_owner(self, voice: AudioClip | SpeechEmbedding | np.ndarray) -> float:
        """For the permission layer: how much this voice sounds like an owner (the raw cosine to the
        best-matching owner); 0.0 when no owner is enrolled, with too little speech, or for a
        synthetic voice (Twin's own TTS never passes). For the decision use
        owner_verification(...).accepted (the normalised rule and the clean raw-cosine threshold)."""
        return self.owner_verification(voice).score

    def same_voice_threshold(self) -> float:
        """The cosine above which two single utterances are taken for one voice (PresenceTracker),
        calibrated from the enrolment data like the profile thresholds (calibration.py)."""
        return same_voice_threshold(p.embeddings for p in self.profiles.values())

    def voices_in(self, emb: SpeechEmbedding) -> int:
        """2 when one utterance holds two voices (the same test, and limit, enrolment uses), else 1."""
        return 2 if two_voice_score(emb.partials) > self.two_voice_limit else 1
