"""The model reads the user's words while they are still being spoken: prompt prefill on partials.

Between turns the model's cache already holds the conversation and the first words of the next
context line (`Twin._finish` warms it). What is left for the turn is the rest of its context line,
the user's words and the reply's header (~20 tokens, ~90-180 ms on 2 cores before the first word).
Each partial transcript (pipeline/runtime/partials.py) brings the cache up to the prompt the turn
would have if those were all of its words: the context line as a turn with nothing recalled and a
neutral voice would have it (the device's own style line, "The user is driving: ...", included:
`Hearing.expected_style`), then the words, formatted without the reply's header (`Llm.warm`). When
the turn comes, llama.cpp reuses the longest common start, so only what changed since the last
partial is read (after the pause's own partial, only the reply's header).

Only for words the model itself will answer: not when a tool's words are in them (the planner runs
first, on the same model thread, and must not wait behind a prefill), nor for the user's own facts
or a live fact (those turns recall memories or answer without the model, so their prompt differs).
A turn that recalls a memory or whose voice adds to the style line ("The user sounds happy: ...")
still gets the conversation's cache: its prompt parts ways with the prefill after the time line, as
it would have without it.

One prefill in flight on the model's thread and only the newest waiting (an older partial's words
queued behind it are skipped), so a burst of partials never queues work ahead of the turn. Nothing
of it is stored: the cache is the model's working memory, replaced by the turn's own prompt.
Config `[partials] prefill` (on by default); `twin bench partials --variants on,no_prefill` measures it.
"""

from __future__ import annotations

import itertools
import logging
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from pipeline.conversation.answering import read_request

if TYPE_CHECKING:
    from pipeline.runtime.session import Twin

log = logging.getLogger(__name__)


class PromptPrefill:
    """Warms the model's cache with a partial transcript's prompt (see the module's text)."""

    def __init__(self, twin: Twin, pool: Executor, llm: Any) -> None:
        self.twin = twin
        self.pool = pool
        self.llm = llm
        self._serial = itertools.count(1)
        self._newest = 0
        self.done = 0  # prefills run (tests, benches)
        self.tokens = 0  # tokens they evaluated

    def offer(self, text: str, language: str) -> bool:
        """The words heard so far: prefill their prompt on the model's thread unless the turn will
        not be the model's own answer. True when one was queued."""
        if not text.strip() or getattr(self.llm, "warm", None) is None:
            return False
        twin = self.twin
        asked = read_request(text, twin.dialogue, bool(twin.cfg.tools.mcp))
        if asked.tools_may_know or asked.mine or asked.live:
            return False
        messages = twin.conversation.messages_for(text, language, None, twin.hearing.expected_style())
        serial = self._newest = next(self._serial)
        self.pool.submit(self._run, serial, messages)
        return True

    def _run(self, serial: int, messages: list[dict[str, str]]) -> None:
        if serial != self._newest:
            return  # newer words came while this waited: theirs is the prompt to read
        try:
            self.tokens += self.llm.warm(messages)
            self.done += 1
        except Exception as exc:  # noqa: BLE001 - a head start, never a turn's failure
            log.warning("prefilling the prompt from a partial transcript failed: %s", exc)
