"""The shared error base.

`models` is the one package every other package may import, so the base of Twin's typed errors lives
here. Each error has a stable code (for scripts and logs) and a one-line hint a user can act on.
"""

from __future__ import annotations


class TwinError(Exception):
    code = "twin_error"
    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def user_message(self) -> str:
        text = f"error [{self.code}]: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class BadInputError(TwinError):
    code = "bad_input"
    exit_code = 2


class ModelError(TwinError):
    code = "model_error"
    exit_code = 3


class UnknownModelError(ModelError):
    code = "model_unknown"


class ModelNotFoundError(ModelError):
    code = "model_not_found"


class ModelChecksumError(ModelError):
    code = "model_checksum"


class ModelLoadError(ModelError):
    code = "model_load"
