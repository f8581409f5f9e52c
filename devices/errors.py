from __future__ import annotations

from models.errors import TwinError


class AudioDeviceError(TwinError):
    code = "audio_device"
    exit_code = 4
