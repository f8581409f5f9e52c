"""One typed configuration: defaults < config file (TOML) < environment (TWIN_*) < CLI flags.

Unknown keys are errors that name the key and the closest valid one, so a typo never silently
falls back to a default.
"""

from __future__ import annotations

import difflib
import os
import stat
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from devices.profiles import PROFILES, DeviceProfile
from models.errors import TwinError

Device = Literal["auto", "cpu", "cuda", "metal"]


class ConfigError(TwinError):
    code = "config_invalid"
    exit_code = 2


class DataDirError(TwinError):
    code = "data_dir"
    exit_code = 2


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelsConfig(_Strict):
    asr: str = "whisper-tiny.en"
    vad: str = "silero-vad-v6"
    tts: str = "piper-en_US-joe-medium"
    llm: str = "qwen2.5-0.5b-instruct-q4_k_m"
    device: Device = "auto"
    dir: Path | None = None  # the user's model folder; default: DATA_DIR/models
    paths: dict[str, str] = Field(default_factory=dict)  # model name -> explicit file/dir
    allow_download: bool = False


class LlmConfig(_Strict):
    n_ctx: int = Field(2048, ge=512, le=32768)
    threads: int = Field(2, ge=1, le=64)
    temperature: float = Field(0.6, ge=0.0, le=2.0)
    history_turns: int = Field(6, ge=0, le=50)


class AsrConfig(_Strict):
    language: str | None = "en"  # "" or None: detect (needs a multilingual model)
    beam_size: int = Field(1, ge=1, le=10)
    threads: int = Field(2, ge=1, le=64)
    vad_filter: bool = True
    # A 15 s encoder window for utterances under 13 s: ~2.3x faster ASR, same WER within a word (README).
    short_window: bool = True

    @field_validator("language", mode="before")
    @classmethod
    def _empty_means_detect(cls, value: object) -> object:
        return None if value in ("", "auto") else value


class TtsConfig(_Strict):
    threads: int = Field(2, ge=1, le=64)


class MemoryConfig(_Strict):
    enabled: bool = True
    url: str | None = None  # a Qdrant server; default: the embedded store in DATA_DIR/memory
    recall_budget_ms: int = Field(60, ge=5, le=2000)  # recall never holds a reply longer than this
    episode_days: float = Field(30.0, gt=0)  # older episodes are summarised, one summary a week
    fade_days: float = Field(90.0, gt=0)  # unused low-value items fade after this (longer if used)


class VoiceIdConfig(_Strict):
    """Speaker identification and emotion, run beside ASR on every voice turn."""

    speakers: bool = True
    emotion: bool = True
    emotion_model: Path | None = None  # a user-supplied model: .onnx (+ labels.txt) or a speechbrain dir
    # The speaker encoder: Resemblyzer (weights ship in its wheel), or speechbrain's ECAPA from the
    # files of speechbrain/spkrec-ecapa-voxceleb the user put on disk (never downloaded). Profiles
    # enrolled with one are skipped while the other is in use.
    embedder: Literal["resemblyzer", "ecapa"] = "resemblyzer"
    ecapa_dir: Path | None = None  # default: DATA_DIR/models/spkrec-ecapa-voxceleb

    def ecapa_path(self, data_dir: Path) -> Path:
        """Where the ECAPA files are looked for: `ecapa_dir`, else DATA_DIR/models/spkrec-ecapa-voxceleb."""
        if self.ecapa_dir is not None:
            return self.ecapa_dir.expanduser()
        return Path(data_dir) / "models" / "spkrec-ecapa-voxceleb"


class AudioConfig(_Strict):
    input_device: str | int | None = None
    output_device: str | int | None = None
    max_file_minutes: float = Field(30.0, gt=0)


class McpServerConfig(_Strict):
    """One MCP server the user has opted in to. Only tools named in `allow` are offered to the
    planner, and all of them carry the tier the user grants (`sensitive` when data leaves the device)."""

    command: list[str] = Field(default_factory=list)  # stdio: the command line that starts it
    url: str = ""  # streamable HTTP endpoint, instead of a command
    allow: list[str] = Field(default_factory=list)
    tier: Literal["read", "act", "sensitive"] = "sensitive"
    timeout_s: float = Field(10.0, gt=0, le=120)


class OutboxConfig(_Strict):
    """How messages leave the device. `spool` writes them to DATA_DIR/outbox for the user's own
    delivery; `smtp` sends mail through the user's server (password from the environment)."""

    kind: Literal["spool", "smtp"] = "spool"
    host: str = ""
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""
    password_env: str = "TWIN_SMTP_PASSWORD"  # the name of the variable, never the password itself
    sender: str = ""
    subject: str = "Message from Twin"
    timeout_s: float = Field(10.0, gt=0, le=60)

    @model_validator(mode="after")
    def _smtp_needs_server(self) -> OutboxConfig:
        if self.kind == "smtp" and not (self.host and self.sender):
            raise ValueError("tools.outbox kind 'smtp' needs 'host' and 'sender'")
        return self


class ToolsConfig(_Strict):
    enabled: bool = True  # the planner may use tools; false: every turn is a plain reply
    max_steps: int = Field(3, ge=1, le=8)
    time_budget_s: float = Field(8.0, gt=0, le=60)
    confirm_timeout_s: float = Field(8.0, gt=0, le=60)
    mcp: dict[str, McpServerConfig] = Field(default_factory=dict)
    outbox: OutboxConfig = Field(default_factory=OutboxConfig)


class TwinConfig(_Strict):
    profile: Literal["speaker", "glasses", "car", "companion"] = "speaker"
    persona: str = "twin"
    # Speaking over Twin interrupts it. Off by default: without echo cancellation a loudspeaker's
    # sound reaches the microphone, so Twin listens only while it is not speaking (half duplex).
    barge_in: bool = False
    data_dir: Path | None = None
    trace_turns: int = Field(20, ge=1, le=1000)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    llm: LlmConfig = Field(default_factory=LlmConfig)
    asr: AsrConfig = Field(default_factory=AsrConfig)
    tts: TtsConfig = Field(default_factory=TtsConfig)
    audio: AudioConfig = Field(default_factory=AudioConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    tools: ToolsConfig = Field(default_factory=ToolsConfig)
    identity: VoiceIdConfig = Field(default_factory=VoiceIdConfig)

    @property
    def device_profile(self) -> DeviceProfile:
        return PROFILES[self.profile]

    @property
    def data_path(self) -> Path:
        assert self.data_dir is not None, "load_config() always sets data_dir"
        return self.data_dir


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "twin"


def ensure_data_dir(path: Path) -> Path:
    """Create the user data directory private to this user (0700), and refuse a shared one."""
    path = path.expanduser()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(0o700)
    except PermissionError:
        raise DataDirError(
            f"cannot create or secure the data directory '{path}'",
            "choose a directory you own with --data-dir or TWIN_DATA_DIR",
        ) from None
    except OSError as exc:
        raise DataDirError(
            f"data directory '{path}' is unusable: {exc.strerror}", "use another --data-dir"
        ) from None
    if not path.is_dir():
        raise DataDirError(f"data directory '{path}' is not a directory", "use another --data-dir")
    return path


def _env_overrides() -> dict[str, Any]:
    """TWIN_PROFILE=car, TWIN_LLM__THREADS=2, TWIN_MODELS__DEVICE=cpu ... (double underscore nests)."""
    out: dict[str, Any] = {}
    for key, value in os.environ.items():
        if not key.startswith("TWIN_") or key in ("TWIN_CONFIG",):
            continue
        path = key[5:].lower().split("__")
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _explain(exc: ValidationError, source: str) -> ConfigError:
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"])
    if err["type"] == "extra_forbidden":
        parent: Any = TwinConfig
        for part in err["loc"][:-1]:
            field = parent.model_fields.get(str(part)) if hasattr(parent, "model_fields") else None
            parent = field.annotation if field is not None else None
        known = list(parent.model_fields) if hasattr(parent, "model_fields") else []
        close = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else "valid keys: " + ", ".join(known)
        return ConfigError(f"unknown config key '{loc}' in {source}", hint)
    return ConfigError(f"bad value for '{loc}' in {source}: {err['msg']}", "see README, Configuration")


def load_config(
    config_file: Path | None = None,
    data_dir: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> TwinConfig:
    env = _env_overrides()
    chosen_dir = data_dir or (Path(env.pop("data_dir")) if "data_dir" in env else None)
    chosen_dir = (chosen_dir or default_data_dir()).expanduser()
    file = config_file or (Path(os.environ["TWIN_CONFIG"]) if os.environ.get("TWIN_CONFIG") else None)
    file = file or chosen_dir / "config.toml"
    data: dict[str, Any] = {}
    if file.exists():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {file} is not valid TOML: {exc}", "fix the syntax") from None
        try:
            TwinConfig.model_validate(data)
        except ValidationError as exc:
            raise _explain(exc, str(file)) from None
    elif config_file is not None:
        raise ConfigError(f"config file {config_file} does not exist", "check the --config path")
    try:
        TwinConfig.model_validate(_merge(data, env))
    except ValidationError as exc:
        raise _explain(exc, "the TWIN_* environment") from None
    merged = _merge(_merge(data, env), overrides or {})
    merged["data_dir"] = str(chosen_dir)
    try:
        cfg = TwinConfig.model_validate(merged)
    except ValidationError as exc:
        raise _explain(exc, "command-line flags") from None
    if cfg.models.dir is None:
        cfg.models.dir = chosen_dir / "models"
    return cfg
