"""`twin memory recall --batch`: many questions, each a JSON line {"query", "speaker"?, "time"?},
answered with ranked item ids. Shared by the CLI and `twin bench memory --real`, so the bench asks
exactly as a user's batch does. A bad line is that line's error, never the whole batch's."""

from __future__ import annotations

import json
from typing import Any

from .items import MemoryInputError, check_time
from .timestamps import parse_timestamp

MODES = ("hybrid", "dense", "bm25")


def parse_lines(text: str) -> tuple[list[tuple[int, object]], list[tuple[int, str]]]:
    """(line number, parsed JSON) for each non-empty line, and (line number, error) for each that is
    not JSON."""
    queries: list[tuple[int, object]] = []
    errors: list[tuple[int, str]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                queries.append((n, json.loads(line)))
            except ValueError:
                errors.append((n, "not valid JSON"))
    return queries, errors


def batch_query(q: object, default_speaker: str) -> tuple[str, str, float | None]:
    """One batch line's query, speaker and time, each checked: a bad one skips that line only."""
    if not isinstance(q, dict) or not isinstance(q.get("query"), str):
        raise MemoryInputError("each line needs a 'query' string", '{"query": "where do I live?"}')
    speaker = q.get("speaker") or default_speaker
    if not isinstance(speaker, str):
        raise MemoryInputError("'speaker' must be a name", '{"speaker": "anna"}')
    when = q.get("time")
    if when is None:
        now = None
    elif isinstance(when, str):
        now = parse_timestamp(when)
    else:
        now = check_time(when)
    return q["query"], speaker, now


def recall_batch(
    mem: Any,
    queries: list[tuple[int, object]],
    default_speaker: str,
    k: int = 10,
    mode: str = "hybrid",
    strict: bool = False,
) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """The results ({"query", "ids", "scores"}) in order, and (line, error) for each line skipped
    (`strict`: the first bad line raises instead). `mode` "dense" or "bm25" asks the plain
    baselines (no time-aware filtering, no fusion)."""
    if mode not in MODES:
        raise MemoryInputError(f"unknown recall mode '{mode}'", "use one of: " + ", ".join(MODES))
    results: list[dict[str, Any]] = []
    skipped: list[tuple[int, str]] = []
    for n, q in queries:
        try:
            query, speaker, now = batch_query(q, default_speaker)
            hits = mem.search(query, speaker, k=k, now=now, mode=mode, time_aware=mode == "hybrid")
        except MemoryInputError as exc:
            if strict:
                raise
            skipped.append((n, exc.message))
            continue
        results.append(
            {"query": query, "ids": [h.item.id for h in hits], "scores": [round(h.score, 5) for h in hits]}
        )
    return results, skipped
