"""A second hearing of a short request about a tool whose words settle no call: Whisper wrote one
key word wrong ("Resin the timer.", "and five minutes to the timer."), and without this the request
went to the planner's model (2-5 s on this CPU), which cannot know the word either.

The respellings one word apart that a tool's reader would take (pipeline/acting/respelling.py) are
read against the same audio (`WhisperAsr.phrase_log_probs`: one encoder pass and one teacher-forced
alignment pass for all, ~0.1 s). The best is taken only when the ASR finds it nearly as likely as
what it first wrote (mean log-probability per token within `MARGIN`, and itself over `FLOOR`) and
clearly likelier than every other respelling (by `GAP`): "Reem the timer." could be "resume" or
"remove", and is left as heard. The values were chosen on a DEV set of espeak-ng voices
(`python -m bench.rehearing`), which also reports a TEST set, Twin's own voice and the real recorded
commands apart.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_S = 4.0  # longer audio is not a short command
MAX_WORDS = 10
# respellings read against the audio, the closest spellings first: each is one more encoder output
# (1.2 MB) and one more sequence in the alignment pass (the bench's clips had at most 14)
MAX_SCORED = 16
MARGIN = 0.8  # nats per token under what was first written, at most
GAP = 0.3  # over the second-best respelling, at least
# The respelling must itself be likely in the audio (nats per token, at least): words the audio does
# not say (a transcript given with the wrong audio) score far under it, and all their respellings
# too, so their differences mean nothing. DEV's re-heard respellings scored -1.7 to -0.4.
FLOOR = -2.0


@dataclass(frozen=True)
class Reheard:
    text: str  # the respelling taken
    heard: str  # what the ASR first wrote
    below: float  # its mean log-probability per token under the first writing's (negative: less likely)


class Rehearing:
    """`components`: the session's (its ASR and worker pools, read when first needed); `registry`: a
    callable giving the local tools' registry."""

    def __init__(self, components: Any, registry: Any) -> None:
        self.c = components
        self.registry = registry
        # respell with the words of the families the heard words are about only ("Remind me ...
        # outer 8pm" is not given a volume word, "Send a message ..." not "silence"); False: every
        # tool's words (the bench's comparison)
        self.same_family = True
        self._reading: Any = None

    def respellings(self, text: str) -> list[str]:
        """The respellings of `text` a tool's reader takes, when `text` is about a tool by its words
        and settles no call itself; [] otherwise. Words only (no encoder): run on the meaning worker."""
        from pipeline.acting.plain_reading import PlainReading
        from pipeline.acting.respelling import command_words, respellings
        from pipeline.acting.routing import route

        if self._reading is None:
            self._reading = PlainReading(self.registry(), None)
        reading = self._reading
        registry = reading.registry
        names = route(text, registry, None) if len(text.split()) <= MAX_WORDS else []
        if not names or reading.settles(text):
            return []
        topics = {registry.get(n).topic for n in names} if self.same_family else None
        words = command_words(registry, topics)
        # `settles`, not `kind`: whether more words could change the call is no question here
        return [r for r in respellings(text, words) if reading.settles(r)][:MAX_SCORED]

    async def better(self, samples: np.ndarray, text: str) -> Reheard | None:
        """The respelling the audio supports better than the rest, or None (keep what was heard)."""
        read = getattr(self.c.asr, "phrase_log_probs", None)  # a Whisper model's: others are not asked
        if not text or read is None or len(samples) > MAX_S * 16_000:
            return None
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(self.c.pools.meaning, self.respellings, text)
        if not found:
            return None
        scores = await loop.run_in_executor(self.c.pools.asr, read, samples, [text, *found])
        heard, rest = scores[0], sorted(zip(scores[1:], found, strict=True), key=lambda s: -s[0])
        best, text_best = rest[0]
        runner_up = rest[1][0] if len(rest) > 1 else -np.inf
        if best < FLOOR or best < heard - MARGIN or best - runner_up < GAP:
            return None
        return Reheard(text_best, text, round(best - heard, 3))
