"""The one OS thread that runs the local language model's computation, for the whole process.

llama.cpp's CPU backend here is built with OpenMP, and ggml waits at an OpenMP barrier after every
graph node. libgomp keeps a team of worker threads for each OS thread that has run a parallel
region, and once the process holds more OpenMP threads than there are cores it stops spinning at
those barriers and sleeps on a futex instead. A second thread that runs the model (the planner's
own thread, the end-of-turn scorer on the ASR worker, a warm-up on the main thread) is enough: on
the 2-core reference machine decoding went from 17.7 to 22.3 ms a token, in every thread, for the
rest of the process (`python -m bench.model_thread`). So every llama.cpp call, from any context on
the shared weights, runs here: `run` hops onto this thread (or calls directly when already on it),
and `executor` is the runtime's LLM worker itself (pipeline/runtime/workers.py).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_here = threading.local()


def _mark() -> None:
    _here.on = True


executor = ThreadPoolExecutor(1, thread_name_prefix="twin-llm", initializer=_mark)


def on_model_thread() -> bool:
    return bool(getattr(_here, "on", False))


def run(fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """`fn(*args, **kwargs)` on the model thread, waiting for its result (its exception raised here)."""
    if on_model_thread():
        return fn(*args, **kwargs)
    return executor.submit(fn, *args, **kwargs).result()


_END = object()


def stream(make: Callable[[], Iterator[T]], stop: threading.Event) -> Iterator[T]:
    """The items of the iterator `make()` returns, produced on the model thread and handed over as
    they come. Setting `stop` (or closing this generator) ends the production after the item in hand."""
    if on_model_thread():
        yield from make()
        return
    items: queue.SimpleQueue[object] = queue.SimpleQueue()
    closed = threading.Event()

    def produce() -> None:
        try:
            it = make()
            try:
                for item in it:
                    items.put(item)
                    if stop.is_set() or closed.is_set():
                        break
            finally:
                close = getattr(it, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            items.put(exc)
        finally:
            items.put(_END)

    executor.submit(produce)
    try:
        while (item := items.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        closed.set()
