"""`twin live` on a real audio device: a PulseAudio daemon of the test's own, with a virtual microphone
fed from a recording (module-pipe-source) and a sink whose sound the test reads back
(module-pipe-sink, a null sink that writes what it plays to a pipe). PortAudio reaches it through
ALSA's pulse device, so the sounddevice path of the microphone and speaker runs for real."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, fixture_path, require

from voice.audio import SAMPLE_RATE, load_audio

pytestmark = pytest.mark.models

OUT_RATE = 22050


def fmt(rate: int) -> str:
    return f"format=s16le rate={rate} channels=1"


def _feed(fifo: Path, samples: np.ndarray, stop: threading.Event) -> None:
    """The microphone: the recording at a microphone's pace, said again and again until stopped
    (what is said before Twin opens the device is lost, as in a room)."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    chunk = 512
    with open(fifo, "wb", buffering=0) as f:
        start = time.monotonic()
        i = 0
        while not stop.is_set():
            at = i % len(pcm)
            piece = pcm[at : at + chunk]
            f.write(piece.tobytes())
            i += chunk
            delay = start + i / SAMPLE_RATE - time.monotonic()
            if delay > 0:
                time.sleep(delay)


def _drain(fifo: Path, into: bytearray, stop: threading.Event) -> None:
    """The speaker: read at the pace a device plays (the pipe sink makes sound as fast as it is read)."""
    with open(fifo, "rb", buffering=0) as f:
        start = time.monotonic()
        while not stop.is_set():
            data = f.read(4096)
            if not data:
                break
            into.extend(data)
            delay = start + len(into) / 2 / OUT_RATE - time.monotonic()
            if delay > 0:
                time.sleep(delay)


@pytest.fixture()
def pulse(tmp_path, monkeypatch):
    require(
        shutil.which("pulseaudio") is not None, "pulseaudio is not installed (scripts/setup.sh installs it)"
    )
    run = tmp_path / "pulse"
    run.mkdir()
    mic, spk = run / "mic.fifo", run / "speaker.fifo"
    script = run / "twin.pa"
    script.write_text(
        f"load-module module-native-protocol-unix auth-anonymous=1 socket={run}/native\n"
        f"load-module module-pipe-source source_name=twin_mic file={mic} {fmt(SAMPLE_RATE)}\n"
        f"load-module module-pipe-sink sink_name=twin_speaker file={spk} {fmt(OUT_RATE)}\n"
        "set-default-source twin_mic\nset-default-sink twin_speaker\n"
    )
    env = os.environ | {"HOME": str(run), "XDG_RUNTIME_DIR": str(run), "PULSE_RUNTIME_PATH": str(run)}
    daemon = subprocess.Popen(
        ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit", "-n", "-F", str(script)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    for _ in range(100):
        if (run / "native").exists() and mic.exists() and spk.exists():
            break
        if daemon.poll() is not None:
            require(False, f"pulseaudio did not start: {daemon.stderr.read().decode()[-300:]}")
        time.sleep(0.05)
    monkeypatch.setenv("PULSE_SERVER", f"unix:{run}/native")  # for the twin process the test starts
    yield mic, spk
    daemon.terminate()
    daemon.wait(10)


def test_twin_live_on_a_pulseaudio_microphone_and_speaker(components, pulse, tmp_path):
    """The real command, in its own process (PortAudio scans the devices as it starts): the wake
    word and a request said into the virtual microphone, the reply read back from the sink."""
    mic, spk = pulse
    require(
        shutil.which("espeak-ng") is not None, "espeak-ng is not installed (scripts/setup.sh installs it)"
    )
    wake_wav = tmp_path / "wake.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wake_wav), "okay nabu"], check=True)
    request = load_audio(fixture_path("speech_to_phrase_en/wav/what's the date.wav")).samples
    gap = np.zeros(int(0.4 * SAMPLE_RATE), np.float32)
    said = np.concatenate(
        [gap, load_audio(wake_wav).samples, gap, request, np.zeros(6 * SAMPLE_RATE, np.float32)]
    )

    stop = threading.Event()
    played = bytearray()
    threads = [
        threading.Thread(target=_feed, args=(mic, said, stop), daemon=True),
        threading.Thread(target=_drain, args=(spk, played, stop), daemon=True),
    ]
    for t in threads:
        t.start()
    env = os.environ | {
        "HF_HUB_OFFLINE": "1",
        "TWIN_AUDIO__INPUT_DEVICE": "pulse",
        "TWIN_AUDIO__OUTPUT_DEVICE": "pulse",
    }
    data = tmp_path / "data"
    cmd = [sys.executable, "-m", "pipeline.cli", "--data-dir", str(data), "live", "--wake", "okay_nabu"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            lines.append(line.rstrip())
            if line.startswith("twin:"):
                time.sleep(2.0)  # the last of the reply leaves the device
                break
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        stop.set()
    print("\n" + "\n".join(lines), err[-500:])
    assert any(line.startswith("Listening") and "Okay Nabu" in line for line in lines)
    assert any(line.startswith("you :") and "date" in line.lower() for line in lines), err[-800:]
    heard = np.frombuffer(bytes(played), "<i2").astype(np.float32) / 32767
    print(f"the speaker sink received {len(heard) / OUT_RATE:.1f} s, peak {np.abs(heard).max(initial=0):.2f}")
    # Twin's reply reached the device: sound, not silence, and it says the date
    loud = np.flatnonzero(np.abs(heard) > 0.05)
    assert len(loud) > 0.3 * OUT_RATE
    reply = components.asr.transcribe(load_audio_from(heard[loud[0] : loud[-1] + OUT_RATE // 4])).text.lower()
    print("reply heard through the device:", reply)
    assert any(word in reply for word in ("date", "november", "today", "2026"))


def load_audio_from(samples: np.ndarray):
    from voice.audio import AudioClip, resample

    return AudioClip(resample(samples, OUT_RATE, SAMPLE_RATE), SAMPLE_RATE, "pulse sink")
