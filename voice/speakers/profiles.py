"""The profile store: one JSON file per enrolled person in DATA_DIR/speakers, private (0600) and
written atomically, so a crash never leaves a torn profile.

A corrupt file is skipped with a warning, as is one enrolled with another speaker encoder (its
vectors live in another space); the other profiles keep working. Both are listed in `skipped`.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from models.durable import atomic_write_text, lock_path, locked

from .ecapa_encoder import ECAPA_BACKEND
from .errors import UnknownSpeakerError
from .resemblyzer_encoder import RESEMBLYZER_BACKEND
from .roles import ROLES, resolve_roles
from .vectors import unit

log = logging.getLogger(__name__)

PROFILE_VERSION = 1
# What identity.embedder is set to for each profile backend (for the re-enrol hint).
EMBEDDER_SETTINGS = {RESEMBLYZER_BACKEND: "resemblyzer", ECAPA_BACKEND: "ecapa"}


@dataclass
class SpeakerProfile:
    name: str
    embeddings: list[list[float]]
    threshold: float
    backend: str
    created: float
    updated: float
    baseline: dict[str, float] = field(default_factory=dict)  # the voice's usual prosody (emotion)
    version: int = PROFILE_VERSION
    # "owner" | "adult" | "child"; "" in files written before roles existed (read as: the
    # first-created profile is the owner, the others adults)
    role: str = ""
    # The enrolment clips through generated degradations (augment.py), one list per clip, aligned
    # with `embeddings`; empty in files written before cohort normalisation (and for a clip added
    # from an embedding alone).
    degraded: list[list[list[float]]] = field(default_factory=list)
    # The acceptance threshold on AS-norm scores (cohort.py) and the cohort it was calibrated
    # against. None in older files: those keep the raw-cosine `threshold` until re-enrolled.
    norm_threshold: float | None = None
    cohort: str = ""
    # With the normalised rule, the raw cosine must also reach this (calibration.degraded_cosine_floor).
    cosine_floor: float = 0.0
    # Per stored embedding, aligned with `embeddings`: {"origin": "enrol" | "turn", "speech_s": net
    # seconds of speech or None, "at": unix time}. Shorter in older files: the rest are enrolment
    # clips of unknown length. "turn" entries were added from turns whose speaker was confirmed
    # (SpeakerRegistry.adapt_from_turn), at most adaptation.MAX_TURN_SAMPLES of them.
    samples: list[dict] = field(default_factory=list)
    # The last quality verdict (quality.EnrolQuality.to_json()); {} in older files.
    quality: dict = field(default_factory=dict)

    @property
    def centroid(self) -> np.ndarray:
        return unit(np.asarray(self.embeddings, np.float32).mean(0))


class ProfileStore:
    """The profiles in one folder, read once and kept in memory. `backend` is the speaker encoder
    in use (None: any, for listing without loading one); profiles from another are not loaded."""

    def __init__(self, directory: Path, backend: str | None) -> None:
        self.dir = Path(directory)
        self.backend = backend
        self.skipped: list[str] = []
        self._profiles: dict[str, SpeakerProfile] | None = None

    @staticmethod
    def slug(name: str) -> str:
        return re.sub(r"[^\w-]+", "_", name.strip().lower())

    def path(self, name: str) -> Path:
        return self.dir / f"{self.slug(name)}.json"

    @property
    def profiles(self) -> dict[str, SpeakerProfile]:
        if self._profiles is None:
            self._profiles = {}
            self.skipped = []
            for path in sorted(self.dir.glob("*.json")) if self.dir.is_dir() else []:
                try:
                    profile = self._read(path)
                except (OSError, ValueError, TypeError) as exc:
                    log.warning("skipping unreadable voice profile %s: %s", path, exc)
                    self.skipped.append(str(path))
                    continue
                if self.backend is not None and profile.backend != self.backend:
                    # Another encoder's vectors live in another space (another size, even): never
                    # compared with this one's. The file stays, for switching back.
                    log.warning(
                        "skipping voice profile %s: '%s' was enrolled with the %s speaker encoder, "
                        "but identity.embedder now uses %s; re-enrol %s (`twin enroll %s AUDIO...`), "
                        'or set identity.embedder = "%s" to use this profile again',
                        path,
                        profile.name,
                        profile.backend,
                        self.backend,
                        profile.name,
                        profile.name,
                        EMBEDDER_SETTINGS.get(profile.backend, profile.backend),
                    )
                    self.skipped.append(str(path))
                    continue
                self._profiles[profile.name] = profile
            resolve_roles(self._profiles)
        return self._profiles

    @staticmethod
    def _read(path: Path) -> SpeakerProfile:
        data = json.loads(path.read_text(encoding="utf-8"))
        profile = SpeakerProfile(**data)
        if not profile.embeddings or profile.version != PROFILE_VERSION:
            raise ValueError("no embeddings or an unknown version")
        if profile.role and profile.role not in ROLES:
            raise ValueError(f"unknown role {profile.role!r}")
        np.asarray(profile.embeddings, np.float32).reshape(len(profile.embeddings), -1)
        if len(profile.degraded) > len(profile.embeddings):
            raise ValueError("more degraded clip lists than enrolment clips")
        if len(profile.samples) > len(profile.embeddings):
            raise ValueError("more sample records than embeddings")
        return profile

    @staticmethod
    def read_file(path: Path) -> SpeakerProfile:
        """One profile as it is on disk now (adaptation compares it with the one in memory)."""
        return ProfileStore._read(path)

    def write(self, profile: SpeakerProfile, lock: bool = True) -> None:
        """Atomically, under the profile file's cross-process lock (`lock=False`: the caller holds
        it, as adaptation does for its read-compare-write)."""
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        path = self.path(profile.name)
        if not lock:
            atomic_write_text(path, json.dumps(asdict(profile)))
            return
        with locked(path, f"{profile.name}'s voice profile"):
            atomic_write_text(path, json.dumps(asdict(profile)))

    def delete(self, name: str) -> None:
        """Forget the profile stored under exactly this name, file and all (under the file's lock:
        an adaptation in flight finds it gone and writes nothing)."""
        path = self.path(name)
        with locked(path, f"{name}'s voice profile"):
            path.unlink(missing_ok=True)
            self.profiles.pop(name, None)
        lock_path(path).unlink(missing_ok=True)  # its name says whose it was

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
