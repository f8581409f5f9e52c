"""The one llama.cpp adapter (the only module that imports llama_cpp): the reply model, streaming
with one long-lived context, and the planner's model, schema-constrained on a context of its own.

A stable system prompt keeps llama.cpp's KV cache warm: llama-cpp-python reuses the longest common
token prefix of consecutive prompts, so only the new turn is evaluated.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from models.errors import ModelLoadError
from pipeline.llm.base import LlmDescriptor


def gpu_layers_for(device: str) -> int:
    if device == "cpu":
        return 0
    import llama_cpp

    supported = bool(llama_cpp.llama_supports_gpu_offload())
    if device in ("cuda", "metal") and not supported:
        raise ModelLoadError(
            f"config asks for device '{device}' but this llama-cpp-python build has no GPU offload",
            'reinstall it with CMAKE_ARGS="-DGGML_CUDA=on" (or -DGGML_METAL=on), or use device auto/cpu',
        )
    return -1 if supported else 0


def open_llama(model_path: Path, name: str, n_ctx: int, n_threads: int, gpu_layers: int, seed: int) -> Any:
    """One llama.cpp context on a GGUF file; a file it cannot load is a typed, actionable error."""
    from llama_cpp import Llama

    try:
        return Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            n_batch=256,
            n_gpu_layers=gpu_layers,
            seed=seed,
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelLoadError(
            f"cannot load LLM '{name}' from {model_path}: {exc}",
            "run `twin models --check`; a corrupt GGUF must be replaced",
        ) from None


class LlamaCppLlm:
    def __init__(
        self,
        model_path: Path,
        name: str,
        n_ctx: int = 2048,
        n_threads: int = 2,
        device: str = "auto",
        temperature: float = 0.6,
        seed: int = 7,
    ) -> None:
        layers = gpu_layers_for(device)
        self.model = open_llama(model_path, name, n_ctx, n_threads, layers, seed)
        self.temperature = temperature
        self.seed = seed
        self._lock = threading.Lock()  # one generation at a time on one context
        self.descriptor = LlmDescriptor(
            name, True, "on-device", n_ctx, "gpu" if layers else f"cpu x{n_threads}"
        )

    def prefill(self, messages: list[dict[str, str]]) -> None:
        """Evaluate a prompt once so its prefix is in the KV cache before the first real turn."""
        with self._lock:
            self.model.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0)  # type: ignore[arg-type]

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event) -> Iterator[str]:
        with self._lock:
            chunks = self.model.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                stream=True,
                max_tokens=max_tokens,
                temperature=self.temperature,
                top_p=0.9,
                repeat_penalty=1.1,
                seed=self.seed,
            )
            try:
                for chunk in chunks:
                    if stop.is_set():
                        break
                    piece = chunk["choices"][0]["delta"].get("content")  # type: ignore[index]
                    if piece:
                        yield piece
            finally:
                chunks.close()  # type: ignore[union-attr]


class LlamaPlannerModel:
    """A llama.cpp model of its own (same weights as the reply model): its stable planning prompt
    stays in its KV cache instead of evicting the reply model's."""

    def __init__(self, model_path: Path, n_threads: int = 2, n_ctx: int = 2048) -> None:
        self.model = open_llama(model_path, "planner", n_ctx, n_threads, gpu_layers=0, seed=7)

        self._grammars: dict[str, Any] = {}

    def choose(
        self, messages: list[dict[str, str]], schema: dict[str, Any], stop: threading.Event | None = None
    ) -> str:
        from llama_cpp import LlamaGrammar

        text = json.dumps(schema, sort_keys=True)
        if text not in self._grammars:  # llama.cpp's JSON-schema grammar, compiled once per schema
            self._grammars[text] = LlamaGrammar.from_json_schema(text, verbose=False)
        out = self.model.create_chat_completion(
            messages=messages,  # type: ignore[arg-type]
            grammar=self._grammars[text],
            temperature=0.0,
            max_tokens=160,
            stream=True,
        )
        pieces: list[str] = []
        try:
            for chunk in out:
                if stop is not None and stop.is_set():
                    break  # the turn was cancelled: its step is never used
                pieces.append(chunk["choices"][0]["delta"].get("content") or "")  # type: ignore[index]
        finally:
            out.close()  # type: ignore[union-attr]
        return "".join(pieces)
