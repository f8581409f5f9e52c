"""`twin serve` as a separate process, the way the hub tests start it: its JSON-line log read from
stderr, restartable (a kill -9 and a new process on the same data directory), and waits that fail
with the end of the hub's log instead of hanging."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from conftest import ROOT


class HubProcess:
    def __init__(self, twin: list[str], port: int, services: int, env: dict[str, str]) -> None:
        self.command = [*twin, "serve", "--port", str(port), "--services", f"tcp://127.0.0.1:{services}"]
        self.env = env
        self.lines: list[str] = []  # the current process's stderr
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> HubProcess:
        lines: list[str] = []
        self.lines = lines  # each process's own log
        proc = subprocess.Popen(
            self.command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=self.env, cwd=ROOT, text=True
        )
        assert proc.stderr is not None
        stderr = proc.stderr
        threading.Thread(target=lambda: lines.extend(iter(stderr.readline, "")), daemon=True).start()
        self.proc = proc
        return self

    @property
    def running(self) -> subprocess.Popen[str]:
        assert self.proc is not None, "the hub was not started"
        return self.proc

    def records(self) -> list[dict]:
        out = []
        for line in list(self.lines):
            if not line.startswith("{"):
                continue  # a library's own warning on stderr
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def events(self, name: str) -> list[dict]:
        return [r for r in self.records() if r.get("event") == name]

    def tail(self) -> str:
        return "".join(self.lines)[-3000:]

    def wait(self, cond: Callable[[], object], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            assert self.running.poll() is None, f"twin serve exited: {self.tail()}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {self.tail()}"
            time.sleep(0.1)

    def kill(self) -> None:
        """kill -9: nothing flushed on the way out."""
        self.running.kill()
        self.running.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def twin_command(data: Path) -> list[str]:
    import sys

    return [sys.executable, "-m", "pipeline.cli.main", "--data-dir", str(data)]


def log_waits(log) -> tuple[Callable[..., list[dict]], Callable[..., Awaitable[None]]]:
    """For a hub run in the test's own process: `logged(event, **match)`, the log's records of that
    event whose fields match, and `await wait_for(cond, timeout, what)`, which fails with the log's
    last lines instead of hanging."""

    def logged(event: str, **match) -> list[dict]:
        return [r for r in log.lines if r["event"] == event and all(r.get(k) == v for k, v in match.items())]

    async def wait_for(cond: Callable[[], object], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            assert time.monotonic() < deadline, f"timed out waiting for {what}; log: {log.lines[-15:]}"
            await asyncio.sleep(0.05)

    return logged, wait_for


async def push_to_talk(ws: Any, pcm: bytes, got: dict[str, Any], barge: bool = False) -> None:
    """What the browser page does for one turn: the recording in its 1024-sample chunks paced like a
    microphone, then `end`; the hub's JSON messages go to `got["json"]` and its reply's samples are
    counted in `got["audio"]`, until the turn's `timings`. With `barge`, push-to-talk is pressed again
    (`start`) as soon as the hub says what it heard, while the reply is still being made."""
    step = 2 * 1024  # the page's chunks: 1024 samples, 64 ms
    for i in range(0, len(pcm), step):
        await ws.send(pcm[i : i + step])
        await asyncio.sleep(0.064)
    await ws.send(json.dumps({"type": "end"}))
    while True:
        msg = await asyncio.wait_for(ws.recv(), 120)
        if isinstance(msg, bytes):
            got["audio"] += len(msg) // 2
            continue
        m = json.loads(msg)
        got["json"].append(m)
        if m["type"] == "transcript" and barge:
            await ws.send(json.dumps({"type": "start"}))
        if m["type"] == "timings":
            return
