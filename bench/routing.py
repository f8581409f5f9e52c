"""`twin bench routing`: spoken turns answered by the local model and by a remote model on a real
llama.cpp OpenAI-compatible server (`python -m llama_cpp.server`, the 1.5B Qwen from its packages) on
127.0.0.1, the same requests alternating, reported as voice-to-voice, first-token and whole-turn
p50/p95. The question is synthesized in Twin's voice and played as a recorded clip (`listen_clip`:
the endpoint placed where a live session would put it); the reply is spoken into a buffer.

The "remote" server runs on this same machine, so it competes with everything else for the CPU: the
figures show the plumbing's cost and the bigger model's speed here, not a real network or a GPU.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from devices.sinks import BufferSink
from pipeline.config import TwinConfig
from pipeline.events import SentenceReady

REMOTE_MODEL = "qwen2.5-1.5b-instruct-q4_k_m"
ALIAS = "twin-remote"


def _question_clip(comps, text: str):
    from bench.latency import _question_clip as clip

    return clip(comps, text)


REQUESTS = (
    "Write a short report on why sleep matters, step by step.",
    "Explain how a refrigerator works, step by step.",
    "Draft a short letter to a neighbour about a lost cat.",
    "Compare trains and planes for a trip of 500 kilometres.",
    "Write a short story about a lighthouse keeper.",
    "Plan a relaxed Sunday, step by step.",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """A real llama.cpp OpenAI-compatible server process on 127.0.0.1 for one model file."""

    def __init__(self, model: Path, threads: int = 2, n_ctx: int = 2048, log: Path | None = None) -> None:
        self.model = model
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log or Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--model_alias",
            ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(n_ctx),
            "--n_threads",
            str(threads),
            "--n_threads_batch",
            str(threads),
            "--seed",
            "7",
            "--use_mlock",
            "False",
        ]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - open for the life of the process
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout_s: float = 180.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"llama_cpp.server exited ({self.proc.returncode}):\n{tail}")
            try:
                with urllib.request.urlopen(f"{self.url}/v1/models", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"llama_cpp.server did not answer within {timeout_s:.0f} s")

    def kill(self) -> None:
        """As a crash would: SIGKILL, no goodbye to open connections."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()


def remote_model_path() -> Path:
    from models import ModelResolver

    return ModelResolver().resolve(REMOTE_MODEL).main_path


def _stats(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    s = sorted(values)
    p95 = s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]
    return {"n": len(s), "p50": round(statistics.median(s), 1), "p95": round(p95, 1), "max": round(s[-1], 1)}


def run_routing_bench(cfg: TwinConfig, turns: int, json_path: Path | None) -> int:
    from pipeline.config import load_config
    from pipeline.runtime.components import Components
    from pipeline.runtime.session import Twin

    server = LlamaServer(remote_model_path(), threads=cfg.llm.threads)
    try:
        server.wait_ready()
        data = Path(tempfile.mkdtemp(prefix="twin-bench-routing-"))
        base = {"memory": {"enabled": False}, "tools": {"enabled": False}}
        remote = {
            "remote": {"enabled": True, "url": f"{server.url}/v1", "model": ALIAS, "temperature": 0.0},
            "routing": {"policy": "allow"},
        }
        local_cfg = load_config(data_dir=data / "local", overrides=base)
        remote_cfg = load_config(data_dir=data / "remote", overrides=base | remote)
        for c in (local_cfg, remote_cfg):
            c.data_path.mkdir(parents=True, exist_ok=True)
        comps = Components(local_cfg)
        comps.load_all()
        shared = Components(remote_cfg)
        for part in ("vad", "asr", "tts", "llm"):
            shared.__dict__[part] = getattr(comps, part)
        keys = ("voice_to_voice", "first_token", "turn")
        rows: dict[str, dict[str, list[float]]] = {k: {m: [] for m in keys} for k in ("local", "remote")}
        clips = {text: _question_clip(comps, text) for text in REQUESTS[: min(turns, len(REQUESTS))]}
        routed = bridged = 0
        for i in range(turns):
            text = REQUESTS[i % len(REQUESTS)]
            for kind, c in (("local", comps), ("remote", shared)):
                twin = Twin(local_cfg if kind == "local" else remote_cfg, c)  # a fresh session per turn
                t0 = time.monotonic()
                result = asyncio.run(twin.listen_clip(clips[text], BufferSink()))
                total = (time.monotonic() - t0) * 1000
                t = result.timings_ms
                if kind == "remote" and twin.escalation is not None and twin.escalation.last is not None:
                    routed += int(twin.escalation.last.target == "remote")
                    said = [e.text for e in result.events if isinstance(e, SentenceReady)]
                    bridged += int(bool(said) and said[0] == remote_cfg.remote.bridge_text)
                rows[kind]["turn"].append(total)
                for key, stage in (("voice_to_voice", "voice_to_voice"), ("first_token", "llm_first_token")):
                    if t.get(stage) is not None:
                        rows[kind][key].append(float(t[stage]))
                v2v, first = t.get("voice_to_voice"), t.get("llm_first_token")
                line = f"{kind:6} v2v {v2v!s:>8} ms  first token {first!s:>8} ms  turn {total:6.0f} ms"
                print(f"{line}  {text[:36]}")
        report = {
            "bench": "routing",
            "machine": f"{platform.machine()} {os.cpu_count()} cpus (shared, under contention)",
            "remote_model": REMOTE_MODEL,
            "remote_server": "llama_cpp.server on 127.0.0.1 (same machine)",
            "turns_each": turns,
            "turns": "spoken: the question synthesized in Twin's voice, the reply spoken (BufferSink)",
            "routed_remote": routed,
            "remote_turns_bridged": bridged,
            "local": {k: _stats(v) for k, v in rows["local"].items()},
            "remote": {k: _stats(v) for k, v in rows["remote"].items()},
        }
        print()
        head = f"ms, spoken turns, n={turns}"
        print(f"{head:26}{'v2v p50':>9}{'p95':>8}{'1st tok p50':>13}{'p95':>8}{'turn p50':>10}{'p95':>8}")
        for kind in ("local", "remote"):
            r = report[kind]
            cells = [r[m].get(q, "-") for m in keys for q in ("p50", "p95")]
            widths = (9, 8, 13, 8, 10, 8)
            print(f"{kind:26}" + "".join(f"{c!s:>{w}}" for c, w in zip(cells, widths, strict=True)))
        print(f"routed to the remote model: {routed}/{turns}; the bridge said first: {bridged}")
        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(report, indent=1))
            print(f"wrote {json_path}")
        comps.close()
        return 0
    finally:
        server.stop()
