"""The one llama.cpp adapter (the only module that imports llama_cpp): the reply model, streaming
with one long-lived context; the planner's model, schema-constrained on a second small context over
the SAME loaded weights (not a second load); and the end-of-turn scorer, a third small context on them.

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
from pipeline.llm import model_thread
from pipeline.llm.base import LlmDescriptor, LlmError


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
        self.tokens_evaluated = 0  # tokens this context decoded, prompts and replies (benches, tests)
        evaluate = self.model.eval

        def counted_eval(tokens: Any) -> None:
            self.tokens_evaluated += len(tokens)
            evaluate(tokens)

        self.model.eval = counted_eval  # llama-cpp-python's generate() evaluates through this
        self.temperature = temperature
        self.seed = seed
        self._lock = threading.Lock()  # one generation at a time on one context
        self._end_scorer: LlamaTurnEndScorer | None = None
        self._scorer_lock = threading.Lock()
        self._format: Any = None  # the chat template without a generation prompt (`warm`), made on first use
        self.tokens_shifted = 0  # cached tokens moved back instead of evaluated again (`warm`)
        self.descriptor = LlmDescriptor(
            name, True, "on-device", n_ctx, "gpu" if layers else f"cpu x{n_threads}"
        )

    def prefill(self, messages: list[dict[str, str]]) -> None:
        """Bring the KV cache up to the chat prefix these messages make (`warm`)."""
        self.warm(messages)

    def _prefix_tokens(self, messages: list[dict[str, str]], lead: str = "") -> list[int]:
        """The messages chat-formatted WITHOUT the assistant's generation prompt, tokenized as
        `create_chat_completion` tokenizes a prompt: the exact start of any prompt that continues
        them (the next turn's lines come after). `lead`: the start of the next system message's
        text, cut where it ends (what the next turn's context line begins with)."""
        if self._format is None:
            self._format = chat_formatter(self.model, add_generation_prompt=False, what=self.descriptor.name)
        result = self._format(messages=messages)
        prompt = result.prompt
        if lead:
            longer = self._format(messages=[*messages, {"role": "system", "content": lead}]).prompt
            cut = longer.rfind(lead)
            if cut >= len(prompt):
                prompt = longer[: cut + len(lead)]
        return self.model.tokenize(prompt.encode("utf-8"), add_bos=not result.added_special, special=True)

    def warm(self, messages: list[dict[str, str]], shift: bool = False, lead: str = "") -> int:
        """Put the chat prefix of `messages` (the system prompt and the history so far) in the KV
        cache, generating nothing, so the next turn evaluates only its own new lines. Run while
        Twin speaks or waits, not while the user waits. Returns the tokens evaluated (0: cached).

        `shift`: the caller knows these messages are the cached conversation with its OLDEST turns
        dropped (and maybe new ones added). Then the dropped span is removed from the cache and what
        follows it moved back (llama.cpp's context shift, positions re-rotated) instead of
        evaluating the rest of the history again. The moved keys and values were computed while the
        dropped turns were in view, so this is only for a conversation trimming its own past, never
        for a history replaced by another (another speaker's: its tokens must not carry this one's).
        `lead`: how the next turn's first line of context begins, cached too (`_prefix_tokens`)."""
        return model_thread.run(self._warm, messages, shift, lead)

    def _warm(self, messages: list[dict[str, str]], shift: bool, lead: str) -> int:
        toks = self._prefix_tokens(messages, lead)
        if len(toks) >= self.descriptor.context_tokens:
            return 0  # too long for the context: the turn's own call will trim or fail as before
        with self._lock:
            llama = self.model
            cached = [int(t) for t in llama.input_ids[: llama.n_tokens]]
            keep = _common_prefix(cached, toks)
            if shift:
                keep += self._shift(cached, toks, keep)
            if keep >= len(toks):
                return 0
            llama.n_tokens = keep  # eval() drops the cache beyond this and evaluates the rest
            llama.eval(toks[keep:])
            llama._requires_eval = True  # its logits are a prefix's, never a reply's
            return len(toks) - keep

    def _shift(self, cached: list[int], toks: list[int], keep: int) -> int:
        """If `toks[keep:]` continues with what the cache holds from some later position (a span of
        old turns dropped), remove that span from the cache and shift the rest back; returns how
        many tokens after `keep` are then cached (0: no such run, or this context cannot shift)."""
        want = toks[keep : keep + SHIFT_PROBE]
        if len(want) < SHIFT_PROBE or not self._can_shift():
            return 0
        for start in range(keep + 1, len(cached) - SHIFT_PROBE + 1):
            if cached[start : start + SHIFT_PROBE] != want:
                continue
            run = _common_prefix(cached[start:], toks[keep:])
            if run < SHIFT_MIN:
                return 0
            ctx = self.model._ctx
            ctx.kv_cache_seq_rm(-1, keep, start)  # the dropped turns
            ctx.kv_cache_seq_shift(0, start, start + run, keep - start)  # what follows, moved back
            ctx.kv_cache_seq_rm(-1, keep + run, -1)  # anything after the run
            self.model.input_ids[keep : keep + run] = toks[keep : keep + run]
            self.model.n_tokens = keep + run
            self.tokens_shifted += run
            return run
        return 0

    def _can_shift(self) -> bool:
        import llama_cpp

        mem = llama_cpp.llama_get_memory(self.model._ctx.ctx)
        return bool(mem is not None and llama_cpp.llama_memory_can_shift(mem))

    def end_scorer(self) -> LlamaTurnEndScorer:
        """The end-of-turn scorer on this model's weights (one per model, made on first use)."""
        with self._scorer_lock:
            if self._end_scorer is None:
                self._end_scorer = LlamaTurnEndScorer(self)
            return self._end_scorer

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event) -> Iterator[str]:
        """The reply's pieces as the model writes them (generated on the model thread)."""
        return model_thread.stream(lambda: self._stream(messages, max_tokens, stop), stop)

    def _stream(
        self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event
    ) -> Iterator[str]:
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


def side_context(
    llm: LlamaCppLlm, n_ctx: int, n_batch: int, what: str, hint: str, sequences: int = 1
) -> tuple[Any, Any]:
    """A small llama.cpp context (and its batch) of its own over `llm`'s already loaded weights: the
    planner's and the end-of-turn scorer's, so neither evicts the reply model's cached prompt.
    `sequences` > 1: that many prompts kept side by side in one unified KV buffer of `n_ctx` cells."""
    from llama_cpp import _internals
    from llama_cpp import llama_cpp as native

    llama = llm.model
    params = native.llama_context_default_params()
    params.n_ctx = n_ctx
    params.n_batch = n_batch
    params.n_ubatch = n_batch
    if sequences > 1:
        params.n_seq_max = sequences
        params.kv_unified = True  # the cells are shared: one long prompt may use most of them
    params.n_threads = llama.n_threads
    params.n_threads_batch = llama.n_threads_batch
    try:
        ctx = _internals.LlamaContext(model=llama._model, params=params, verbose=False)
        batch = _internals.LlamaBatch(n_tokens=n_batch, embd=0, n_seq_max=1, verbose=False)
    except ValueError as exc:
        raise ModelLoadError(f"cannot open {what} on '{llm.descriptor.name}': {exc}", hint) from None
    return ctx, batch


# The planner keeps this many recent prompts (one per set of candidate tools) in its context, so a
# kind of request asked again (a timer, a list) evaluates only the user's words.
PLANNER_SLOTS = 4

# Context shift (`LlamaCppLlm.warm`): the history's continuation is looked for in the cache by its
# first SHIFT_PROBE tokens, and a run of at least SHIFT_MIN is moved rather than evaluated again.
SHIFT_PROBE = 16
SHIFT_MIN = 32


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def chat_formatter(llama: Any, add_generation_prompt: bool, what: str) -> Any:
    """The GGUF's own chat template, as `create_chat_completion` formats a prompt with it."""
    from llama_cpp import llama_chat_format

    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        raise ModelLoadError(
            f"model '{what}' has no chat template in its GGUF",
            "Twin needs an instruct model with a chat template (Qwen2.5 has one)",
        )
    model = llama._model
    eos, bos = llama.token_eos(), llama.token_bos()
    return llama_chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token=model.token_get_text(eos) if eos != -1 else "",
        bos_token=model.token_get_text(bos) if bos != -1 else "",
        stop_token_ids=[eos],
        add_generation_prompt=add_generation_prompt,
    )


def reusable_prefix(cached: list[int], tokens: list[int]) -> int:
    """How many of `tokens` a small context already holds (their common prefix with `cached`), less
    the last prompt token, which is always evaluated again for its logits."""
    return min(_common_prefix(cached, tokens), len(tokens) - 1)


class LlamaPlannerModel:
    """The tool planner's model: schema-constrained, greedy generation on a small KV context of its
    own over the reply model's loaded weights (`llm.model._model`, shared, never loaded again), the
    way `LlamaTurnEndScorer` scores the end of a turn.

    Why this design (`twin bench planner_context`, bench/planner_context.py, figures in the README's
    "The planner's context"): the planner used to open the GGUF a second time (+511..580 MB RSS);
    this context costs +29 MB when built. Sharing ONE context with the reply model through
    llama-cpp-python's state cache (`Llama.set_cache(LlamaRAMCache)`) was measured too and not
    taken: every completion saves the whole state including a copy of `_scores` (n_batch x n_vocab
    floats: 256 x 151,936 x 4 B = 156 MB for Qwen2.5; 15-335 ms a save here), the cache's capacity
    counts only the llama.cpp state, not those copies (7 states held 1042 MB of them in the bench),
    and restoring a prefix copies them back (the reply's first token 404 ms vs 177 ms median). Here
    both prompts (the reply model's conversation and the planner's stable tool prompt) stay in their
    own KV caches with no copying: a reply after a planner call evaluates only its new turn.

    The prompt is the GGUF's own chat template (Jinja2ChatFormatter, formatted and tokenized as
    `create_chat_completion` does); the longest common token prefix with the previous call stays in
    the KV cache and only the rest is evaluated. One call at a time (`_lock`; the hub's
    `SharedPlanner` serializes devices too). The context is this object's alone, so a planner call
    never evicts the reply model's prompt and may run beside a reply (llama.cpp contexts over one
    model are independent)."""

    def __init__(
        self,
        llm: LlamaCppLlm,
        n_ctx: int = 2048,
        n_batch: int = 256,
        max_tokens: int = 160,
        slots: int = PLANNER_SLOTS,
    ) -> None:
        from llama_cpp import _internals
        from llama_cpp import llama_cpp as native

        llama = llm.model
        self._model = llama._model
        self._n_ctx = n_ctx
        self._n_batch = n_batch
        self.max_tokens = max_tokens
        self._ctx, self._batch = side_context(
            llm,
            n_ctx,
            n_batch,
            "the planner's context",
            "free memory, or turn tools off (tools.enabled = false)",
            sequences=slots,
        )
        self._format = chat_formatter(llama, add_generation_prompt=True, what=llm.descriptor.name)
        self._vocab = self._model.vocab
        self._is_eog = native.llama_vocab_is_eog
        self._sampler_type = _internals.LlamaSampler
        self._grammars: dict[str, Any] = {}
        # The prompts whose keys and values this context holds, one per sequence (slot), and when
        # each was last used: the least recently used slot is the one overwritten or dropped.
        self._slots: list[list[int]] = [[] for _ in range(max(1, slots))]
        self._used = [0] * len(self._slots)
        self._stable: dict[str, int] = {}  # tool prompt -> its length in tokens (`_stable_tokens`)
        self._clock = 0
        self._lock = threading.Lock()
        self.tokens_evaluated = 0  # all tokens decoded on this context (prompt and generated)
        self.last_prompt_tokens = 0  # the last call's prompt length ...
        self.last_prompt_evaluated = 0  # ... and how much of it was not already cached

    def _grammar(self, schema: dict[str, Any]) -> Any:
        from llama_cpp import LlamaGrammar

        text = json.dumps(schema, sort_keys=True)
        if text not in self._grammars:  # llama.cpp's JSON-schema grammar, compiled once per schema
            self._grammars[text] = LlamaGrammar.from_json_schema(text, verbose=False)
        return self._grammars[text]

    def _stable_tokens(self, system: dict[str, str]) -> int:
        """How many tokens the system message (the offered tools) takes at the prompt's start, less
        its end marks: tokenized once per tool prompt, not on every call."""
        text = system["content"]
        if text not in self._stable:
            self._stable[text] = len(self.prompt_tokens([system])) - 2
        return self._stable[text]

    def prompt_tokens(self, messages: list[dict[str, str]]) -> list[int]:
        """The chat-formatted prompt, tokenized as `create_chat_completion` tokenizes it."""
        result = self._format(messages=messages)
        return self._model.tokenize(
            result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
        )

    def _decode(self, tokens: list[int], slot: int) -> None:
        cached = self._slots[slot]
        b = self._batch.batch
        for i in range(0, len(tokens), self._n_batch):
            chunk = tokens[i : i + self._n_batch]
            b.n_tokens = len(chunk)
            for j, tok in enumerate(chunk):
                b.token[j], b.pos[j], b.n_seq_id[j], b.logits[j] = tok, len(cached) + j, 1, False
                b.seq_id[j][0] = slot
            b.logits[len(chunk) - 1] = True
            self._ctx.decode(self._batch)
            cached += chunk
            self.tokens_evaluated += len(chunk)

    def _slot_for(self, toks: list[int], stable: int) -> tuple[int, int]:
        """The slot to run this prompt in and how many of its tokens that slot then holds. A slot
        holding this prompt's first `stable` tokens (its system message: the offered tools) is
        reused; otherwise the least recently used slot is overwritten, starting from the longest
        prefix another slot holds (copied in the cache, not evaluated)."""
        n = len(self._slots)
        keeps = [reusable_prefix(self._slots[i], toks) for i in range(n)]
        best = max(range(n), key=lambda i: (keeps[i], self._used[i]))
        slot = best
        if keeps[best] < stable:
            slot = min(range(n), key=lambda i: (self._used[i], -keeps[i]))
            if slot != best and keeps[best] > keeps[slot]:
                self._ctx.kv_cache_seq_rm(slot, 0, -1)
                self._ctx.kv_cache_seq_cp(best, slot, 0, keeps[best])
                self._slots[slot] = self._slots[best][: keeps[best]]
                keeps[slot] = keeps[best]
        keep = keeps[slot]
        self._ctx.kv_cache_seq_rm(slot, keep, -1)
        del self._slots[slot][keep:]
        # room for this prompt and its answer: the least recently used other slots give way
        for other in sorted((i for i in range(n) if i != slot), key=self._used.__getitem__):
            if self._cells() + len(toks) - keep + self.max_tokens <= self._n_ctx:
                break
            self._ctx.kv_cache_seq_rm(other, 0, -1)
            self._slots[other] = []
        return slot, keep

    def _cells(self) -> int:
        """Cells in use (a prefix copied between slots is counted twice: an upper bound)."""
        return sum(len(c) for c in self._slots)

    def choose(
        self, messages: list[dict[str, str]], schema: dict[str, Any], stop: threading.Event | None = None
    ) -> str:
        return model_thread.run(self._choose, messages, schema, stop)

    def _choose(
        self, messages: list[dict[str, str]], schema: dict[str, Any], stop: threading.Event | None
    ) -> str:
        grammar = self._grammar(schema)
        toks = self.prompt_tokens(messages)
        if len(toks) + self.max_tokens > self._n_ctx:
            raise LlmError(
                f"the planner's prompt has {len(toks)} tokens; its context holds {self._n_ctx}",
                "offer fewer tools at once (fewer MCP servers), or say the request more briefly",
            )
        sampler = self._sampler_type()
        sampler.add_grammar(self._model, grammar)  # only what the step schema allows ...
        sampler.add_greedy()  # ... and of that the most likely: temperature 0, as before
        out: list[int] = []
        with self._lock:
            try:
                stable = self._stable_tokens(messages[0])
                slot, keep = self._slot_for(toks, stable)
                self._clock += 1
                self._used[slot] = self._clock
                self.last_prompt_tokens, self.last_prompt_evaluated = len(toks), len(toks) - keep
                self._decode(toks[keep:], slot)
                while len(out) < self.max_tokens and not (stop is not None and stop.is_set()):
                    tok = sampler.sample(self._ctx, -1)  # also advances the grammar
                    if self._is_eog(self._vocab, tok):
                        break
                    out.append(tok)
                    self._decode([tok], slot)
            except RuntimeError as exc:  # a failed decode: start the next call from an empty cache
                self._slots = [[] for _ in self._slots]
                self._ctx.kv_cache_seq_rm(-1, 0, -1)
                raise LlmError(f"the planner's model failed: {exc}", "run `twin models --check`") from None
            finally:
                sampler.close()
        return self._model.detokenize(out, special=False).decode("utf-8", errors="ignore")


class LlamaChatPlanner:
    """The planner as it was before `LlamaPlannerModel`: `create_chat_completion` with a JSON-schema
    grammar on a whole `Llama`. Kept only so `twin bench planner_context` can measure the designs
    that were not chosen side by side with the one that was: `own_weights_planner` (a second load
    of the GGUF, the old default) and `state_cache_planner` (the reply model's own context and lock,
    with llama-cpp-python's state cache restoring each prompt's prefix)."""

    def __init__(self, llm: LlamaCppLlm, lock: threading.Lock) -> None:
        self.llm = llm
        self._lock = lock
        self._grammars: dict[str, Any] = {}

    @property
    def tokens_evaluated(self) -> int:
        return self.llm.tokens_evaluated

    def choose(
        self, messages: list[dict[str, str]], schema: dict[str, Any], stop: threading.Event | None = None
    ) -> str:
        return model_thread.run(self._choose, messages, schema, stop)

    def _choose(
        self, messages: list[dict[str, str]], schema: dict[str, Any], stop: threading.Event | None
    ) -> str:
        from llama_cpp import LlamaGrammar

        text = json.dumps(schema, sort_keys=True)
        if text not in self._grammars:
            self._grammars[text] = LlamaGrammar.from_json_schema(text, verbose=False)
        with self._lock:
            out = self.llm.model.create_chat_completion(
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
                        break
                    pieces.append(chunk["choices"][0]["delta"].get("content") or "")  # type: ignore[index]
            finally:
                out.close()  # type: ignore[union-attr]
        return "".join(pieces)


def own_weights_planner(model_path: Path, name: str, n_threads: int = 2) -> LlamaChatPlanner:
    """Before: the planner on a second load of the GGUF, a whole `Llama` of its own (n_ctx 2048)."""
    llm = LlamaCppLlm(model_path, name, 2048, n_threads, "cpu")
    return LlamaChatPlanner(llm, threading.Lock())


def state_cache_planner(llm: LlamaCppLlm, capacity_bytes: int) -> LlamaChatPlanner:
    """Design (a), measured and not chosen: the reply model's context and `_lock`, with
    llama-cpp-python's RAM state cache (it restores the longest cached prefix's saved state)."""
    from llama_cpp import LlamaRAMCache

    llm.model.set_cache(LlamaRAMCache(capacity_bytes=capacity_bytes))
    return LlamaChatPlanner(llm, llm._lock)


def state_cache_stats(llm: LlamaCppLlm) -> dict[str, float]:
    """What design (a)'s cache holds (its capacity counts only the llama.cpp state, not the copied
    `_scores`), and what one `save_state` (done after every completion) costs."""
    import time

    cache = llm.model.cache
    states = list(cache.cache_state.values()) if cache is not None else []
    with llm._lock:
        t0 = time.perf_counter()
        state = llm.model.save_state()
        save_ms = (time.perf_counter() - t0) * 1000
    return {
        "entries": len(states),
        "state_bytes": sum(s.llama_state_size for s in states),
        "scores_bytes": sum(s.scores.nbytes for s in states),
        "save_state_ms": save_ms,
        "save_state_scores_bytes": state.scores.nbytes,
    }


def drop_state_cache(llm: LlamaCppLlm) -> None:
    llm.model.set_cache(None)


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
        llama = llm.model
        self._n_ctx = n_ctx
        self._model = llama._model
        self._ctx, self._batch = side_context(
            llm,
            n_ctx,
            n_ctx,
            "a turn-end context",
            "turn the semantic end of turn off (endpointing.semantic = false) or free memory",
        )
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
        return model_thread.run(self._end_logprob, prompt)

    def _end_logprob(self, prompt: str) -> float:
        import numpy as np

        toks = self.tokens(prompt)[-(self._n_ctx - 1) :]
        with self._lock:
            keep = reusable_prefix(self._cached, toks)
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
