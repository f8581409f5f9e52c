"""Model manifest and resolver: which weights, where they come from, and their checksums."""

from .errors import (
    BadInputError,
    ModelChecksumError,
    ModelError,
    ModelLoadError,
    ModelNotFoundError,
    TwinError,
    UnknownModelError,
)
from .manifest import MANIFEST, ModelSpec, get_spec
from .resolver import ModelResolver, ResolvedModel, default_cache_dir, sha256_file

__all__ = [
    "BadInputError",
    "MANIFEST",
    "ModelChecksumError",
    "ModelError",
    "ModelLoadError",
    "ModelNotFoundError",
    "ModelResolver",
    "ModelSpec",
    "ResolvedModel",
    "TwinError",
    "UnknownModelError",
    "default_cache_dir",
    "get_spec",
    "sha256_file",
]
