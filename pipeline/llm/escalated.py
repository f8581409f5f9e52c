"""One escalated turn as an `Llm`: the remote model answers a pseudonymised request, its reply is
restored as it streams; a late first piece brings a short spoken bridge; a dead, erroring or slow
server hands the turn to the local model with a notice; an overrunning stream is cut.

`Aside` pieces (the bridge, a notice) are sentences about the reply: the reply voice speaks them in
the reply's stream but outside its bounds, so a bridge never costs the answer a sentence.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pipeline.llm.base import Llm
from pipeline.llm.pseudonyms import Pseudonyms
from pipeline.llm.remote import LATE, RemoteCutError, RemoteError, RemoteLlm


class Aside(str):
    """A sentence about the reply, not of it: spoken in its stream, outside its bounds."""

    __slots__ = ()


FALLBACK_SAID = "My bigger model is not answering, so here is my own answer."
CUT_SAID = "That is all I can say about it for now."


@dataclass
class EscalationOutcome:
    """What happened to one escalated turn (for the router's latency figures and the trace)."""

    first_token_ms: float | None = None
    bridged: bool = False
    fell_back: bool = False
    cut: bool = False
    error: str = ""
    pieces: int = 0
    notices: list[tuple[str, str]] = field(default_factory=list)


class EscalatedLlm:
    def __init__(
        self,
        remote: RemoteLlm,
        local: Llm,
        remote_messages: list[dict[str, str]],
        pseudonyms: Pseudonyms,
        bridge_after_s: float | None,
        bridge_text: str,
        notify: Callable[[str, str], None] = lambda code, message: None,
    ) -> None:
        self.remote = remote
        self.local = local
        self.remote_messages = remote_messages
        self.pseudonyms = pseudonyms
        self.bridge_after_s = bridge_after_s
        self.bridge_text = bridge_text
        self.notify = notify
        self.descriptor = remote.descriptor
        self.outcome = EscalationOutcome()

    def prefill(self, messages: list[dict[str, str]]) -> None:
        """Nothing: the local prompt cache is the local model's own."""

    def _notice(self, code: str, message: str) -> None:
        self.outcome.notices.append((code, message))
        self.notify(code, message)

    def stream(self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event) -> Iterator[str]:
        """`messages` are the full local prompt (used only if the local model takes over); the
        remote model gets the pseudonymised `remote_messages` given at construction."""
        out = self.outcome
        restorer = self.pseudonyms.restorer()
        t0 = time.monotonic()
        spoken = False
        try:
            for piece in self.remote.timed_stream(
                self.remote_messages, max_tokens, stop, self.bridge_after_s
            ):
                if piece is LATE:
                    out.bridged = True
                    yield Aside(self.bridge_text)
                    continue
                if out.first_token_ms is None:
                    out.first_token_ms = round((time.monotonic() - t0) * 1000, 1)
                out.pieces += 1
                text = restorer.feed(piece)
                if text:
                    spoken = True
                    yield text
            tail = restorer.flush()
            if tail:
                yield tail
            return
        except RemoteCutError as exc:
            out.cut = True
            out.error = exc.code
            tail = restorer.flush()
            if tail:
                yield tail
            self._notice("remote_cut", exc.message)
            yield Aside(CUT_SAID)
            return
        except RemoteError as exc:
            out.error = exc.code
            if spoken or stop.is_set():
                # part of the answer was already said: it stands, and the user is told why it stops
                self._notice("remote_failed", f"{exc.message}; the reply stops there")
                return
            out.fell_back = True
            self._notice("remote_fallback", f"{exc.message}; the local model answers instead")
        yield Aside(FALLBACK_SAID)
        yield from self.local.stream(messages, max_tokens, stop)
