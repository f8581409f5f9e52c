"""LLM backends behind one Protocol. The local one is llama.cpp with one long-lived model.

A stable system prompt keeps llama.cpp's KV cache warm: llama-cpp-python reuses the longest common
token prefix of consecutive prompts, so only the new turn is evaluated.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from models.errors import ModelLoadError, TwinError


class LlmError(TwinError):
    code = "llm_error"


@dataclass(frozen=True)
class LlmDescriptor:
    name: str
    local: bool
    privacy: str  # on-device | remote
    context_tokens: int
    device: str


class Llm(Protocol):
    descriptor: LlmDescriptor

    def stream(self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event) -> Iterator[str]:
        """Yield reply text pieces; return early once `stop` is set."""
        ...


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
        from llama_cpp import Llama

        layers = gpu_layers_for(device)
        try:
            self.model = Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                n_batch=256,
                n_gpu_layers=layers,
                seed=seed,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(
                f"cannot load LLM '{name}' from {model_path}: {exc}",
                "run `twin models --check`; a corrupt GGUF must be replaced",
            ) from None
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
