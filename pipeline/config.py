"""One typed configuration: defaults < config file (TOML) < environment (TWIN_*) < CLI flags.

Unknown keys are errors that name the key and the closest valid one, so a typo never silently
falls back to a default.
"""

from __future__ import annotations

import difflib
import os
import stat
import tomllib
import unicodedata
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from devices.profiles import PROFILES, DeviceProfile
from models.errors import BadInputError, TwinError

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
    # The user's words (`twin vocabulary`, contacts, people, lists, memory) bias recognition.
    vocabulary: bool = True
    # A second, larger model re-hears short commands the first was unsure of ("whisper-base"; README).
    second_pass: str | None = None
    # A short request about a tool whose words settle no call is heard again against respellings of
    # one word that a tool's reader takes ("Resin the timer" -> "Resume the timer"; README).
    respell_commands: bool = True

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
    # Which rule names a voice (README, "Who is speaking"): "strict" (both rules below must accept:
    # the default since 2026-12-02), "clean" (raw cosine, thresholds from clean enrolment: abstains
    # in noise and reverb) or "normalised" (cohort-normalised, calibrated on degraded enrolment:
    # names far more in noise and reverb, but named real strangers: 6 and 23 of 360 clips in
    # `twin bench identity --data RAVDESS`, and a fixture voice when only one other was enrolled).
    # Permissions always use the strict check.
    naming: Literal["strict", "clean", "normalised"] = "strict"
    # Learn from turns: a named speaker's turn that passes the strict check (and enough clean speech,
    # one voice, nearer this person than anyone else or Twin, never during Twin's playback) joins
    # their profile, at most 6 turns kept (voice/speakers/adaptation.py).
    adapt: bool = True

    def ecapa_path(self, data_dir: Path) -> Path:
        """Where the ECAPA files are looked for: `ecapa_dir`, else DATA_DIR/models/spkrec-ecapa-voxceleb."""
        if self.ecapa_dir is not None:
            return self.ecapa_dir.expanduser()
        return Path(data_dir) / "models" / "spkrec-ecapa-voxceleb"


class AudioConfig(_Strict):
    input_device: str | int | None = None
    output_device: str | int | None = None
    max_file_minutes: float = Field(30.0, gt=0)
    # a microphone that stopped delivering sound is looked for again this long before `twin live`
    # gives up with an error (devices/sources.py)
    reopen_s: float = Field(15.0, ge=1, le=600)
    # a speaker that takes no sound this long is stuck: that reply is given up, said so
    stuck_s: float = Field(3.0, ge=0.5, le=60)


class WakeConfig(_Strict):
    """Hands-free listening in `twin live` (README, "Hands-free"). `word`: a wake word model
    (okay_nabu, hey_jarvis, hey_mycroft, alexa), "name" (an utterance counts only when it starts
    with `name`, decided on its transcript), or "none" (every utterance is heard)."""

    word: str = "okay_nabu"
    name: str = "Twin"
    follow_up_s: float | None = Field(None, ge=0, le=60)  # default: the profile's
    listen_s: float = Field(6.0, gt=0, le=60)  # after a wake, how long the request may take to begin
    # The second look (voice/wake.py): a model score that rose over `look_from` but stayed under the
    # model's cutoff is confirmed when the ASR finds the wake phrase at least this likely
    # (`confirm_at`). Both chosen on `twin bench wake`'s DEV voices; false: the model's cutoff alone.
    second_look: bool = True
    look_from: float = Field(0.05, gt=0, lt=1)
    confirm_at: float = Field(0.006, gt=0, le=1)
    # Without the echo stage (half duplex, a recording), the wake word detector hears the microphone
    # through WebRTC's noise suppression all the same, as it does in full duplex (README, "Hands-free").
    suppress_noise: bool = True
    stop_words: list[str] = Field(default_factory=lambda: ["stop", "stop it", "be quiet", "quiet", "cancel"])
    # The spoken-name wake: words that do not begin with `name` are read again against their audio
    # with the name in front or in place of a word spelled like it ("When, what time is it?"), and
    # taken when the ASR finds that nearly as likely (pipeline/runtime/name_hearing.py). Off: on
    # `python -m bench.name_wake`'s DEV voices it woke 6 more of 90 requests and once for "Tim, ..."
    hear_name_again: bool = False
    # The spoken-name wake: while it listens the name leads Whisper's biasing prompt ("Twin."), so a
    # name it does not know is written as the name. Off: on `python -m bench.name_wake --prompt`'s
    # DEV voices it woke 83 of 90 requests instead of 57, but 8 of 150 sentences not for Twin too,
    # each beginning with a word that sounds like the name ("Quinn, what time is it?")
    name_in_prompt: bool = False


class EndpointingConfig(_Strict):
    """When the user's turn ends (README, "Semantic end of turn"). With `semantic`, each pause in a
    live session is judged from the words so far by the local LLM (P(end), pipeline/runtime/
    turn_end.py): at or above `p_done` the turn ends after `done_ms` of silence, below `p_hold` it
    is held open up to `hold_ms`, in between the profile's silence window applies. Words that settle
    one tool's call with no model to ask are done without the model's score; a read ("what time is
    it") or an act no usual continuation changes ("pause the timer") ends after `settled_ms`, an act
    more words may change ("set a timer for 5 minutes" … "and 30 seconds") after `done_ms`.
    Thresholds were chosen on a DEV set (bench/turn_end_cases.py); `twin bench turn_end` reports a
    separate TEST set.
    `semantic` unset: the device profile's default (`semantic_turn_end`); false turns it off."""

    semantic: bool | None = None
    done_ms: int = Field(250, ge=50, le=2000)
    # a read whose words settle it (pipeline/runtime/turn_end.py, `settled_end`): the silence that
    # ends it. 160 ms is when the endpointer notices a pause at all (`pause_ms`), so the turn ends as
    # soon as the pause's words are known to settle it. Chosen so, not tuned on a set. An act keeps
    # `done_ms`: words may still follow that change it ("at six" … "pm").
    settled_ms: int = Field(160, ge=50, le=2000)
    hold_ms: int = Field(1500, ge=100, le=5000)
    p_done: float = Field(0.0012, gt=0.0, le=1.0)
    p_hold: float = Field(0.0012, ge=0.0, le=1.0)
    # the hold of words the ASR closed with "?" (a misheard whole question scores as mid-thought);
    # at most `hold_ms`, and equal to it (off) by default: on DEV a 1 s hold sped up 1 misheard whole
    # question and cut 18 more of 111 question starts paused 1.2 s (README, "Semantic end of turn")
    question_hold_ms: int = Field(1500, ge=100, le=5000)

    @model_validator(mode="after")
    def _ordered(self) -> EndpointingConfig:
        if self.p_hold > self.p_done:
            raise ValueError("endpointing 'p_hold' must not exceed 'p_done'")
        if max(self.done_ms, self.settled_ms) > self.hold_ms:
            raise ValueError("endpointing 'done_ms' and 'settled_ms' must not exceed 'hold_ms'")
        return self

    def on_for(self, profile: DeviceProfile) -> bool:
        """Whether pauses are judged from their words on this device (`semantic`, else the profile's)."""
        return profile.semantic_turn_end if self.semantic is None else self.semantic


class PartialsConfig(_Strict):
    """Streaming partial transcripts in a live session (README, "Partial transcripts";
    pipeline/runtime/partials.py): while the user speaks, the open utterance is re-decoded by the
    ASR model on its worker every `every_ms` of new speech, one decode at a time, and once more
    after `edge_ms` of silence, so the words of a pause are known before the pause is. Those words
    feed the end-of-turn verdict, and with `reuse` they are the turn's transcript (no second decode).
    Utterances longer than `max_s` get no more partials. On by default: measured with `twin bench
    partials` (README, "Partial transcripts"), twice the end-of-turn verdicts in time and ~65 ms
    less silence waited. It needs the tool router's embedding off the event loop (tool_desk.py's
    meaning worker): a speculative turn reaches it inside the endpointer's window. With `prefill`
    each partial's words are also read into the model's prompt cache before the turn asks for its
    reply (pipeline/runtime/prefill.py); with `score_mid_speech` they are scored for P(end) as they
    come, so a pause's verdict is ready sooner (pipeline/runtime/turn_end.py)."""

    enabled: bool = True
    every_ms: int = Field(600, ge=100, le=5000)
    edge_ms: int = Field(32, ge=32, le=1000)
    max_s: float = Field(12.0, gt=0.5, le=13.0)
    reuse: bool = True
    prefill: bool = True
    # each partial's words scored for the end-of-turn verdict as they come, mid-speech too (false:
    # only a pause's): measured with `twin bench partials --variants on,pause_score_only`
    score_mid_speech: bool = True


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
    # in a live session, a tool call still running after this goes on in the background: Twin says
    # it is on it, and says the result when it arrives ("never mind the report" stops waiting)
    patience_s: float = Field(2.5, gt=0, le=60)
    mcp: dict[str, McpServerConfig] = Field(default_factory=dict)
    outbox: OutboxConfig = Field(default_factory=OutboxConfig)


Policy = Literal["never", "ask", "allow"]
# What a remote request may carry: the user's words and the session's dialogue, memories recalled
# for the turn (never one marked private), and tool results the planner gathered.
ROUTING_CATEGORIES = ("conversation", "memories", "tool_results")


class RemoteConfig(_Strict):
    """A bigger model on an OpenAI-compatible server (llama.cpp server, vLLM, a hosted API). Off by
    default; even when on, nothing leaves unless [routing] allows it (README, "A bigger model")."""

    enabled: bool = False
    url: str = ""  # the API base, e.g. http://127.0.0.1:8080/v1
    model: str = ""  # the name the server knows its model by
    api_key_env: str = "TWIN_REMOTE_API_KEY"  # the variable's name, never the key itself
    connect_timeout_s: float = Field(2.0, gt=0, le=30)
    first_token_timeout_s: float = Field(10.0, gt=0, le=120)  # none by then: the local model answers
    stall_timeout_s: float = Field(5.0, gt=0, le=60)  # silence between two pieces of the stream
    max_reply_s: float = Field(30.0, gt=0, le=300)  # an endless stream is cut here at the latest
    bridge_after_ms: int = Field(900, ge=0, le=10000)  # a later first token: a short spoken bridge
    bridge_text: str = "Let me think about that."
    probe_timeout_s: float = Field(0.8, gt=0, le=10)  # the health probe (GET /models)
    probe_ttl_s: float = Field(30.0, ge=0, le=3600)  # how long a probe's verdict is trusted
    temperature: float = Field(0.6, ge=0.0, le=2.0)
    pseudonymise: bool = True  # names of people and places become placeholders on the way out

    @model_validator(mode="after")
    def _enabled_needs_server(self) -> RemoteConfig:
        if self.enabled and not (self.url and self.model):
            raise ValueError("remote 'enabled' needs 'url' and 'model'")
        return self


class RoutingConfig(_Strict):
    """Per turn, local or remote. `policy` is the default for every category of what would leave;
    `categories` sets one apart (conversation, memories, tool_results). Private memories never leave."""

    policy: Policy = "never"
    categories: dict[str, Policy] = Field(default_factory=dict)
    min_complexity: int = Field(2, ge=1, le=10)  # a request scoring less stays local
    ask_timeout_s: float = Field(8.0, gt=0, le=60)

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if name not in ROUTING_CATEGORIES:
                close = difflib.get_close_matches(name, ROUTING_CATEGORIES, n=1)
                hint = f"did you mean '{close[0]}'?" if close else "known: " + ", ".join(ROUTING_CATEGORIES)
                raise ValueError(f"unknown routing category '{name}' ({hint})")
        return value

    def policy_for(self, category: str) -> str:
        return self.categories.get(category, self.policy)


class TwinConfig(_Strict):
    profile: Literal["speaker", "glasses", "car", "companion"] = "speaker"
    persona: str = "twin"
    # Speaking over Twin interrupts it (full duplex, through the echo canceller: README, "Echo
    # cancellation and full duplex"). None: the profile's default (on for the speaker); false: Twin
    # listens only while it is not speaking (half duplex).
    barge_in: bool | None = None
    data_dir: Path | None = None
    trace_turns: int = Field(20, ge=1, le=1000)
    # glibc malloc arenas for the process (0: glibc's own default, 8 per core). Twin's ~20 threads
    # each take an arena of their own by default, and memory one frees is held there for that thread
    # alone (`twin bench footprint`, README "Memory footprint"). An explicit MALLOC_ARENA_MAX wins.
    malloc_arenas: int = Field(2, ge=0, le=64)
    # numpy's BLAS (OpenBLAS) threads: theirs spin after each call, and on 2 cores the recogniser's
    # encoder ran beside them ~50% slower (pipeline/runtime/workers.py). 0: the library's default;
    # an explicit OPENBLAS_NUM_THREADS wins.
    blas_threads: int = Field(1, ge=0, le=64)
    # glibc's free memory (and the voice's arena) given back once the process goes quiet after model
    # work (pipeline/runtime/idle_trim.py; README "Memory footprint"). Off by default: in a live
    # session it trims between partial decodes, and each decode then faults its buffers in again
    # (`twin bench partials`: decodes 100 -> 117 ms median, verdicts 96 -> 160 ms after the pause)
    malloc_trim_idle: bool = False
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    llm: LlmConfig = Field(default_factory=LlmConfig)
    asr: AsrConfig = Field(default_factory=AsrConfig)
    tts: TtsConfig = Field(default_factory=TtsConfig)
    audio: AudioConfig = Field(default_factory=AudioConfig)
    wake: WakeConfig = Field(default_factory=WakeConfig)
    endpointing: EndpointingConfig = Field(default_factory=EndpointingConfig)
    partials: PartialsConfig = Field(default_factory=PartialsConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    tools: ToolsConfig = Field(default_factory=ToolsConfig)
    identity: VoiceIdConfig = Field(default_factory=VoiceIdConfig)
    remote: RemoteConfig = Field(default_factory=RemoteConfig)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)

    @property
    def device_profile(self) -> DeviceProfile:
        return PROFILES[self.profile]

    @property
    def data_path(self) -> Path:
        assert self.data_dir is not None, "load_config() always sets data_dir"
        return self.data_dir


# The longest text one turn takes: about 250 tokens, which leaves the 2048-token context of the
# planner and the reply model room for their prompts, recalled memory and history. A spoken turn is
# far shorter (30 s of speech is about 450 characters).
MAX_TURN_CHARS = 1000


class TextTooLongError(BadInputError):
    code = "text_too_long"


def check_turn_text(text: str) -> str:
    """The text of one turn, stripped, or a typed error before any work: over MAX_TURN_CHARS, or
    nothing a person could read (empty, only spaces or control and format characters)."""
    if len(text) > MAX_TURN_CHARS:
        raise TextTooLongError(
            f"the text is {len(text):,} characters; one turn takes at most {MAX_TURN_CHARS:,}",
            "ask a shorter question, or split it into several turns",
        )
    if not any(unicodedata.category(ch)[0] not in "CZ" for ch in text):
        raise BadInputError(
            "nothing to ask: the text is empty (only spaces or control characters)",
            'twin ask "what time is it in Tokyo?"',
        )
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cc" or ch in "\n\t").strip()


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "twin"


def ensure_data_dir(path: Path) -> Path:
    """Create the user data directory private to this user (0700), and refuse one another user owns.

    What is already inside (traces, reply audio, memory, an older install's files) is made private
    too, one level deep: group and others lose every permission bit.
    """
    path = path.expanduser()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.is_dir():
            raise DataDirError(f"data directory '{path}' is not a directory", "use another --data-dir")
        st = path.stat()
        if hasattr(os, "getuid") and st.st_uid != os.getuid():
            raise DataDirError(
                f"data directory '{path}' belongs to another user (uid {st.st_uid})",
                "use a directory you own with --data-dir or TWIN_DATA_DIR",
            )
        if stat.S_IMODE(st.st_mode) & 0o077:
            path.chmod(0o700)
        _make_private(path)
    except PermissionError:
        raise DataDirError(
            f"cannot create or secure the data directory '{path}'",
            "choose a directory you own with --data-dir or TWIN_DATA_DIR",
        ) from None
    except FileExistsError:
        raise DataDirError(f"data directory '{path}' is not a directory", "use another --data-dir") from None
    except OSError as exc:
        raise DataDirError(
            f"data directory '{path}' is unusable: {exc.strerror}", "use another --data-dir"
        ) from None
    return path


def _make_private(path: Path) -> None:
    for entry in os.scandir(path):
        if entry.is_symlink():
            continue  # a link's own mode means nothing; its target may be the user's elsewhere
        try:
            mode = stat.S_IMODE(entry.stat(follow_symlinks=False).st_mode)
            if mode & 0o077:
                os.chmod(entry.path, mode & 0o700)
        except OSError:
            continue  # a file this user cannot change is left as it is; the folder itself is 0700


# Variables that hold secrets or locate the config are never config keys: the documented SMTP password
# (and whatever variable `tools.outbox.password_env` names), and any TWIN_* name that ends like a secret.
NOT_CONFIG_VARS = frozenset({"TWIN_CONFIG", "TWIN_SMTP_PASSWORD", "TWIN_AUDIT_KEY_FILE", "TWIN_ECAPA_DIR"})
_SECRET_SUFFIXES = ("_PASSWORD", "_PASSWD", "_PASS", "_SECRET", "_TOKEN", "_API_KEY", "_APIKEY")


def _config_key(name: str) -> bool:
    """Whether TWIN_A__B names a setting of the config (TWIN_ASR__SECOND_PASS: `asr.second_pass`)."""
    model: Any = TwinConfig
    for part in name.upper().removeprefix("TWIN_").lower().split("__"):
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return False
        model = fields[part].annotation
    return True


def is_secret_variable(name: str, extra: frozenset[str] = frozenset()) -> bool:
    """True for a TWIN_* variable that carries a secret or a location, never a config key. A name
    that ends like a secret but is a setting of the config (TWIN_ASR__SECOND_PASS) is the setting."""
    upper = name.upper()
    if upper in NOT_CONFIG_VARS or name in extra:
        return True
    return upper.endswith(_SECRET_SUFFIXES) and not _config_key(name)


def _env_overrides(secret_vars: frozenset[str] = frozenset()) -> dict[str, Any]:
    """TWIN_PROFILE=car, TWIN_LLM__THREADS=2, TWIN_MODELS__DEVICE=cpu ... (double underscore nests).

    A variable that sets a whole section (TWIN_LLM=5) beside one that sets a key inside it
    (TWIN_LLM__THREADS=2) is a typed error naming both, in whichever order the environment lists them.
    """
    out: dict[str, Any] = {}
    origin: dict[tuple[str, ...], str] = {}  # the variable that set each leaf
    for key, value in sorted(os.environ.items()):
        if not key.startswith("TWIN_") or is_secret_variable(key, secret_vars):
            continue
        path = key[5:].lower().split("__")
        node = out
        for depth, part in enumerate(path[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                other = origin.get(tuple(path[: depth + 1]), "another variable")
                raise _env_clash(key, other)
            node = child
        if isinstance(node.get(path[-1]), dict):
            raise _env_clash(key, f"TWIN_{key[5:]}__…")
        node[path[-1]] = value
        origin[tuple(path)] = key
    return out


def _env_clash(key: str, other: str) -> ConfigError:
    return ConfigError(
        f"environment variables {other} and {key} both set '{key[5:].lower().split('__')[0]}': "
        "one sets the whole section, the other a key inside it",
        "unset one of them; a section's keys are set one by one, e.g. TWIN_LLM__THREADS=2",
    )


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


def _read_toml(file: Path) -> dict[str, Any]:
    if file.is_dir():
        raise ConfigError(
            f"config file {file} is a directory",
            f"pass the TOML file itself, e.g. --config {file}/config.toml",
        )
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {file} is not valid TOML: {exc}", "fix the syntax") from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {file}: {exc.strerror or exc}", "check the path and its permissions"
        ) from None


def _password_vars(data: dict[str, Any] | None = None) -> frozenset[str]:
    """The variable names a config file gives to secrets (tools.outbox.password_env)."""
    tools = (data or {}).get("tools")
    outbox = tools.get("outbox") if isinstance(tools, dict) else None
    name = outbox.get("password_env") if isinstance(outbox, dict) else None
    return frozenset({name}) if isinstance(name, str) and name else frozenset()


def load_config(
    config_file: Path | None = None,
    data_dir: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> TwinConfig:
    env = _env_overrides(_password_vars())
    chosen_dir = data_dir or (Path(env.pop("data_dir")) if "data_dir" in env else None)
    chosen_dir = (chosen_dir or default_data_dir()).expanduser()
    file = config_file or (Path(os.environ["TWIN_CONFIG"]) if os.environ.get("TWIN_CONFIG") else None)
    file = file or chosen_dir / "config.toml"
    data: dict[str, Any] = {}
    if file.exists():
        data = _read_toml(file)
        secret_vars = _password_vars(data)
        if secret_vars:  # the file may name its own password variable: that one is no config key
            env = {k: v for k, v in _env_overrides(secret_vars).items() if k != "data_dir"}
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
