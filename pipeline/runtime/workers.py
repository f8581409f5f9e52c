"""The worker threads of one Twin process, named and sized in one place.

Blocking model calls (VAD, ASR, LLM, TTS, embeddings, classifiers) never run on the event loop. On
the 2-core reference device each stage gets one worker, so synthesis of sentence 1 overlaps
generation of sentence 2 and no stage queues behind another's work. Recall has its own worker so a
slow one never waits behind memory writes. (The tool runner keeps its own small pool, so a hung
tool holds one of its threads and never a stage's.)
"""

from __future__ import annotations

import ctypes
import os
from concurrent.futures import ThreadPoolExecutor

from pipeline.llm import model_thread

_M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def limit_malloc_arenas(arenas: int) -> bool:
    """At most `arenas` glibc malloc arenas in this process, set before the worker threads start
    (an arena is given to a thread when it first allocates under contention). By default glibc
    allows 8 per core, and every thread that takes one keeps the memory it frees there, unusable
    by the others. 0, an explicit MALLOC_ARENA_MAX in the environment (glibc read it at start), or
    a C library that is not glibc: unchanged, and False."""
    if arenas <= 0 or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


def limit_blas_threads(threads: int) -> bool:
    """At most `threads` threads for numpy's BLAS (OpenBLAS) in this process, now and in a BLAS
    library loaded later (its environment variable, unless the user set one). OpenBLAS's threads
    spin after each call, waiting for the next: on 2 cores the speech recogniser's encoder that
    follows its numpy feature extraction ran ~50% slower beside them (a 1.6 s command's decode
    173 -> 113 ms with one BLAS thread, onnxruntime's spinning off in both: `python -m
    bench.spinning`; README, "Measured figures"). 0, or an explicit OPENBLAS_NUM_THREADS in the
    environment: unchanged, and False."""
    if threads <= 0 or "OPENBLAS_NUM_THREADS" in os.environ:
        return False
    # read by a BLAS library loaded later, and by the processes Twin starts (MCP servers, exports)
    os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # declared in pyproject; without it only later-loaded libraries are limited
        return False
    threadpool_limits(limits=threads, user_api="blas")
    return True


class Workers:
    STAGES = ("vad", "asr", "llm", "tts", "memory", "identity", "recall", "meaning")

    def __init__(self) -> None:
        self.vad = ThreadPoolExecutor(1, thread_name_prefix="twin-vad")
        self.asr = ThreadPoolExecutor(1, thread_name_prefix="twin-asr")
        # the process's one thread for the local model's computation (pipeline/llm/model_thread.py)
        self.llm = model_thread.executor
        self.tts = ThreadPoolExecutor(1, thread_name_prefix="twin-tts")
        # memory writes and trace appends, in order, off the event loop
        self.memory = ThreadPoolExecutor(1, thread_name_prefix="twin-memory")
        self.identity = ThreadPoolExecutor(1, thread_name_prefix="twin-identity")
        self.recall = ThreadPoolExecutor(1, thread_name_prefix="twin-recall")
        # a request's tools found by meaning (the e5 encoder, tool_desk.py): off the event loop, which
        # an encode beside the model's decode held for up to ~140 ms (p95), and more under load
        self.meaning = ThreadPoolExecutor(1, thread_name_prefix="twin-meaning")

    def shutdown(self) -> None:
        pools = (self.vad, self.asr, self.tts, self.identity, self.recall, self.meaning)
        for pool in pools:  # llm: the process's
            pool.shutdown(wait=False, cancel_futures=True)
        self.memory.shutdown(wait=True)  # memory writes finish: nothing committed is lost
