"""Tools found by meaning. "Is it raining in Paris?" shares no word with "Current weather conditions
and temperature for a city", and "make it louder" none with "set the speaker volume": the word
layer (`routing.py`) misses both. Here each tool is a passage (its name, what it declares it does,
and its own example request), each request a query, both embedded by a retrieval model that ships
in a package (multilingual e5-small; ~5 ms a request on this CPU).

A request is about a tool when that tool is its nearest passage and beats the nearest of a few
passages that describe what needs no tool (small talk, a joke or story, general knowledge, the user
telling something about themselves, advice) by `MARGIN`. The margin was chosen on the development
split of `bench/understanding_cases.py` (never on the split the bench reports): see
`python -m bench understanding --calibrate`.

Safety stays deterministic: this index only adds candidates for the planner, which still runs under
its schema, the permission gate and the question rule; a third-party tool is matched on what it
declares it does (its sanitised description), never on instructions inside it.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pipeline.tools.base import Tool


class QueryPassageEncoder(Protocol):
    def queries(self, texts: list[str]) -> np.ndarray: ...

    def passages(self, texts: list[str]) -> np.ndarray: ...


# What needs no tool at all: the "none" side of the decision.
NO_TOOL = (
    "Small talk: greetings, thanks, how someone is feeling, chatting.",
    "Tell a joke, a story, a poem or something fun.",
    "A general knowledge question about facts, history, science, geography, animals or language.",
    "The user tells something about themselves, their family, their likes and their plans.",
    "Advice, opinions, explanations and ideas.",
    "How things work and why: nature, the body, the weather in general, physics, cooking.",
    "Writing: an essay, a report, a letter or a summary about a subject.",
    "What the user said earlier in this conversation, their name, where they are going.",
    "The calendar in general: how many days or weeks in a month or a year, leap years, seasons.",
    "Tips, tricks and suggestions: exercises and stretches, sleep, habits, memory, study, packing.",
    "Something that happened to the user: they lost, left, forgot, broke or found something.",
    "News, sports results, elections, who won a match, what happened in the world recently.",
)
MARGIN = 0.016
TIE = 0.01  # tools this close to the best are offered with it (the planner picks)
QUERIES_KEPT = 32  # request vectors kept, oldest dropped first


@dataclass(frozen=True)
class Match:
    tool: str
    score: float
    margin: float  # over the nearest no-tool passage


def tool_passage(tool: Tool) -> str:
    name = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", tool.name.split("__")[-1]).replace("_", " ").lower()
    text = f"{name}: {tool.description.strip().rstrip('.')}."
    if tool.example is not None:
        text += f" For example: {tool.example[0]}"
    return text


class ToolIndex:
    def __init__(self, encoder: QueryPassageEncoder, margin: float = MARGIN) -> None:
        self.encoder = encoder
        self.margin = margin
        self._lock = threading.Lock()
        self._vectors: dict[str, np.ndarray] = {}  # passage hash -> vector
        # the last requests' vectors: a turn routes its words twice (the desk, then the planner)
        self._queries: dict[str, np.ndarray] = {}
        self._none = encoder.passages(list(NO_TOOL))

    def _passages(self, tools: list[Tool]) -> np.ndarray:
        texts = [tool_passage(t) for t in tools]
        keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
        with self._lock:
            missing = [(k, t) for k, t in zip(keys, texts, strict=True) if k not in self._vectors]
            if missing:
                vecs = self.encoder.passages([t for _, t in missing])
                self._vectors.update({k: v for (k, _), v in zip(missing, vecs, strict=True)})
            return np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, 1), np.float32)

    def warm(self, tools: list[Tool]) -> None:
        """Embed these tools' passages now (Twin's own, at load: ~0.3 s), not on the first request."""
        self._passages(tools)

    def scores(self, text: str, tools: list[Tool]) -> tuple[list[Match], float]:
        """Every tool's score for `text`, best first, and the nearest no-tool passage's score."""
        if not tools or not text.strip():
            return [], 1.0
        q = self._query(text)
        none = float(np.max(self._none @ q))
        sims = self._passages(tools) @ q
        order = np.argsort(-sims)
        return [Match(tools[i].name, float(sims[i]), float(sims[i]) - none) for i in order], none

    def _query(self, text: str) -> np.ndarray:
        with self._lock:
            q = self._queries.get(text)
        if q is None:
            q = self.encoder.queries([text])[0]
            with self._lock:
                self._queries[text] = q
                while len(self._queries) > QUERIES_KEPT:
                    self._queries.pop(next(iter(self._queries)))
        return q

    def match(self, text: str, tools: list[Tool]) -> list[Match]:
        """The tools `text` is about by meaning: the best, when it beats every no-tool passage by
        the margin, and any within `TIE` of it."""
        ranked, _ = self.scores(text, tools)
        if not ranked or ranked[0].margin < self.margin:
            return []
        best = ranked[0].score
        return [m for m in ranked if best - m.score <= TIE and m.margin >= self.margin]
