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
        self._end_scorer: LlamaTurnEndScorer | None = None
        self._scorer_lock = threading.Lock()
        self.descriptor = LlmDescriptor(
            name, True, "on-device", n_ctx, "gpu" if layers else f"cpu x{n_threads}"
        )

    def prefill(self, messages: list[dict[str, str]]) -> None:
        """Evaluate a prompt once so its prefix is in the KV cache before the first real turn."""
        with self._lock:
            self.model.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0)  # type: ignore[arg-type]

    def end_scorer(self) -> LlamaTurnEndScorer:
        """The end-of-turn scorer on this model's weights (one per model, made on first use)."""
        with self._scorer_lock:
            if self._end_scorer is None:
                self._end_scorer = LlamaTurnEndScorer(self)
            return self._end_scorer

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


class LlamaTurnEndScorer:
    """The log-probability that a user's turn has ended after the words so far: the model's
    probability of the end-of-turn token (`<|im_end|>` in ChatML) right after the user's text, as
    LiveKit's turn detector computes it. A small context of its own on the reply model's weights
    (shared, not loaded again), so scoring never evicts the reply model's cached prompt; the fixed
    prompt prefix stays in this context's cache and only the user's words are evaluated."""

    def __init__(
        self,
        llm: LlamaCppLlm,
        n_ctx: int = 256,
        end_token: str = "<|im_end|>",
        also_ends: tuple[str, ...] = (".", "?", "!"),
    ) -> None:
        from llama_cpp import _internals
        from llama_cpp import llama_cpp as native

        llama = llm.model
        self._n_ctx = n_ctx
        params = native.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = n_ctx
        params.n_ubatch = n_ctx
        params.n_threads = llama.n_threads
        params.n_threads_batch = llama.n_threads_batch
        self._model = llama._model
        try:
            self._ctx = _internals.LlamaContext(model=self._model, params=params, verbose=False)
            self._batch = _internals.LlamaBatch(n_tokens=n_ctx, embd=0, n_seq_max=1, verbose=False)
        except ValueError as exc:
            raise ModelLoadError(
                f"cannot open a turn-end context on '{llm.descriptor.name}': {exc}",
                "turn the semantic end of turn off (endpointing.semantic = false) or free memory",
            ) from None
        ends = self._model.tokenize(end_token.encode(), add_bos=False, special=True)
        if len(ends) != 1:
            raise ModelLoadError(
                f"model '{llm.descriptor.name}' has no single '{end_token}' token",
                "the semantic end of turn needs a ChatML model (Qwen2.5); turn it off for this model",
            )
        self._end = ends[0]
        # sentence-final punctuation right after the words ends the turn as surely as the end token
        # (an instruct model not tuned on unpunctuated speech puts its mass there first)
        extra = [self._model.tokenize(t.encode(), add_bos=False, special=False) for t in also_ends]
        self._ends = sorted({self._end, *(t[0] for t in extra if len(t) == 1)})
        self._n_vocab = self._model.n_vocab()
        self._cached: list[int] = []
        self._lock = threading.Lock()

    def tokens(self, text: str) -> list[int]:
        return self._model.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def end_logprob(self, prompt: str) -> float:
        """log P(the turn ends here | prompt): the end token's probability plus that of sentence-final
        punctuation, right after `prompt` (the chat text up to the user's last word)."""
        import numpy as np

        toks = self.tokens(prompt)[-(self._n_ctx - 1) :]
        with self._lock:
            keep = 0
            for a, b in zip(self._cached, toks, strict=False):
                if a != b:
                    break
                keep += 1
            keep = min(keep, len(toks) - 1)  # the last token is evaluated again for its logits
            self._ctx.kv_cache_seq_rm(-1, keep, -1)
            self._batch.set_batch(toks[keep:], n_past=keep, logits_all=False)
            try:
                self._ctx.decode(self._batch)
            except RuntimeError:
                self._cached = []
                self._ctx.kv_cache_seq_rm(-1, 0, -1)
                raise
            self._cached = toks
            logits = np.ctypeslib.as_array(self._ctx.get_logits_ith(-1), shape=(self._n_vocab,))
            top = float(logits.max())
            lse = top + float(np.log(np.exp(logits - top, dtype=np.float64).sum()))
            mass = np.exp(logits[self._ends].astype(np.float64) - top).sum()
            return top + float(np.log(mass)) - lse
