"""`twin bench satellites --devices 1,2,4 [--via wyoming|websocket|mixed]`: N devices talking to one
hub at once, each a process speaking a real protocol: a real wyoming-satellite, or a browser-like
client of the hub's WebSocket (`ws_main`: the page's protocol, hands-free).

A Wyoming device is an unmodified `wyoming-satellite` (its own venv, `.venv-satellite`, made by
scripts/setup.sh) whose microphone is a command that plays a human recording in real time and whose
speaker is a command that writes what it receives to a file; a WebSocket device is paired with a
token and plays the same recordings at the same pace over the hub's `/ws`. The hub runs in this
process with the models loaded once. Every device asks the same questions at the same moments
(the worst case for the hub).
Per device count: voice-to-voice p50/p95 measured two ways (at the hub: the end of speech, as the
VAD places it, to the first reply audio sent; at the device: the moment the recording's last voiced
20 ms went out (`speech_end`: before whatever room tone ends the file) to the first byte at its
speaker, which includes the hop through the satellite or the WebSocket), turns
dropped (a question with no spoken answer), fairness (slowest device's median / fastest's) and the
hub's resident memory. Figures, never asserts.

The microphone and speaker helpers are this module too (stdlib only, so the satellite can run them):
    python -m bench.satellites mic --go FILE --marks FILE --wav A.wav [--wav B.wav] [--gap S]
    python -m bench.satellites snd --out FILE --marks FILE
    python -m bench.satellites ws --url WS --token T --go FILE --marks FILE --snd-marks FILE --wav A.wav
"""

from __future__ import annotations

import argparse
import array
import contextlib
import json
import math
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import wave
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RECORDINGS = ROOT.parent / "shared" / "fixtures" / "speech_to_phrase_en" / "wav"
SATELLITE_PYTHON = ROOT / ".venv-satellite" / "bin" / "python"
CHUNK = 1024  # samples per microphone chunk, the satellite's default
RATE = 16000


# -- the satellite's microphone and speaker (run by wyoming-satellite as commands) ---------------------
def _mark(path: Path, **fields: Any) -> None:
    with path.open("a") as f:
        f.write(json.dumps(fields) + "\n")
        f.flush()


def speech_end(pcm: bytes, window: int = 320, above_noise_db: float = 8.0) -> int:
    """The byte offset just after the recording's last voiced 20 ms: the last window whose RMS is
    `above_noise_db` over the file's noise floor (its quietest fifth of windows), so the end of speech
    comes before whatever room tone ends the file. Stdlib only (the satellite's mic runs this)."""
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) // 2 * 2])
    starts = range(0, len(samples), window)
    parts = [samples[i : i + window] for i in starts]
    rms = [math.sqrt(sum(x * x for x in part) / len(part)) for part in parts]
    if not rms:
        return len(pcm)
    floor = max(sorted(rms)[len(rms) // 5], 1.0) * 10 ** (above_noise_db / 20)
    voiced = [k for k in range(2, len(rms)) if min(rms[k - 2 : k + 1]) > floor]  # 60 ms runs, not clicks
    last = voiced[-1] if voiced else len(rms) - 1
    return 2 * min(len(samples), (last + 1) * window)


def mic_main(wavs: list[Path], go: Path, marks: Path, gap: float, lead: float) -> None:
    """Raw 16 kHz 16-bit mono PCM on stdout, paced like a microphone: nothing until `go` exists
    (the hub is connected), then for each recording `lead` s of silence, the recording, a mark with
    the time its last voiced sample went out (`speech_end`), and `gap` s of silence; then silence
    until killed."""
    out = sys.stdout.buffer
    parent = os.getppid()
    while not go.exists():
        if os.getppid() != parent:
            return  # the satellite is gone before it was told to speak: nothing will ever read this
        time.sleep(0.05)
    silence = b"\0\0" * CHUNK
    t0 = time.monotonic()
    sent = 0  # samples

    def emit(pcm: bytes) -> None:
        nonlocal sent
        for i in range(0, len(pcm), 2 * CHUNK):
            piece = pcm[i : i + 2 * CHUNK]
            due = t0 + (sent + len(piece) // 2) / RATE
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            out.write(piece)
            out.flush()
            sent += len(piece) // 2

    for n, wav in enumerate(wavs):
        with wave.open(str(wav), "rb") as w:
            if (w.getframerate(), w.getsampwidth(), w.getnchannels()) != (RATE, 2, 1):
                raise SystemExit(f"{wav}: the microphone plays 16 kHz 16-bit mono WAV only")
            pcm = w.readframes(w.getnframes())
        emit(silence * int(lead * RATE / CHUNK))
        cut = speech_end(pcm)
        emit(pcm[:cut])
        _mark(marks, turn=n, wav=wav.name, end=time.monotonic())  # the last voiced sample went out
        emit(pcm[cut:])
        emit(silence * int(gap * RATE / CHUNK))
    while True:
        emit(silence * 16)


def snd_main(out_path: Path, marks: Path) -> None:
    """Appends raw PCM from stdin to `out_path`; marks the time its first byte arrived."""
    first = True
    with out_path.open("ab") as out:
        while data := sys.stdin.buffer.read1(65536):
            if first:
                _mark(marks, audio=time.monotonic())
                first = False
            out.write(data)
            out.flush()


def ws_main(
    url: str, token: str, wavs: list[Path], go: Path, marks: Path, snd_marks: Path, gap: float, lead: float
) -> None:
    """A browser-like device over the hub's WebSocket (the page's protocol: a hello with the token,
    16 kHz 16-bit PCM in 1024-sample messages paced like a microphone, hands-free): the same
    recordings, silences and marks as `mic_main`, and a mark at the first audio byte of each reply
    (what `snd_main` marks for a satellite)."""
    import asyncio

    import websockets

    async def run() -> None:
        async with websockets.connect(url, max_size=None) as ws:
            await ws.send(json.dumps({"type": "hello", "token": token, "rate": RATE}))
            ready = json.loads(await ws.recv())
            if ready.get("type") != "ready":
                raise SystemExit(f"the hub refused the device: {ready}")

            async def listen() -> None:
                fresh = False
                async for msg in ws:
                    if isinstance(msg, bytes):
                        if fresh:
                            _mark(snd_marks, audio=time.monotonic())
                            fresh = False
                    elif json.loads(msg).get("type") == "audio-start":
                        fresh = True

            listener = asyncio.create_task(listen())
            while not go.exists():
                await asyncio.sleep(0.05)
            silence = b"\0\0" * CHUNK
            t0 = time.monotonic()
            sent = 0

            async def emit(pcm: bytes) -> None:
                nonlocal sent
                for i in range(0, len(pcm), 2 * CHUNK):
                    piece = pcm[i : i + 2 * CHUNK]
                    delay = t0 + (sent + len(piece) // 2) / RATE - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    if listener.done():
                        raise SystemExit("the hub closed the link")
                    await ws.send(piece)
                    sent += len(piece) // 2

            for n, wav in enumerate(wavs):
                with wave.open(str(wav), "rb") as w:
                    if (w.getframerate(), w.getsampwidth(), w.getnchannels()) != (RATE, 2, 1):
                        raise SystemExit(f"{wav}: the device plays 16 kHz 16-bit mono WAV only")
                    pcm = w.readframes(w.getnframes())
                await emit(silence * int(lead * RATE / CHUNK))
                cut = speech_end(pcm)
                await emit(pcm[:cut])
                _mark(marks, turn=n, wav=wav.name, end=time.monotonic())
                await emit(pcm[cut:])
                await emit(silence * int(gap * RATE / CHUNK))
            while True:
                await emit(silence * 16)

    asyncio.run(run())


# -- starting satellites ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def satellite_available() -> bool:
    return SATELLITE_PYTHON.exists()


class Satellite:
    """One wyoming-satellite process on 127.0.0.1 with file-backed microphone and speaker."""

    def __init__(
        self,
        name: str,
        wavs: list[Path],
        folder: Path,
        gap: float = 6.0,
        lead: float = 0.5,
        event_uri: str | None = None,
    ) -> None:
        """`event_uri`: the satellite's --event-uri, a Wyoming service it forwards every non-audio
        event from the hub to (what Home Assistant's automations would see)."""
        self.name = name
        self.port = free_port()
        self.uri = f"tcp://127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        self.go = folder / f"{name}.go"
        self.mic_marks = folder / f"{name}.mic.jsonl"
        self.snd_marks = folder / f"{name}.snd.jsonl"
        self.output = folder / f"{name}.out.raw"  # 22050 Hz 16-bit mono (the satellite's --snd-command-rate)
        self.log = folder / f"{name}.satellite.log"
        py = shlex.quote(sys.executable)
        mic = (
            f"{py} -m bench.satellites mic --go {shlex.quote(str(self.go))} "
            f"--marks {shlex.quote(str(self.mic_marks))} --gap {gap} --lead {lead} "
            + " ".join(f"--wav {shlex.quote(str(w))}" for w in wavs)
        )
        snd = f"{py} -m bench.satellites snd --out {shlex.quote(str(self.output))} " + (
            f"--marks {shlex.quote(str(self.snd_marks))}"
        )
        self.argv = [
            str(SATELLITE_PYTHON),
            "-m",
            "wyoming_satellite",
            "--name",
            name,
            "--uri",
            self.uri,
            "--mic-command",
            mic,
            "--snd-command",
            snd,
            "--no-zeroconf",
            "--debug",
            *(["--event-uri", event_uri] if event_uri else []),
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Satellite:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(  # its own process group: stopping it stops its mic and speaker
            self.argv,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),
            env=env,
            cwd=str(ROOT),
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # listening?
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"wyoming-satellite exited: {self.log.read_text()[-2000:]}") from None
                time.sleep(0.1)
        raise RuntimeError(f"wyoming-satellite did not listen on {self.uri}")

    def begin(self) -> None:
        self.go.touch()

    def _signal_group(self, sig: int) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """kill -9 of the satellite and its mic and speaker commands (one process group)."""
        if self.proc is not None and self.proc.poll() is None:
            self._signal_group(signal.SIGKILL)
            self.proc.wait(5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        # the mic/snd commands are the satellite's children: a mic still waiting to be told to
        # speak never writes, so it would never notice the satellite has gone
        self._signal_group(signal.SIGTERM)

    def marks(self, which: str) -> list[dict[str, Any]]:
        path = self.mic_marks if which == "mic" else self.snd_marks
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class BrowserDevice(Satellite):
    """One browser-like device: a process speaking the hub's WebSocket protocol with a paired
    token (`ws_main`), with the same files and marks as a satellite (`kind` "browser")."""

    def __init__(
        self,
        name: str,
        wavs: list[Path],
        folder: Path,
        url: str,
        token: str,
        gap: float = 6.0,
        lead: float = 0.5,
    ) -> None:
        super().__init__(name, wavs, folder, gap, lead)
        self.argv = [
            sys.executable, "-m", "bench.satellites", "ws", "--url", url, f"--token={token}",
            "--go", str(self.go), "--marks", str(self.mic_marks), "--snd-marks", str(self.snd_marks),
            "--gap", str(gap), "--lead", str(lead), *(x for w in wavs for x in ("--wav", str(w))),
        ]  # fmt: skip

    def start(self) -> BrowserDevice:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.DEVNULL, stderr=self.log.open("wb"), env=env, cwd=str(ROOT),
            start_new_session=True,
        )  # fmt: skip
        return self


# -- the benchmark ---------------------------------------------------------------------------------
def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    k = min(len(v) - 1, max(0, round(q * (len(v) - 1))))
    return round(v[k], 1)


def _device_latencies(sat: Satellite) -> tuple[list[float], int]:
    """(end of recording -> first byte at the speaker, ms) per answered question, and how many
    questions got no spoken answer before the next question."""
    ends = [m["end"] for m in sat.marks("mic")]
    audio = [m["audio"] for m in sat.marks("snd")]
    out, dropped = [], 0
    for i, end in enumerate(ends):
        nxt = ends[i + 1] if i + 1 < len(ends) else float("inf")
        first = next((a for a in audio if end <= a < nxt), None)
        if first is None:
            dropped += 1
        else:
            out.append((first - end) * 1000)
    return out, dropped


VIAS = ("wyoming", "websocket", "mixed")


def run_satellites_bench(
    cfg: Any, counts: list[int], turns: int, json_path: Path | None, via: str = "wyoming"
) -> int:
    """`via`: the devices' protocol: wyoming (real wyoming-satellite processes), websocket (browser-
    like processes on the hub's WebSocket, as the page speaks it), or mixed (alternating)."""
    import asyncio
    import tempfile
    import threading

    import psutil

    from pipeline.runtime.components import Components
    from pipeline.serve.http import serve_http
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog
    from pipeline.serve.registry import DeviceRegistry

    if via not in VIAS:
        print(f"--via {via}: give one of {', '.join(VIAS)}")
        return 1
    if via != "websocket" and not satellite_available():
        print(f"{SATELLITE_PYTHON} is missing: run scripts/setup.sh (it makes .venv-satellite)")
        return 1
    wavs = sorted(p for p in RECORDINGS.glob("*.wav") if not p.name.startswith("oov"))
    if not wavs:
        print(f"no recordings in {RECORDINGS}")
        return 1
    scratch = Path(tempfile.mkdtemp(prefix="twin-bench-satellites-"))
    cfg = cfg.model_copy(update={"data_dir": scratch / "data"})
    cfg.data_path.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    comps = Components(cfg)
    comps.load_all()
    load_s = time.monotonic() - t0
    proc = psutil.Process()
    print(
        f"Models loaded in {load_s:.1f} s. Each device ({via}): {turns} questions (human recordings), "
        f"paced in real time, {os.cpu_count()} CPUs (shared; figures under contention)."
    )
    rows = []
    try:
        for n in counts:
            folder = scratch / f"n{n}"
            sats: list[Satellite] = []
            registry = DeviceRegistry(cfg.data_path)
            for d in registry.list():
                registry.remove(d.name)
            port = free_port()
            for i in range(n):
                picked = [wavs[k % len(wavs)] for k in range(turns)]  # the same questions on every device
                if via == "websocket" or (via == "mixed" and i % 2):
                    _, token = registry.pair(f"dev{i}", registry.start_pairing(f"dev{i}", "speaker"))
                    url = f"ws://127.0.0.1:{port}/ws"
                    sats.append(BrowserDevice(f"dev{i}", picked, folder, url, token, gap=8.0))
                else:
                    sat = Satellite(f"dev{i}", picked, folder, gap=8.0).start()
                    sats.append(sat)
                    registry.add(sat.name, sat.uri, "speaker")
            hub = Hub(cfg, comps, log=HubLog(folder / "hub.jsonl", stream=None), poll_s=0.2)
            peak = [proc.memory_info().rss]
            stop_sampling = threading.Event()

            def sample(peak: list[int] = peak, stop_sampling: threading.Event = stop_sampling) -> None:
                while not stop_sampling.wait(0.2):
                    peak[0] = max(peak[0], proc.memory_info().rss)

            threading.Thread(target=sample, daemon=True).start()

            async def drive(hub: Hub = hub, sats: list[Satellite] = sats, port: int = port) -> None:
                stop, ready = asyncio.Event(), asyncio.Event()
                http = [lambda: serve_http(hub, "127.0.0.1", port, ready)]
                runner = asyncio.create_task(hub.run(stop, http))
                await ready.wait()
                for s in sats:
                    if isinstance(s, BrowserDevice):
                        s.start()
                deadline = time.monotonic() + 60
                while len([s for s in hub.sessions.values() if s.state == "listening"]) < len(sats):
                    if time.monotonic() > deadline:
                        raise RuntimeError("the satellites did not all connect")
                    for s in sats:
                        if s.proc is not None and s.proc.poll() is not None:
                            raise RuntimeError(f"device {s.name} exited: {s.log.read_text()[-1500:]}")
                    await asyncio.sleep(0.1)
                for s in sats:
                    s.begin()
                expect = turns
                deadline = time.monotonic() + turns * 40 + 60
                while time.monotonic() < deadline:
                    if all(len(s.marks("mic")) >= expect for s in sats):
                        break
                    await asyncio.sleep(0.5)
                await asyncio.sleep(10)  # the last answers
                stop.set()
                await runner

            asyncio.run(drive())
            stop_sampling.set()
            for s in sats:
                s.stop()
            device_ms: list[float] = []
            per_device_median = []
            dropped = 0
            for s in sats:
                lat, drop = _device_latencies(s)
                dropped += drop
                device_ms += lat
                if lat:
                    per_device_median.append(_pct(lat, 0.5) or 0.0)
            hub_ms = [
                r["voice_to_voice_ms"]
                for r in hub.log.lines
                if r["event"] == "turn" and r.get("voice_to_voice_ms") is not None
            ]
            failed = sum(1 for r in hub.log.lines if r["event"] == "turn_failed")
            fairness = (
                round(max(per_device_median) / min(per_device_median), 2)
                if len(per_device_median) > 1 and min(per_device_median) > 0
                else None
            )
            rows.append(
                {
                    "devices": n,
                    "via": via,
                    "questions": n * turns,
                    "answered": len(device_ms),
                    "dropped": dropped,
                    "failed": failed,
                    "hub_v2v_p50_ms": _pct(hub_ms, 0.5),
                    "hub_v2v_p95_ms": _pct(hub_ms, 0.95),
                    "device_v2v_p50_ms": _pct(device_ms, 0.5),
                    "device_v2v_p95_ms": _pct(device_ms, 0.95),
                    "fairness": fairness,
                    "hub_rss_mb": round(peak[0] / 2**20),
                }
            )
    finally:
        comps.close()
    print(
        f"\n{'devices':>7} {'asked':>6} {'answered':>8} {'dropped':>7} {'hub p50':>8} {'hub p95':>8} "
        f"{'dev p50':>8} {'dev p95':>8} {'fairness':>8} {'RSS MB':>7}"
    )
    for r in rows:
        print(
            f"{r['devices']:>7} {r['questions']:>6} {r['answered']:>8} {r['dropped']:>7} "
            f"{_f(r['hub_v2v_p50_ms'])} {_f(r['hub_v2v_p95_ms'])} {_f(r['device_v2v_p50_ms'])} "
            f"{_f(r['device_v2v_p95_ms'])} {_f(r['fairness'], 8, 2)} {r['hub_rss_mb']:>7}"
        )
    print(
        "hub: end of speech -> first reply audio sent; dev: the recording's last voiced sample sent -> "
        "first reply byte at the device (ms). fairness: slowest device's median / fastest's."
    )
    report = {
        "bench": "satellites",
        "via": via,
        "turns_per_device": turns,
        "cpus": os.cpu_count(),
        "load_s": load_s,
    }
    report["rows"] = rows
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=1))
        print(f"wrote {json_path}")
    return 0


def _f(v: float | None, width: int = 8, digits: int = 0) -> str:
    return f"{'-':>{width}}" if v is None else f"{v:>{width}.{digits}f}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.satellites")
    sub = p.add_subparsers(dest="what", required=True)
    m = sub.add_parser("mic")
    m.add_argument("--wav", type=Path, action="append", required=True)
    m.add_argument("--go", type=Path, required=True)
    m.add_argument("--marks", type=Path, required=True)
    m.add_argument("--gap", type=float, default=6.0)
    m.add_argument("--lead", type=float, default=0.5)
    s = sub.add_parser("snd")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--marks", type=Path, required=True)
    w = sub.add_parser("ws")
    w.add_argument("--url", required=True)
    w.add_argument("--token", required=True)
    w.add_argument("--wav", type=Path, action="append", required=True)
    w.add_argument("--go", type=Path, required=True)
    w.add_argument("--marks", type=Path, required=True)
    w.add_argument("--snd-marks", type=Path, required=True)
    w.add_argument("--gap", type=float, default=6.0)
    w.add_argument("--lead", type=float, default=0.5)
    a = p.parse_args(argv)
    try:
        if a.what == "mic":
            mic_main(a.wav, a.go, a.marks, a.gap, a.lead)
        elif a.what == "ws":
            ws_main(a.url, a.token, a.wav, a.go, a.marks, a.snd_marks, a.gap, a.lead)
        else:
            snd_main(a.out, a.marks)
    except (BrokenPipeError, KeyboardInterrupt):
        pass


if __name__ == "__main__":
    main()
