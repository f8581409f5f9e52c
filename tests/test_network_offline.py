"""Issue 10, finding 6: Twin makes no network call unless the user allows one. The real commands run
under a syscall trace (strace -f: every thread and child process), and any attempt to reach an
address that is not this machine fails the test, as does any DNS query (port 53, even to a local
resolver: a name lookup is the first step of a connection). AF_UNIX sockets are fine.

onnxruntime uploads telemetry seconds after its first session (a lookup of
mobile.events.data.microsoft.com); its adapter is also checked on its own, held open long enough for
that upload to come (voice/onnx_runtime.py)."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, fixture_path, require

# onnxruntime's first upload came 9-35 s after its first session in measurements on 2 cores
TELEMETRY_WAIT_S = 45
_ADDR = re.compile(r"sa_family=(?P<family>AF_INET6?)(?P<rest>[^}]*)")
_PORT = re.compile(r"sin6?_port=htons\((?P<port>\d+)\)")
_IP = re.compile(r'inet_addr\("(?P<v4>[^"]+)"\)|inet_pton\(AF_INET6, "(?P<v6>[^"]+)"')


def network_attempts(log: str) -> list[str]:
    """The strace lines (connect, sendto, sendmsg) that try to reach past this machine."""
    bad = []
    for line in log.splitlines():
        for m in _ADDR.finditer(line):
            port = _PORT.search(m.group("rest"))
            ip = _IP.search(m.group("rest"))
            if ip is None:
                bad.append(line)  # an internet address strace could not decode: not loopback
                continue
            addr = ipaddress.ip_address(ip.group("v4") or ip.group("v6"))
            if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
                addr = addr.ipv4_mapped
            if not addr.is_loopback or (port is not None and port.group("port") == "53"):
                bad.append(line)
    return bad


def _strace() -> str:
    path = shutil.which("strace")
    require(
        path is not None, "strace is not installed (scripts/setup.sh installs it: apt-get install strace)"
    )
    assert path is not None
    probe = subprocess.run([path, "-f", "-qq", "-o", os.devnull, "true"], capture_output=True, text=True)
    require(
        probe.returncode == 0, f"strace cannot trace here (ptrace not permitted?): {probe.stderr.strip()}"
    )
    return path


def traced(cmd: list[str], log: Path, timeout: int = 600) -> tuple[subprocess.CompletedProcess, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORT_", "HF_HUB_DISABLE", "DO_NOT"))}
    env["HF_HUB_OFFLINE"] = "1"  # what a user's default config gives (models.allow_download = false)
    r = subprocess.run(
        [_strace(), "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(log), *cmd],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )
    return r, network_attempts(log.read_text(errors="replace"))


def _v4(call: str, ip: str, port: int) -> str:
    return f'{call}{{sa_family=AF_INET, sin_port=htons({port}), sin_addr=inet_addr("{ip}")}}, 16) = 0'


def _v6(call: str, ip: str, port: int) -> str:
    addr = f'inet_pton(AF_INET6, "{ip}", &sin6_addr)'
    return f"{call}{{sa_family=AF_INET6, sin6_port=htons({port}), sin6_flowinfo=htonl(0), {addr}}}, 28) = 0"


def test_the_detector_tells_loopback_and_unix_from_the_network():
    log = "\n".join(
        [
            '11 connect(3, {sa_family=AF_UNIX, sun_path="/run/x.sock"}, 110) = 0',
            _v4("12 connect(4, ", "127.0.0.1", 8080),
            _v6("12 connect(5, ", "::1", 80),
            _v6("12 connect(5, ", "::ffff:127.0.0.1", 80),
            _v4("13 connect(12, ", "10.255.255.53", 53),  # the onnxruntime telemetry lookup
            _v4("14 connect(6, ", "127.0.0.53", 53),  # a lookup through a local resolver
            _v6('15 sendto(7, "x", 1, 0, ', "2603:1030::1", 443),
            _v4("16 sendmsg(8, {msg_name=", "13.89.1.2", 443),
        ]
    )
    assert [line.split()[0] for line in network_attempts(log)] == ["13", "14", "15", "16"]


def test_onnxruntime_adapter_sends_no_telemetry(tmp_path):
    """A session made through the adapter, held open past the time onnxruntime uploads telemetry."""
    code = (
        "import time\n"
        "from models import ModelResolver\n"
        "from voice.onnx_runtime import create_session\n"
        "path = ModelResolver().resolve('silero-vad-v6').main_path\n"
        "session = create_session(path, ['CPUExecutionProvider'], 1, 1)\n"
        f"time.sleep({TELEMETRY_WAIT_S})\n"
        "print('held')\n"
    )
    r, attempts = traced([sys.executable, "-c", code], tmp_path / "strace.log")
    assert r.returncode == 0 and "held" in r.stdout, r.stderr
    assert attempts == [], "\n".join(attempts)


@pytest.mark.models
def test_the_real_commands_reach_no_network(tmp_path):
    data = tmp_path / "data"
    clip = fixture_path("speech_to_phrase_en/wav/what's the date.wav")
    cli = [sys.executable, "-m", "pipeline.cli", "--data-dir", str(data)]
    commands = {
        "models": ["models"],
        "models --check": ["models", "--check"],
        "say": ["say", "Hello from Twin.", "--output", str(tmp_path / "hello.wav")],
        "transcribe": ["transcribe", str(clip)],
        "ask": ["ask", "What is two plus two?"],
        "listen": ["listen", str(clip), "--output", str(tmp_path / "reply.wav")],
    }
    found: dict[str, list[str]] = {}
    for name, args in commands.items():
        r, attempts = traced([*cli, *args], tmp_path / f"{name.replace(' ', '_')}.log")
        assert r.returncode == 0, f"twin {name}: {r.stderr[-2000:]}"
        if attempts:
            found[name] = attempts
    assert found == {}, "\n".join(f"twin {k}:\n  " + "\n  ".join(v[:5]) for k, v in found.items())
