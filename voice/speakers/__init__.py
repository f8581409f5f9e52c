"""Who is speaking: speaker embeddings, enrolled voice profiles, identification and verification.

Identification abstains ("unknown") rather than guesses: each profile carries its own acceptance
threshold, calibrated from the spread of its enrolment utterances and from how close the other
enrolled voices (and Twin's own synthetic voice) come to it. Verification gives the permission layer
a score and a decision; Twin's own TTS voice never passes as an enrolled person.

Each profile has a household role (owner, adult, child), with one owner per household:
`verify_owner()` is the score the permission layer asks for before owner-only actions.

Scores are normalised against a cohort of strangers (cohort: adaptive T-norm), and each profile's threshold
is calibrated on generated degradations of its enrolment clips (augment), so identification holds
through rooms, noise and phone lines; profiles from before keep the raw-cosine rule.

The parts: the two speaker encoders (resemblyzer_encoder, ecapa_encoder), the profile store
(profiles), household roles (roles), enrolment, calibration, the cohort, Twin's own voice
(twin_voice), the quality verdict on a profile (quality), learning from confirmed turns
(adaptation), and the registry that joins them. Callers import from here.
"""

from ..capabilities import EmbedderDescriptor, SpeakerEmbedder, SpeakerMatch, SpeechEmbedding
from .adaptation import Adaptation
from .calibration import IMPOSTOR_PAIR_DEFAULT, SAME_VOICE_DEFAULT, calibrate_threshold
from .cohort import Cohort, default_cohort
from .ecapa_encoder import ECAPA_BACKEND, ECAPA_FILES, ECAPA_HUB_ID, EcapaEmbedder, missing_ecapa_files
from .enrolment import MIN_SPEECH_SECONDS
from .errors import (
    EnrolAlreadyKnownError,
    EnrolInconsistentError,
    EnrolNameTakenError,
    EnrolNeedsMoreSpeechError,
    EnrolNoSpeechError,
    EnrolNotSpeechError,
    EnrolSyntheticVoiceError,
    EnrolTooShortError,
    EnrolTwoVoicesError,
    OwnerExistsError,
    SpeakerError,
    SpeakerModelMissingError,
    SpeakerNameError,
    SpeakerRoleError,
    UnknownSpeakerError,
)
from .profiles import EMBEDDER_SETTINGS, PROFILE_VERSION, SpeakerProfile
from .quality import EnrolQuality
from .registry import SpeakerRegistry, Verification
from .resemblyzer_encoder import ResemblyzerEmbedder
from .roles import GUEST, ROLES, UNKNOWN
from .twin_voice import REFERENCE_SENTENCES, twin_voice_references
from .vectors import two_voice_score

__all__ = [
    "ECAPA_BACKEND",
    "ECAPA_FILES",
    "ECAPA_HUB_ID",
    "EMBEDDER_SETTINGS",
    "GUEST",
    "IMPOSTOR_PAIR_DEFAULT",
    "MIN_SPEECH_SECONDS",
    "PROFILE_VERSION",
    "REFERENCE_SENTENCES",
    "ROLES",
    "SAME_VOICE_DEFAULT",
    "UNKNOWN",
    "Adaptation",
    "Cohort",
    "EcapaEmbedder",
    "EmbedderDescriptor",
    "EnrolAlreadyKnownError",
    "EnrolInconsistentError",
    "EnrolQuality",
    "EnrolNameTakenError",
    "EnrolNeedsMoreSpeechError",
    "EnrolNoSpeechError",
    "EnrolNotSpeechError",
    "EnrolSyntheticVoiceError",
    "EnrolTooShortError",
    "EnrolTwoVoicesError",
    "OwnerExistsError",
    "ResemblyzerEmbedder",
    "SpeakerEmbedder",
    "SpeakerError",
    "SpeakerMatch",
    "SpeakerModelMissingError",
    "SpeakerNameError",
    "SpeakerProfile",
    "SpeakerRegistry",
    "SpeakerRoleError",
    "SpeechEmbedding",
    "UnknownSpeakerError",
    "Verification",
    "calibrate_threshold",
    "default_cohort",
    "missing_ecapa_files",
    "twin_voice_references",
    "two_voice_score",
]
