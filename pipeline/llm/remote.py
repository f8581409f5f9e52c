"""The one remote-model adapter (the only module that imports `openai`): a bigger model on any
OpenAI-compatible server (llama.cpp's server, vLLM, a hosted API), behind the same `Llm` Protocol as
the local model, so its streamed reply goes into the same sentence -> TTS path.

The stream is read on a thread of its own and handed over through a queue, so the reader of
`stream()` keeps its own clocks: a first piece later than `first_token_timeout_s`, a gap longer than
`stall_timeout_s` or a reply longer than `max_reply_s` or `max_tokens` pieces (a server that ignores
max_tokens, an endless stream) end it. Every failure is a typed `RemoteError` naming what happened.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from pipeline.config import RemoteConfig
from pipeline.llm.base import LlmDescriptor, LlmError


class RemoteError(LlmError):
    code = "remote_error"


class RemoteUnavailableError(RemoteError):
    """Nothing answers at the URL (refused, unknown host, no route, connect timeout)."""

    code = "remote_unavailable"


class RemoteTimeoutError(RemoteError):
    """The server took too long: to its first piece, between two pieces, or for the whole reply."""

    code = "remote_timeout"


class RemoteServerError(RemoteError):
    """The server answered with an HTTP error status."""

    code = "remote_server_error"

    def __init__(self, message: str, hint: str = "", status: int = 0) -> None:
        super().__init__(message, hint)
        self.status = status


class RemoteProtocolError(RemoteError):
    """The server's answer is not an OpenAI-compatible stream (invalid JSON, wrong shape, empty)."""

    code = "remote_bad_response"


class RemoteCutError(RemoteError):
    """The stream did not end within the reply's bounds; what came before is kept."""

    code = "remote_cut"


@dataclass(frozen=True)
class Probe:
    """One health probe: reachable and offering the configured model, and how long it took."""

    ok: bool
    latency_ms: float | None
    detail: str
    at: float


# A sentinel the timed stream yields once when the first piece is later than the bridge delay.
LATE = object()

_HINT = "check [remote] url in your config and that the server runs; Twin answers locally meanwhile"


def _typed(exc: BaseException, url: str) -> RemoteError:
    """The openai client's exception (or a decoding failure) as one of Twin's typed errors."""
    import openai

    if isinstance(exc, RemoteError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return RemoteTimeoutError(f"the remote model at {url} timed out", _HINT)
    if isinstance(exc, openai.APIConnectionError):
        return RemoteUnavailableError(
            f"cannot reach the remote model at {url}: {exc.__cause__ or exc}", _HINT
        )
    if isinstance(exc, openai.APIStatusError):
        body = str(getattr(exc, "body", "") or exc.message)[:200]
        return RemoteServerError(
            f"the remote model at {url} answered HTTP {exc.status_code}: {body}",
            "see the server's log; check [remote] model and api_key_env",
            exc.status_code,
        )
    if isinstance(exc, json.JSONDecodeError | openai.APIResponseValidationError | ValueError):
        return RemoteProtocolError(
            f"the remote model at {url} sent something that is not valid JSON: {exc}",
            "is [remote] url an OpenAI-compatible API base (ending in /v1)?",
        )
    if isinstance(exc, AttributeError | TypeError | KeyError | IndexError):
        return RemoteProtocolError(
            f"the remote model at {url} sent a reply of an unexpected shape: {exc}",
            "is [remote] url an OpenAI-compatible API base (ending in /v1)?",
        )
    return RemoteError(f"the remote model at {url} failed: {exc}", _HINT)


class RemoteLlm:
    """A chat model on an OpenAI-compatible server. The key comes from the variable `api_key_env`
    names (a local server without a key accepts any)."""

    def __init__(self, cfg: RemoteConfig, seed: int = 7) -> None:
        import openai

        self.cfg = cfg
        self.seed = seed
        self.url = cfg.url.rstrip("/")
        key = os.environ.get(cfg.api_key_env) or "no-key"
        timeout = openai.Timeout(
            connect=cfg.connect_timeout_s,
            read=max(cfg.first_token_timeout_s, cfg.stall_timeout_s) + 1.0,
            write=cfg.connect_timeout_s,
            pool=cfg.connect_timeout_s,
        )
        self.client = openai.OpenAI(base_url=self.url, api_key=key, max_retries=0, timeout=timeout)
        host = urlparse(self.url).netloc or self.url
        self.descriptor = LlmDescriptor(cfg.model, False, "remote", 0, host)

    # -- the Llm Protocol ------------------------------------------------------------------------
    def prefill(self, messages: list[dict[str, str]]) -> None:
        """Nothing to warm on this side: the server keeps its own cache."""

    def stream(self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event) -> Iterator[str]:
        for piece in self.timed_stream(messages, max_tokens, stop, bridge_after_s=None):
            if isinstance(piece, str):
                yield piece

    # -- health ----------------------------------------------------------------------------------
    def probe(self, timeout_s: float | None = None) -> Probe:
        """GET /models with a short timeout: reachable, and offering the configured model."""
        t0 = time.monotonic()
        try:
            client = self.client.with_options(timeout=timeout_s or self.cfg.probe_timeout_s)
            served = [m.id for m in client.models.list().data]
        except Exception as exc:  # every failure is a verdict, never an error here
            err = _typed(exc, self.url)
            return Probe(False, None, f"{err.code}: {err.message}", time.monotonic())
        ms = round((time.monotonic() - t0) * 1000, 1)
        if served and self.cfg.model not in served:
            shown = ", ".join(served[:5])
            return Probe(False, ms, f"the server offers {shown}, not '{self.cfg.model}'", time.monotonic())
        return Probe(True, ms, f"reachable in {ms:.0f} ms", time.monotonic())

    # -- the stream, on clocks of its own ------------------------------------------------------------
    def timed_stream(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        stop: threading.Event,
        bridge_after_s: float | None,
    ) -> Iterator[Any]:
        """Text pieces, and `LATE` once if no piece came within `bridge_after_s`. Raises a
        `RemoteError` on any failure; `RemoteCutError` when the reply overruns its bounds."""
        cfg = self.cfg
        q: queue.Queue[tuple[str, Any]] = queue.Queue()
        closed = threading.Event()
        holder: dict[str, Any] = {}
        start = time.monotonic()
        # when the last piece reached the queue, and how many: a consumer that was busy (speaking
        # the first sentence) is no stalled server
        arrived = {"t": start, "n": 0}

        def read() -> None:
            try:
                response = self.client.chat.completions.create(
                    model=cfg.model,
                    messages=messages,  # type: ignore[arg-type]
                    stream=True,
                    max_tokens=max_tokens,
                    temperature=cfg.temperature,
                    seed=self.seed,
                )
                holder["response"] = response
                for chunk in response:
                    if closed.is_set():
                        break
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    piece = choice.delta.content if choice.delta is not None else None
                    if piece:
                        arrived["t"], arrived["n"] = time.monotonic(), arrived["n"] + 1
                        q.put(("piece", piece))
                    if choice.finish_reason:
                        q.put(("finish", choice.finish_reason))
                q.put(("end", None))
            except BaseException as exc:  # handed to the reader as a typed error
                q.put(("error", exc))
            finally:
                _close(holder.get("response"))

        reader = threading.Thread(target=read, name="remote-llm-stream", daemon=True)
        reader.start()
        pieces = 0
        finished = False
        bridged = bridge_after_s is None
        try:
            while not stop.is_set():
                now = time.monotonic()
                if now - start > cfg.max_reply_s:
                    raise RemoteCutError(
                        f"the remote reply ran past {cfg.max_reply_s:.0f} s: cut there",
                        "the server may be overloaded or ignoring max_tokens",
                    )
                try:
                    kind, value = q.get(timeout=0.05)
                except queue.Empty:
                    got = arrived["n"]
                    limit = cfg.stall_timeout_s if got else cfg.first_token_timeout_s
                    if time.monotonic() - arrived["t"] > limit:
                        what = "between two pieces" if got else "for the first piece"
                        raise RemoteTimeoutError(
                            f"the remote model at {self.url} waited over {limit:g} s {what}", _HINT
                        ) from None
                    if not bridged and now - start >= bridge_after_s:  # type: ignore[operator]
                        bridged = True
                        yield LATE
                    continue
                if kind == "piece":
                    pieces += 1
                    bridged = True
                    yield value
                    if pieces >= max_tokens:
                        raise RemoteCutError(
                            f"the remote reply went on past {max_tokens} pieces: cut there",
                            "the server ignores max_tokens",
                        )
                elif kind == "finish":
                    finished = True
                elif kind == "error":
                    raise _typed(value, self.url)
                else:
                    if not pieces and not finished:
                        raise RemoteProtocolError(
                            f"the remote model at {self.url} ended its stream without a reply",
                            "is [remote] url an OpenAI-compatible API base (ending in /v1)?",
                        )
                    return
        finally:
            closed.set()
            _close(holder.get("response"))


def _close(response: Any) -> None:
    if response is not None:
        with contextlib.suppress(Exception):  # a dead connection fails to close in many ways
            response.close()
