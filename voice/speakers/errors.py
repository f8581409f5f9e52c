"""Why a voice could not be enrolled, found or given a role, and why a speaker encoder would not
load: each a typed error with a hint, so the CLI and the enrolment dialogue can say what to do."""

from __future__ import annotations

from models.errors import ModelNotFoundError, TwinError


class SpeakerError(TwinError):
    code = "speaker_error"
    exit_code = 2


class EnrolNoSpeechError(SpeakerError):
    code = "enrol_no_speech"


class EnrolTooShortError(SpeakerError):
    code = "enrol_too_short"


class EnrolNotSpeechError(SpeakerError):
    """Sound, but not speech: music, a tone, noise (the speech detector finds almost no speech in
    it, though the clip is not silent)."""

    code = "enrol_not_speech"


class EnrolNeedsMoreSpeechError(SpeakerError):
    """The recordings are each usable but together make a weak profile (too little speech, clips
    that disagree, or a voice too close to another known one): nothing was stored. `quality` is
    the verdict (quality.EnrolQuality) that says why."""

    code = "enrol_more_speech"

    def __init__(self, message: str, hint: str = "", quality=None) -> None:
        super().__init__(message, hint)
        self.quality = quality


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


class SpeakerModelMissingError(ModelNotFoundError):
    """The chosen speaker encoder's weights are not on disk (ECAPA: never downloaded by Twin)."""

    code = "speaker_model_missing"
