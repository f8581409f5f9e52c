"""Who is speaking: speaker embeddings, enrolled voice profiles, identification and verification.

Identification abstains ("unknown") rather than guesses: each profile carries its own acceptance
threshold, calibrated from the spread of its enrolment utterances and from how close the other
enrolled voices (and Twin's own synthetic voice) come to it. Verification gives the permission layer
a score and a decision; Twin's own TTS voice never passes as an enrolled person.

Each profile has a household role (owner, adult, child), with one owner per household:
`verify_owner()` is the score the permission layer asks for before owner-only actions.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from models.errors import ModelLoadError, ModelNotFoundError, TwinError

from .audio import SAMPLE_RATE, AudioClip
from .capabilities import SpeakerMatch

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
ROLES = ("owner", "adult", "child")
GUEST = "guest"  # what role_of() answers for a voice that is not enrolled
MIN_SPEECH_SECONDS = 1.0
# Utterance-vs-utterance cosines (Resemblyzer) for when there is no enrolment data to calibrate from;
# on the fixture speakers one person's utterances come >= 0.76 close, two people <= 0.65.
SAME_VOICE_DEFAULT = 0.72
IMPOSTOR_PAIR_DEFAULT = 0.65
PROFILE_VERSION = 1
_NAME = re.compile(r"^[\w][\w .'-]{0,39}$")


class SpeakerError(TwinError):
    code = "speaker_error"
    exit_code = 2


class EnrolNoSpeechError(SpeakerError):
    code = "enrol_no_speech"


class EnrolTooShortError(SpeakerError):
    code = "enrol_too_short"


class EnrolTwoVoicesError(SpeakerError):
    code = "enrol_two_voices"


class EnrolSyntheticVoiceError(SpeakerError):
    code = "enrol_synthetic_voice"


class EnrolInconsistentError(SpeakerError):
    code = "enrol_inconsistent"


class UnknownSpeakerError(SpeakerError):
    code = "speaker_unknown"


class SpeakerNameError(SpeakerError):
    code = "speaker_name_invalid"


class SpeakerRoleError(SpeakerError):
    code = "speaker_role_invalid"


class OwnerExistsError(SpeakerError):
    """Making someone the owner while another owner is enrolled needs `force` (the old owner then
    becomes an adult): a household has one owner, and the change is never silent."""

    code = "speaker_owner_exists"


class EnrolNameTakenError(SpeakerError):
    """Enrolment by voice under a name that already belongs to a different voice."""

    code = "enrol_name_taken"


class EnrolAlreadyKnownError(SpeakerError):
    """Enrolment by voice of a voice already enrolled under another name."""

    code = "enrol_already_known"


@dataclass(frozen=True)
class EmbedderDescriptor:
    name: str
    dim: int
    local: bool = True
    expected_ms_per_3s: float = 105.0


@dataclass(frozen=True)
class SpeechEmbedding:
    """One clip's voice: the utterance embedding, its partial (windowed) embeddings and how much
    speech it held, so callers can refuse clips that are too short or hold two voices."""

    vector: np.ndarray
    partials: np.ndarray
    speech_seconds: float


class SpeakerEmbedder(Protocol):
    descriptor: EmbedderDescriptor

    def embed(self, audio: AudioClip) -> SpeechEmbedding: ...


class ResemblyzerEmbedder:
    """GE2E d-vectors (256-d); the weights ship inside the `resemblyzer` wheel."""

    def __init__(self, device: str = "cpu") -> None:
        import torch
        from resemblyzer import VoiceEncoder

        # One thread: it runs beside ASR on a 2-core device, and torch's spinning worker threads
        # stall for seconds when the cores are oversubscribed.
        torch.set_num_threads(1)
        self.encoder = VoiceEncoder("cpu" if device in ("auto", "metal") else device, verbose=False)
        self.descriptor = EmbedderDescriptor("resemblyzer-ge2e", 256)
        self._warm_up()

    BATCH = 8

    def _warm_up(self) -> None:
        """Pay the first-call costs (librosa's mel filters, torch's kernels) at load, not in a turn."""
        import torch
        from resemblyzer import audio as ra
        from resemblyzer import preprocess_wav

        rng = np.random.default_rng(0)
        preprocess_wav((0.1 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32), source_sr=SAMPLE_RATE)
        ra.wav_to_mel_spectrogram(np.zeros(2 * SAMPLE_RATE, np.float32))
        with torch.no_grad():
            self.encoder(torch.zeros(self.BATCH, 160, 40))

    def embed(self, audio: AudioClip) -> SpeechEmbedding:
        from resemblyzer import preprocess_wav

        samples = audio.samples
        if audio.sample_rate != SAMPLE_RATE:
            from .audio import resample

            samples = resample(samples, audio.sample_rate, SAMPLE_RATE)
        if len(samples) == 0 or float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) < 1e-4:
            return SpeechEmbedding(np.zeros(256, np.float32), np.zeros((0, 256), np.float32), 0.0)
        wav = preprocess_wav(samples.astype(np.float32), source_sr=SAMPLE_RATE)
        speech = len(wav) / SAMPLE_RATE
        if speech < 0.3:
            return SpeechEmbedding(np.zeros(256, np.float32), np.zeros((0, 256), np.float32), speech)
        partials = self._partials(wav)
        vector = _unit(partials.mean(0))
        return SpeechEmbedding(vector.astype(np.float32), partials.astype(np.float32), speech)

    def _partials(self, wav: np.ndarray) -> np.ndarray:
        """Resemblyzer's embed_utterance, with the windows run through the LSTM in fixed-size
        batches: each new batch size costs torch a slow first call (seconds on 2 cores), and the
        number of windows varies with every utterance."""
        import torch
        from resemblyzer import audio as ra

        wav_slices, mel_slices = self.encoder.compute_partial_slices(len(wav), rate=2.5, min_coverage=0.75)
        if wav_slices[-1].stop >= len(wav):
            wav = np.pad(wav, (0, wav_slices[-1].stop - len(wav)))
        mel = ra.wav_to_mel_spectrogram(wav)
        mels = np.array([mel[s] for s in mel_slices], np.float32)
        out = []
        with torch.no_grad():
            for i in range(0, len(mels), self.BATCH):
                chunk = mels[i : i + self.BATCH]
                n = len(chunk)
                if n < self.BATCH:
                    chunk = np.concatenate([chunk, np.repeat(chunk[-1:], self.BATCH - n, 0)])
                out.append(self.encoder(torch.from_numpy(chunk)).numpy()[:n])
        return np.concatenate(out)


# The files of speechbrain/spkrec-ecapa-voxceleb that loading it needs (it is not in any package).
ECAPA_FILES = (
    "hyperparams.yaml",
    "embedding_model.ckpt",
    "mean_var_norm_emb.ckpt",
    "classifier.ckpt",
    "label_encoder.txt",
)
ECAPA_HUB_ID = "speechbrain/spkrec-ecapa-voxceleb"
ECAPA_BACKEND = "speechbrain-ecapa-voxceleb"
# What identity.embedder is set to for each profile backend (for the re-enrol hint).
EMBEDDER_SETTINGS = {"resemblyzer-ge2e": "resemblyzer", ECAPA_BACKEND: "ecapa"}


class SpeakerModelMissingError(ModelNotFoundError):
    """The chosen speaker encoder's weights are not on disk (ECAPA: never downloaded by Twin)."""

    code = "speaker_model_missing"


def missing_ecapa_files(model_dir: Path) -> list[str]:
    model_dir = Path(model_dir)
    return [name for name in ECAPA_FILES if not (model_dir / name).is_file()]


class EcapaEmbedder:
    """speechbrain's ECAPA-TDNN x-vectors (192-d for spkrec-ecapa-voxceleb), loaded strictly
    offline from a local folder holding the files of speechbrain/spkrec-ecapa-voxceleb.

    Speech is found and trimmed as on the Resemblyzer path (volume normalised, long silences cut
    by the same VAD), so `speech_seconds` means the same with either backend. The utterance vector
    is the whole trimmed utterance's embedding; the partials are 1.6 s windows every 0.4 s (the
    windows Resemblyzer uses), for two_voice_score()."""

    WINDOW = int(1.6 * SAMPLE_RATE)
    HOP = int(0.4 * SAMPLE_RATE)
    BATCH = 8

    def __init__(self, model_dir: Path | str, device: str = "cpu") -> None:
        model_dir = Path(model_dir).expanduser()
        missing = missing_ecapa_files(model_dir)
        if missing:
            raise SpeakerModelMissingError(
                f"the ECAPA speaker encoder is not in {model_dir}: {', '.join(missing)} missing",
                f"put the files of {ECAPA_HUB_ID} ({', '.join(ECAPA_FILES)}) in {model_dir}, "
                "set identity.ecapa_dir to a folder holding them, "
                'or set identity.embedder = "resemblyzer" (its weights ship with Twin)',
            )
        import torch

        # One thread, as on the Resemblyzer path: it runs beside ASR on a 2-core device.
        torch.set_num_threads(1)
        device = "cpu" if device in ("auto", "metal") else device
        try:
            from speechbrain.inference.speaker import EncoderClassifier

            # `pretrained_path` in its hyperparams.yaml names the hub repo: pointing it at the
            # folder keeps every checkpoint local, so nothing is ever fetched.
            self.encoder = EncoderClassifier.from_hparams(
                source=str(model_dir),
                savedir=str(model_dir),
                overrides={"pretrained_path": str(model_dir)},
                run_opts={"device": device},
            )
        except Exception as exc:  # noqa: BLE001 - any failure to load is the same error to the user
            raise ModelLoadError(
                f"the ECAPA speaker encoder in {model_dir} did not load: {type(exc).__name__}: {exc}",
                f"replace the folder with the files of {ECAPA_HUB_ID}, "
                'or set identity.embedder = "resemblyzer"',
            ) from exc
        self.encoder.eval()
        self.model_dir = model_dir
        dim = self._warm_up()
        self.descriptor = EmbedderDescriptor(ECAPA_BACKEND, dim)

    def _warm_up(self) -> int:
        """Pay the first-call costs at load, not in a turn; answers the embedding size."""
        from resemblyzer import preprocess_wav

        rng = np.random.default_rng(0)
        preprocess_wav((0.1 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32), source_sr=SAMPLE_RATE)
        self._encode(np.zeros((self.BATCH, self.WINDOW), np.float32))
        return int(self._encode(np.zeros((1, 2 * SAMPLE_RATE), np.float32)).shape[1])

    def _encode(self, wavs: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            emb = self.encoder.encode_batch(torch.from_numpy(np.ascontiguousarray(wavs, np.float32)))
        return emb.reshape(len(wavs), -1).cpu().numpy().astype(np.float32)

    def embed(self, audio: AudioClip) -> SpeechEmbedding:
        from resemblyzer import preprocess_wav

        dim = self.descriptor.dim
        samples = audio.samples
        if audio.sample_rate != SAMPLE_RATE:
            from .audio import resample

            samples = resample(samples, audio.sample_rate, SAMPLE_RATE)
        if len(samples) == 0 or float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) < 1e-4:
            return SpeechEmbedding(np.zeros(dim, np.float32), np.zeros((0, dim), np.float32), 0.0)
        wav = preprocess_wav(samples.astype(np.float32), source_sr=SAMPLE_RATE)
        speech = len(wav) / SAMPLE_RATE
        if speech < 0.3:
            return SpeechEmbedding(np.zeros(dim, np.float32), np.zeros((0, dim), np.float32), speech)
        vector = _unit(self._encode(wav[None])[0])
        partials = self._partials(wav)
        return SpeechEmbedding(vector.astype(np.float32), partials, speech)

    def _partials(self, wav: np.ndarray) -> np.ndarray:
        """Unit embeddings of 1.6 s windows every 0.4 s, the last one flush with the end when more
        than half a hop is left over; one window (the whole clip) when it is shorter than that.
        Run in fixed-size batches, so torch meets one batch shape, not a new one per utterance."""
        if len(wav) <= self.WINDOW:
            return np.stack([_unit(self._encode(wav[None])[0])]).astype(np.float32)
        starts = list(range(0, len(wav) - self.WINDOW + 1, self.HOP))
        if len(wav) - (starts[-1] + self.WINDOW) > self.HOP // 2:
            starts.append(len(wav) - self.WINDOW)
        windows = np.stack([wav[s : s + self.WINDOW] for s in starts]).astype(np.float32)
        out = []
        for i in range(0, len(windows), self.BATCH):
            chunk = windows[i : i + self.BATCH]
            n = len(chunk)
            if n < self.BATCH:
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], self.BATCH - n, 0)])
            out.append(self._encode(chunk)[:n])
        partials = np.concatenate(out)
        norms = np.linalg.norm(partials, axis=1, keepdims=True)
        return (partials / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def two_voice_score(partials: np.ndarray) -> float:
    """How different the two most separable groups of windows are (1 - cosine of their centroids,
    from a 2-means split). One voice stays below ~0.2; two voices in one clip go well above."""
    if len(partials) < 4:
        return 0.0
    sims = partials @ partials.T
    i, j = np.unravel_index(np.argmin(sims), sims.shape)
    centres = np.stack([partials[i], partials[j]])
    labels = np.zeros(len(partials), int)
    for _ in range(10):
        labels = np.argmax(partials @ centres.T, axis=1)
        if labels.min() == labels.max():
            return 0.0
        centres = np.stack([_unit(partials[labels == k].mean(0)) for k in (0, 1)])
    if min(np.sum(labels == 0), np.sum(labels == 1)) < 2:
        return 0.0
    return float(1.0 - centres[0] @ centres[1])


@dataclass
class SpeakerProfile:
    name: str
    embeddings: list[list[float]]
    threshold: float
    backend: str
    created: float
    updated: float
    baseline: dict[str, float] = field(default_factory=dict)  # the voice's usual prosody (emotion.py)
    version: int = PROFILE_VERSION
    # "owner" | "adult" | "child"; "" in files written before roles existed (read as: the
    # first-created profile is the owner, the others adults)
    role: str = ""

    @property
    def centroid(self) -> np.ndarray:
        return _unit(np.asarray(self.embeddings, np.float32).mean(0))


@dataclass(frozen=True)
class Verification:
    name: str
    score: float
    threshold: float
    accepted: bool
    synthetic: bool  # sounded like Twin's own voice

    def to_json(self) -> dict:
        return asdict(self)


def calibrate_threshold(genuine: Sequence[np.ndarray], impostors: Iterable[np.ndarray]) -> float:
    """Accept a voice when it is as close to the profile as the enrolment utterances were to each
    other (leave-one-out, with a margin for their spread), and keep clear of every known impostor."""
    g = np.stack([_unit(e) for e in genuine])
    if len(g) == 1:
        loo = np.array([0.85])  # one utterance gives no spread; enrol() asks for at least two
    else:
        loo = np.array([_unit(np.delete(g, k, 0).mean(0)) @ g[k] for k in range(len(g))])
    spread = max(float(loo.std()), 0.02)
    threshold = min(float(loo.mean()) - 3 * spread, float(loo.min()) - 0.04)
    centre = _unit(g.mean(0))
    imp = [float(_unit(e) @ centre) for e in impostors]
    if imp:
        threshold = max(threshold, min(max(imp) + 0.05, float(loo.mean()) - 0.02))
    return float(np.clip(threshold, 0.55, 0.95))


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
    ) -> None:
        self.dir = Path(directory)
        self.embedder = embedder
        self.synthetic = [_unit(np.asarray(e, np.float32)) for e in synthetic_references]
        self.min_speech = min_speech_seconds
        self.two_voice_limit = two_voice_limit
        self.skipped: list[str] = []
        self._profiles: dict[str, SpeakerProfile] | None = None

    # -- storage -----------------------------------------------------------------------------------
    def _ensure_dir(self) -> None:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)

    @staticmethod
    def _slug(name: str) -> str:
        return re.sub(r"[^\w-]+", "_", name.strip().lower())

    def _path(self, name: str) -> Path:
        return self.dir / f"{self._slug(name)}.json"

    @property
    def profiles(self) -> dict[str, SpeakerProfile]:
        if self._profiles is None:
            self._profiles = {}
            self.skipped = []
            descriptor = getattr(self.embedder, "descriptor", None)  # None: listing needs no encoder
            current = descriptor.name if descriptor is not None else None
            for path in sorted(self.dir.glob("*.json")) if self.dir.is_dir() else []:
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                    profile = SpeakerProfile(**data)
                    if not profile.embeddings or profile.version != PROFILE_VERSION:
                        raise ValueError("no embeddings or an unknown version")
                    if profile.role and profile.role not in ROLES:
                        raise ValueError(f"unknown role {profile.role!r}")
                    np.asarray(profile.embeddings, np.float32).reshape(len(profile.embeddings), -1)
                except (OSError, ValueError, TypeError) as exc:
                    log.warning("skipping unreadable voice profile %s: %s", path, exc)
                    self.skipped.append(str(path))
                    continue
                if current is not None and profile.backend != current:
                    # Another encoder's vectors live in another space (another size, even): never
                    # compared with this one's. The file stays, for switching back.
                    log.warning(
                        "skipping voice profile %s: '%s' was enrolled with the %s speaker encoder, "
                        "but identity.embedder now uses %s; re-enrol %s (`twin enroll %s AUDIO...`), "
                        'or set identity.embedder = "%s" to use this profile again',
                        path,
                        profile.name,
                        profile.backend,
                        current,
                        profile.name,
                        profile.name,
                        EMBEDDER_SETTINGS.get(profile.backend, profile.backend),
                    )
                    self.skipped.append(str(path))
                    continue
                self._profiles[profile.name] = profile
            _resolve_roles(self._profiles)
        return self._profiles

    def _write(self, profile: SpeakerProfile) -> None:
        self._ensure_dir()
        path = self._path(profile.name)
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=path.name + ".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(asdict(profile), f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def names(self) -> list[str]:
        return sorted(self.profiles)

    def get(self, name: str) -> SpeakerProfile:
        for known, profile in self.profiles.items():
            if known.lower() == name.strip().lower():
                return profile
        raise UnknownSpeakerError(
            f"no enrolled voice named '{name}'",
            "see `twin speakers list`, or enrol with `twin enroll NAME AUDIO...`",
        )

    def remove(self, name: str) -> None:
        profile = self.get(name)
        self._path(profile.name).unlink(missing_ok=True)
        self.profiles.pop(profile.name, None)

    # -- enrolment ---------------------------------------------------------------------------------
    def check_clip(self, clip: AudioClip) -> SpeechEmbedding:
        """Embed one enrolment clip, or refuse it with the reason."""
        where = clip.source or "the clip"
        emb = self.embedder.embed(clip)
        if emb.speech_seconds < 0.3 or not np.any(emb.vector):
            raise EnrolNoSpeechError(
                f"no speech found in {where}",
                "record the person speaking a sentence or two, close to the mic",
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
        if self.synthetic_score(emb.vector) >= self.synthetic_limit:
            raise EnrolSyntheticVoiceError(
                f"{where} is Twin's own synthetic voice, not a person",
                "record the person speaking, not Twin's replies or another text-to-speech voice",
            )
        return emb

    @property
    def synthetic_limit(self) -> float:
        """Closer to Twin's own voice than its renderings are to one another, less a margin."""
        if len(self.synthetic) < 2:
            return 0.8
        return max(0.7, calibrate_threshold(self.synthetic, []))

    def synthetic_score(self, vector: np.ndarray) -> float:
        if not self.synthetic or not np.any(vector):
            return 0.0
        v = _unit(vector)
        return float(max(v @ s for s in self.synthetic))

    def prepare_enrolment(
        self, name: str, role: str | None = None, force: bool = False
    ) -> tuple[str, SpeakerProfile | None, str]:
        """The checks that need no audio, made before any is embedded: the name, the role, and
        the one-owner rule. Returns (name, the profile it replaces or None, the role it gets)."""
        name = name.strip()
        if not _NAME.match(name) or name.lower() == UNKNOWN:
            raise SpeakerNameError(
                f"'{name}' cannot be used as a speaker name", "use letters, digits, spaces, - or ' (max 40)"
            )
        if role is not None and role not in ROLES:
            raise SpeakerRoleError(f"'{role}' is not a household role", f"use one of: {', '.join(ROLES)}")
        with_name = [p for p in self.profiles.values() if p.name.lower() == name.lower()]
        old = with_name[0] if with_name else None
        if role is None:
            role = old.role if old else ("owner" if not self.profiles else "adult")
        if role == "owner":
            self._check_owner_change(name, force)
        return name, old, role

    def _check_owner_change(self, name: str, force: bool) -> None:
        others = [o for o in self.owner_names() if o.lower() != name.lower()]
        if others and not force:
            raise OwnerExistsError(
                f"{' and '.join(others)} is already the owner; a household has one owner",
                f"to make {name} the owner instead, repeat with --force ({others[0]} becomes an adult)",
            )

    def _demote_other_owners(self, name: str) -> None:
        for p in list(self.profiles.values()):
            if p.role == "owner" and p.name.lower() != name.lower():
                p.role = "adult"
                self._write(p)

    def enroll(
        self,
        name: str,
        clips: Sequence[AudioClip],
        baseline: dict[str, float] | None = None,
        replace: bool = True,
        role: str | None = None,
        force: bool = False,
    ) -> SpeakerProfile:
        """Enrol (or re-enrol, replacing the old voice unless `replace` is False) from several clips.

        `role` ("owner" | "adult" | "child") defaults to the person's current role on re-enrolment,
        else owner for the first voice enrolled and adult after that. Making someone the owner while
        another is enrolled raises OwnerExistsError unless `force` (the other becomes an adult)."""
        # A bad name or role, or a second owner, is refused before any audio is embedded.
        name, _, _ = self.prepare_enrolment(name, role, force)
        if not clips:
            raise EnrolNoSpeechError("no audio given to enrol", "pass two or more recordings of the person")
        checked = [self.check_clip(c) for c in clips]
        return self.enroll_embeddings(name, checked, baseline, replace, role, force)

    def enroll_embeddings(
        self,
        name: str,
        embeddings: Sequence[SpeechEmbedding],
        baseline: dict[str, float] | None = None,
        replace: bool = True,
        role: str | None = None,
        force: bool = False,
    ) -> SpeakerProfile:
        """enroll() from clips already passed through check_clip() (enrolment by voice checks each
        utterance as it comes, and does not embed it twice)."""
        name, old, role = self.prepare_enrolment(name, role, force)
        if not embeddings:
            raise EnrolNoSpeechError("no audio given to enrol", "pass two or more recordings of the person")
        vectors = [np.asarray(e.vector, np.float32) for e in embeddings]
        if old is not None and not replace:
            vectors = [np.asarray(e, np.float32) for e in old.embeddings] + vectors
        if len(vectors) >= 2:
            g = np.stack([_unit(v) for v in vectors])
            loo = [float(_unit(np.delete(g, k, 0).mean(0)) @ g[k]) for k in range(len(g))]
            if min(loo) < 0.6:
                raise EnrolInconsistentError(
                    f"the recordings for '{name}' do not sound like one person "
                    f"(recording {int(np.argmin(loo)) + 1} differs)",
                    "enrol with recordings of the same person only",
                )
        others = [
            np.asarray(e, np.float32)
            for p in self.profiles.values()
            if p.name.lower() != name.lower()
            for e in p.embeddings
        ]
        threshold = calibrate_threshold(vectors, others + self.synthetic)
        now = time.time()
        profile = SpeakerProfile(
            name,
            [[round(float(x), 6) for x in _unit(v)] for v in vectors],
            round(threshold, 4),
            self.embedder.descriptor.name,
            old.created if old else now,
            now,
            baseline or (old.baseline if old else {}),
            role=role,
        )
        if old is not None and old.name != name:
            self._path(old.name).unlink(missing_ok=True)
            self.profiles.pop(old.name, None)
        self._write(profile)
        self.profiles[profile.name] = profile
        if role == "owner":
            self._demote_other_owners(profile.name)
        self._recalibrate_others(profile.name)
        return profile

    # -- household roles ---------------------------------------------------------------------------
    def set_role(self, name: str, role: str, force: bool = False) -> SpeakerProfile:
        """Change a person's role. One owner per household: making someone the owner while another
        is enrolled raises OwnerExistsError unless `force`, which makes the other an adult."""
        if role not in ROLES:
            raise SpeakerRoleError(f"'{role}' is not a household role", f"use one of: {', '.join(ROLES)}")
        profile = self.get(name)
        if role == "owner":
            self._check_owner_change(profile.name, force)
        if profile.role != role:
            profile.role = role
            self._write(profile)
        if role == "owner":
            self._demote_other_owners(profile.name)
        return profile

    def role_of(self, name: str | None) -> str:
        """The person's household role, "owner", "adult" or "child"; "guest" for "unknown" or anyone
        not enrolled (the least trusted answer: a permission check never fails open on a name)."""
        if not name or name == UNKNOWN:
            return GUEST
        try:
            return self.get(name).role
        except UnknownSpeakerError:
            return GUEST

    def owner_names(self) -> list[str]:
        return sorted(p.name for p in self.profiles.values() if p.role == "owner")

    def _recalibrate_others(self, changed: str) -> None:
        """A new voice is a new impostor for everyone else: their thresholds move away from it."""
        for p in list(self.profiles.values()):
            if p.name == changed:
                continue
            others = [
                np.asarray(e, np.float32)
                for q in self.profiles.values()
                if q.name != p.name
                for e in q.embeddings
            ]
            new = round(
                calibrate_threshold(
                    [np.asarray(e, np.float32) for e in p.embeddings], others + self.synthetic
                ),
                4,
            )
            if new != p.threshold:
                p.threshold = new
                self._write(p)

    # -- recognition -------------------------------------------------------------------------------
    def score_all(self, vector: np.ndarray) -> dict[str, float]:
        v = _unit(vector)
        return {name: float(v @ p.centroid) for name, p in self.profiles.items()}

    def identify_embedding(self, emb: SpeechEmbedding) -> SpeakerMatch:
        if emb.speech_seconds < 0.5 or not np.any(emb.vector) or not self.profiles:
            return SpeakerMatch(UNKNOWN, 0.0)
        scores = self.score_all(emb.vector)
        name = max(scores, key=scores.__getitem__)
        best = scores[name]
        if self.synthetic_score(emb.vector) >= self.synthetic_limit:
            return SpeakerMatch(UNKNOWN, round(best, 4))
        if best < self.profiles[name].threshold:
            return SpeakerMatch(UNKNOWN, round(best, 4))
        return SpeakerMatch(name, round(best, 4))

    def identify(self, audio: AudioClip) -> SpeakerMatch:
        return self.identify_embedding(self.embedder.embed(audio))

    def verify(self, name: str, audio: AudioClip) -> Verification:
        """For sensitive actions: does this clip carry `name`'s voice? Twin's own voice never does."""
        profile = self.get(name)
        emb = self.embedder.embed(audio)
        if emb.speech_seconds < 0.5 or not np.any(emb.vector):
            return Verification(profile.name, 0.0, profile.threshold, False, False)
        score = float(_unit(emb.vector) @ profile.centroid)
        synthetic = self.synthetic_score(emb.vector) >= self.synthetic_limit
        accepted = score >= profile.threshold and not synthetic
        return Verification(profile.name, round(score, 4), profile.threshold, accepted, synthetic)

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
        v = _unit(vector)
        best = max(owners, key=lambda p: float(v @ p.centroid))
        score = float(v @ best.centroid)
        if self.synthetic_score(v) >= self.synthetic_limit:
            return Verification(best.name, 0.0, best.threshold, False, True)
        return Verification(best.name, round(score, 4), best.threshold, score >= best.threshold, False)

    def verify_owner(self, voice: AudioClip | SpeechEmbedding | np.ndarray) -> float:
        """For the permission layer: how much this voice sounds like an owner (cosine, max over
        the owner profiles); 0.0 when no owner is enrolled, with too little speech, or for a
        synthetic voice (Twin's own TTS never passes). Compare with owner_verification(...).threshold
        (that owner's calibrated acceptance threshold), or use owner_verification(...).accepted."""
        return self.owner_verification(voice).score

    def same_voice_threshold(self) -> float:
        """The cosine above which two single utterances are taken for one voice (PresenceTracker),
        calibrated from the enrolment data like the profile thresholds: halfway between the low
        end of how close each person's enrolment utterances are to one another and the closest
        two different enrolled people come (IMPOSTOR_PAIR_DEFAULT with one person enrolled).
        SAME_VOICE_DEFAULT when no one has two utterances to learn from."""
        groups = [
            np.stack([_unit(np.asarray(e, np.float32)) for e in p.embeddings]) for p in self.profiles.values()
        ]
        genuine: list[float] = []
        impostor: list[float] = []
        for k, g in enumerate(groups):
            genuine.extend((g @ g.T)[np.triu_indices(len(g), 1)].tolist())
            for h in groups[k + 1 :]:
                impostor.extend((g @ h.T).ravel().tolist())
        if not genuine:
            return SAME_VOICE_DEFAULT
        low = min(float(np.mean(genuine)) - 2.5 * max(float(np.std(genuine)), 0.02), min(genuine) - 0.03)
        high = max(impostor) if impostor else IMPOSTOR_PAIR_DEFAULT
        threshold = (low + high) / 2 if high < low else low
        return float(np.clip(threshold, 0.6, 0.9))

    def voices_in(self, emb: SpeechEmbedding) -> int:
        """2 when one utterance holds two voices (the same test, and limit, enrolment uses), else 1."""
        return 2 if two_voice_score(emb.partials) > self.two_voice_limit else 1


def _resolve_roles(profiles: dict[str, SpeakerProfile]) -> None:
    """Profiles written before roles existed: the first-created one reads as the owner (unless an
    owner is already set), the others as adults. Nothing is rewritten until a profile changes."""
    unset = [p for p in profiles.values() if p.role not in ROLES]
    if not unset:
        return
    has_owner = any(p.role == "owner" for p in profiles.values())
    first = min(profiles.values(), key=lambda p: (p.created, p.name))
    for p in unset:
        p.role = "owner" if (p is first and not has_owner) else "adult"


REFERENCE_SENTENCES = (
    "Hello, I am Twin. I can help you with your day.",
    "It is now a quarter past three, and the weather looks fine.",
    "Would you like me to set a reminder for tomorrow morning?",
)


def twin_voice_references(tts, embedder: SpeakerEmbedder, cache_dir: Path | None = None) -> list[np.ndarray]:
    """Embeddings of Twin's own TTS voice at several speaking rates, so a recording of Twin (or a
    replay of its replies) is never enrolled or verified as a person. Cached per voice and per
    speaker encoder (each encoder's vectors live in their own space)."""
    from .audio import resample
    from .tts import Prosody

    name = getattr(getattr(tts, "descriptor", None), "name", "tts")
    encoder = embedder.descriptor
    slug = f"{SpeakerRegistry._slug(name)}-{SpeakerRegistry._slug(encoder.name)}-{encoder.dim}"
    cache = Path(cache_dir) / f"synthetic-{slug}.npy" if cache_dir else None
    if cache is not None and cache.exists():
        try:
            cached = np.load(cache)
            if cached.ndim != 2 or cached.shape[1] != encoder.dim:
                raise ValueError(f"vectors of size {cached.shape[1:]}, not {encoder.dim}")
            return list(cached)
        except (OSError, ValueError) as exc:
            log.warning("rebuilding the unreadable synthetic-voice cache %s: %s", cache, exc)
    refs = []
    for text in REFERENCE_SENTENCES:
        for rate in (0.85, 1.15):
            audio = tts.synthesize_all(text, Prosody(length_scale=rate))
            clip = AudioClip(resample(audio, tts.sample_rate, SAMPLE_RATE), SAMPLE_RATE, "twin-voice")
            refs.append(embedder.embed(clip).vector)
    if cache is not None:
        cache.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".npy")
        with os.fdopen(fd, "wb") as f:
            np.save(f, np.stack(refs))
        os.replace(tmp, cache)
    return refs
