"""Where sound enters and leaves: clips, microphone, speaker, and device profiles."""

from .errors import AudioDeviceError
from .profiles import PROFILES, DeviceProfile
from .sinks import BufferSink, SpeakerSink
from .sources import ClipSource, InputFrame, MicrophoneSource, check_device

__all__ = [
    "PROFILES",
    "AudioDeviceError",
    "BufferSink",
    "ClipSource",
    "DeviceProfile",
    "InputFrame",
    "MicrophoneSource",
    "SpeakerSink",
    "check_device",
]
