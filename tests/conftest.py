"""Shared fixtures. Real models load once per session. Outside CI a missing fixture or model skips
with the reason; under CI (CI=true) it fails, so the real-model tests can never be silently skipped."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The audit key and its anchors live outside the data directory (~/.config/twin): tests keep theirs
# in a folder of their own, never the user's, and never one left over from an earlier run.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="twin-test-config-")


def require(condition: bool, reason: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


def fixture_path(rel: str) -> Path:
    path = FIXTURES / rel
    require(path.exists(), f"test fixture {path} is missing (../shared/fixtures beside the repo)")
    return path


def normalize(text: str) -> list[str]:
    """Lower-case words for WER: punctuation dropped, '%' spoken, small numbers as digits (the ASR
    bench's own rule, `bench.asr.normalize`)."""
    from bench.asr import normalize as words

    return words(text).split()


def wer(refs: list[str], hyps: list[str]) -> float:
    import jiwer

    return jiwer.wer(
        [" ".join(normalize(r)) for r in refs], [" ".join(normalize(h)) or "<empty>" for h in hyps]
    )


@pytest.fixture(scope="session")
def session_data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("twin-data")


@pytest.fixture(scope="session")
def cfg(session_data_dir):
    from pipeline.config import ensure_data_dir, load_config

    config = load_config(data_dir=session_data_dir)
    ensure_data_dir(config.data_path)
    return config


@pytest.fixture()
def hub_cfg(cfg, tmp_path):
    """The session's config over a hub data directory of the test's own (tests/test_serve_*.py)."""
    c = cfg.model_copy(update={"data_dir": tmp_path / "hub"})
    c.data_path.mkdir(parents=True)
    return c


@pytest.fixture(scope="session")
def components(cfg):
    from models.errors import ModelError
    from pipeline.runtime.components import Components

    comps = Components(cfg)
    try:
        comps.load_all()
    except ModelError as exc:
        require(False, f"default models unavailable ({exc.message}); run scripts/setup.sh")
    yield comps
    comps.close()


@pytest.fixture(scope="session")
def stereo():
    """The two channels of a real two-person recording (faster-whisper's stereo_diarization.wav):
    voices no test enrols, the strangers of the identity tests."""
    import numpy as np
    import soundfile as sf

    from voice.audio import AudioClip

    data, rate = sf.read(fixture_path("faster_whisper_tests/stereo_diarization.wav"), dtype="float32")
    assert rate == 16_000
    return [AudioClip(np.ascontiguousarray(data[:, ch]), rate, f"stereo ch{ch}") for ch in (0, 1)]


@pytest.fixture()
def mem(tmp_path):
    """A memory store of its own in the test's temporary folder, closed after the test."""
    from memory import Memory

    m = Memory.open(tmp_path / "memory")
    yield m
    m.close()


@pytest.fixture()
def twin(cfg, components):
    from pipeline.runtime.session import Twin

    return Twin(cfg, components)


@pytest.fixture(scope="session")
def synth(components):
    """Speech synthesized with the bundled voice, as 16 kHz clips (the user's side of a test).
    Piper's sampling noise is off, so the same text gives the same audio in every run."""
    from voice.audio import SAMPLE_RATE, AudioClip, resample
    from voice.tts import Prosody

    steady = Prosody(noise_scale=0.0, noise_w_scale=0.0)

    def make(text: str):
        audio = components.tts.synthesize_all(text, steady)
        return AudioClip(resample(audio, components.tts.sample_rate, SAMPLE_RATE), SAMPLE_RATE, text)

    return make


def espeak_samples(text: str, folder: Path, voice: str = "en-us", speed: int = 150):
    """`text` spoken by espeak-ng (a voice that is not Twin's own), as 16 kHz samples."""
    import shutil
    import subprocess

    from voice.audio import load_audio

    missing = "espeak-ng is not installed (scripts/setup.sh installs it)"
    require(shutil.which("espeak-ng") is not None, missing)
    out = folder / f"espeak-{voice}-{speed}-{abs(hash(text))}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text], check=True)
    return load_audio(out).samples


@pytest.fixture(scope="session")
def espeak(tmp_path_factory):
    """Speech in a voice that is not Twin's own (espeak-ng), as 16 kHz clips: a user's spoken yes
    must not sound like Twin, which never takes a yes from its own synthetic voice."""
    from voice.audio import AudioClip

    folder = tmp_path_factory.mktemp("espeak")

    def make(text: str, voice: str = "en-us", speed: int = 150):
        return AudioClip(espeak_samples(text, folder, voice, speed))

    return make


class NoModel:
    """The planner's model for requests whose words state their arguments: it counts its calls
    (a test proves the model was not needed with `calls == 0`) and says "reply" if asked."""

    def __init__(self) -> None:
        self.calls = 0

    def choose(self, messages, schema, stop=None) -> str:
        self.calls += 1
        return '{"action": "reply"}'


@pytest.fixture()
def plain_session(tmp_path):
    """A tool session on a scratch data directory whose planner has no real model (`NoModel`)."""
    from pipeline.acting.planner import Planner
    from pipeline.acting.session import ToolSession
    from pipeline.config import load_config

    s = ToolSession(load_config(data_dir=tmp_path))
    s.planner = Planner(NoModel(), s.registry, s.runner, 3, 5.0)
    return s


# The time a test's Twin is told (its context line, its tools' clock): a fixed Wednesday morning, so
# what the model says, and what the tools do at "5pm", never depends on the day the suite runs.
STEADY_NOW = datetime(2026, 3, 4, 10, 0).astimezone()


def steady_clock() -> datetime:
    return STEADY_NOW
