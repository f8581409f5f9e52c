"""Typed errors of the hub and its devices: each names the device and says what to do."""

from __future__ import annotations

from models.errors import BadInputError, TwinError


class DeviceError(TwinError):
    """Something went wrong with one device's connection; that device's session is closed, the
    others go on."""

    code = "device_error"
    exit_code = 5


class DeviceDisconnectedError(DeviceError):
    code = "device_disconnected"


class DeviceUnreachableError(DeviceError):
    code = "device_unreachable"


class MalformedEventError(DeviceError):
    code = "device_malformed_event"


class OversizedEventError(DeviceError):
    code = "device_oversized_event"


class AudioFormatError(DeviceError):
    code = "device_audio_format"


class DeviceProtocolError(DeviceError):
    code = "device_protocol"


class DeviceInUseError(DeviceError):
    """A second link offered the token of a device that is connected now (a replayed or copied
    token): refused, the live link goes on."""

    code = "device_in_use"


class DeviceFloodingError(DeviceError):
    """A device sent control messages far faster than any client does (a bug or an attack): its
    session is closed; the other devices go on."""

    code = "device_flooding"


class DeviceRegistryError(BadInputError):
    code = "device_registry"


class UnknownDeviceError(DeviceRegistryError):
    code = "device_unknown"
