"""Every llama.cpp computation runs on one OS thread (pipeline/llm/model_thread.py): a second
thread that runs the model makes libgomp sleep at ggml's barriers for the rest of the process
(`python -m bench.model_thread`)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipeline.llm import model_thread
from pipeline.runtime.turn_end import lm_turn_end


def test_run_hops_onto_the_model_thread_and_back():
    assert not model_thread.on_model_thread()
    assert model_thread.run(threading.current_thread) is not threading.current_thread()
    assert model_thread.run(model_thread.on_model_thread) is True
    # already there: called directly (a nested hop would wait on itself)
    assert model_thread.run(lambda: model_thread.run(model_thread.on_model_thread)) is True
    with pytest.raises(ZeroDivisionError):
        model_thread.run(lambda: 1 / 0)


def test_stream_hands_over_items_errors_and_stops():
    stop = threading.Event()

    def numbers():
        for i in range(5):
            yield (i, model_thread.on_model_thread())

    assert list(model_thread.stream(numbers, stop)) == [(i, True) for i in range(5)]

    produced: list[int] = []

    def endless():
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    got = []
    for i in model_thread.stream(endless, stop):
        got.append(i)
        if i == 2:
            stop.set()
    # queued behind the producer on the one thread: it returns only once the producer has stopped
    # (an endless producer that ignored `stop` would hang here)
    model_thread.run(lambda: None)
    count = len(produced)
    model_thread.run(lambda: None)
    assert got[:3] == [0, 1, 2] and len(produced) == count

    def broken():
        yield 1
        raise ValueError("bad piece")

    with pytest.raises(ValueError, match="bad piece"):
        list(model_thread.stream(broken, threading.Event()))


def _record_decodes(components, where: list[str]):
    """Wrap the native decode of the reply context, the planner's and the scorer's."""
    llm = components.llm
    undo = []

    def wrap(obj, name):
        original = getattr(obj, name)

        def recorded(*a, **k):
            where.append(threading.current_thread().name)
            return original(*a, **k)

        setattr(obj, name, recorded)
        undo.append(lambda: setattr(obj, name, original))

    wrap(llm.model, "eval")
    wrap(components.planner_model._ctx, "decode")
    wrap(llm.end_scorer()._ctx, "decode")
    return undo


def test_every_context_on_the_shared_weights_computes_on_the_model_thread(components):
    where: list[str] = []
    undo = _record_decodes(components, where)
    try:
        msgs = [{"role": "system", "content": "You are Twin."}, {"role": "user", "content": "Hello there."}]
        components.llm.warm(msgs)  # from the test's own (main) thread
        with ThreadPoolExecutor(1, thread_name_prefix="somebody-else") as other:
            # the planner from its own worker, the scorer from another
            schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
            other.submit(components.planner_model.choose, msgs, schema).result(timeout=120)
            other.submit(lm_turn_end(components.llm).p_end, "set a timer for ten minutes").result(timeout=60)
            pieces = other.submit(lambda: list(components.llm.stream(msgs, 4, threading.Event()))).result(
                timeout=60
            )
    finally:
        for u in undo:
            u()
    assert pieces, "the reply model streamed nothing"
    assert len(where) >= 4  # warm, planner, scorer, stream all decoded something
    assert set(where) == {"twin-llm_0"}, where
