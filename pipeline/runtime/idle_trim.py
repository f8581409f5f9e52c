"""Memory that glibc's malloc holds free, given back to the system once the process goes quiet.

A turn's work leaves memory freed but resident: whisper's decoder frees ~36 MB of buffers after
each transcription, and glibc keeps them in its arenas (its mmap threshold rises with what was freed,
so the next decode's buffers come from the heap, where a freed block stays resident until the top of
the heap is free). Between turns that memory is counted in the process's resident set, and in its
peak when the next model's work comes on top of it. `malloc_trim(0)` returns every free page of
every arena to the system (~3-5 ms for ~40 MB).

When: only once the process has been quiet for an interval (it used under a quarter of one core,
i.e. no model was running: ASR, the model and the voice each keep a core busy), and only when model
work was done since the last trim. So it never runs beside a turn's work and never twice in a quiet
spell; the next turn's first decode faults its buffers in again (~9,000 pages, a few ms, on the
ASR worker, off the reply path while partial transcripts run). Before trimming it runs the hooks that
`Components` registers: the Piper voice's arena, which keeps every region its longest sentence needed
(~200 MB after a 30-word sentence), given back down to what a usual sentence needs
(`PiperTts.release`, on the TTS worker). One thread a process; `malloc_trim_idle = true` in the config
turns both on (`twin bench footprint --variant malloc_trim_idle=true` measures it). Off by default:
in a live session the user's speech is "quiet" between partial decodes, so it trimmed there, and
each decode faulted its buffers in again (`twin bench partials`: 100 -> 117 ms a decode, the
end-of-turn verdict 96 -> 160 ms after the pause; README "Memory footprint").
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

INTERVAL_S = 0.5  # how often the process's CPU time is read
QUIET_SHARE = 0.25  # below this share of one core over an interval, the process is quiet
WORK_CPU_S = 0.2  # CPU seconds spent since the last trim that make another one worth it


def _libc_trim() -> Callable[[], object] | None:
    """glibc's malloc_trim(0), or None on a C library without it."""
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


class IdleTrim:
    """Watches the process's CPU time; trims once work has been followed by a quiet interval.

    `step(cpu_now, dt)` is the decision, apart from the clock and the thread, so it can be tested."""

    def __init__(
        self,
        trim: Callable[[], object] | None = None,
        interval_s: float = INTERVAL_S,
        quiet_share: float = QUIET_SHARE,
        work_cpu_s: float = WORK_CPU_S,
    ) -> None:
        self._trim = trim if trim is not None else _libc_trim()
        self.interval_s = interval_s
        self.quiet_share = quiet_share
        self.work_cpu_s = work_cpu_s
        self.trims = 0
        self._hooks: list[Callable[[], object]] = []
        self._last_cpu: float | None = None
        self._cpu_at_trim = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def available(self) -> bool:
        return self._trim is not None

    def on_idle(self, hook: Callable[[], object]) -> None:
        """`hook` runs at each trim, before it (what a model's own allocator keeps, given back to
        malloc first: the Piper voice's arena, `PiperTts.release`)."""
        self._hooks.append(hook)

    def remove(self, hook: Callable[[], object]) -> None:
        if hook in self._hooks:
            self._hooks.remove(hook)

    def step(self, cpu_now: float, dt: float) -> bool:
        """One reading of the process's CPU seconds, `dt` seconds after the last: True when it trimmed."""
        last, self._last_cpu = self._last_cpu, cpu_now
        if last is None:
            return False
        quiet = (cpu_now - last) < self.quiet_share * dt
        if not quiet or self._trim is None or cpu_now - self._cpu_at_trim < self.work_cpu_s:
            return False
        for hook in list(self._hooks):
            try:
                hook()
            except Exception:  # noqa: BLE001 - housekeeping: a failed release never stops the process
                log.exception("an idle-time release failed")
        self._trim()
        self.trims += 1
        self._last_cpu = self._cpu_at_trim = time.process_time()  # the trim's own time is not work
        return True

    def start(self) -> None:
        if self._thread is None and self.available:
            self._thread = threading.Thread(target=self._run, name="twin-idle-trim", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * self.interval_s)
            self._thread = None

    def _run(self) -> None:
        t = time.monotonic()
        while not self._stop.wait(self.interval_s):
            now = time.monotonic()
            self.step(time.process_time(), now - t)
            t = now


_PROCESS: IdleTrim | None = None
_PROCESS_LOCK = threading.Lock()


def trim_when_idle(on: bool) -> IdleTrim | None:
    """The process's one `IdleTrim`, started (None when `on` is False or glibc is not there)."""
    global _PROCESS
    if not on:
        return None
    with _PROCESS_LOCK:
        if _PROCESS is None:
            trimmer = IdleTrim()
            if not trimmer.available:
                return None
            trimmer.start()
            _PROCESS = trimmer
        return _PROCESS
