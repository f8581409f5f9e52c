"""The `twin` command as a user runs it: bad input gets a typed one-line error, a non-zero exit, no
traceback, and stored data is left alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, fixture_path


def twin(
    *args: str, data_dir: Path, env: dict | None = None, timeout: int = 300
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=full_env,
    )


@pytest.fixture()
def data_dir(tmp_path) -> Path:
    d = tmp_path / "data"
    d.mkdir(mode=0o700)
    (d / "traces.jsonl").write_text('{"turn_id": 1, "note": "earlier data"}\n')
    return d


def _untouched(d: Path) -> None:
    assert (d / "traces.jsonl").read_text() == '{"turn_id": 1, "note": "earlier data"}\n'


def _wav(path: Path, samples: np.ndarray, rate: int = 16_000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


@pytest.mark.parametrize(
    ("make", "code", "exit_code"),
    [
        (lambda p: p.write_bytes(os.urandom(5000)) or p, "audio_unreadable", 2),
        (lambda p: _wav(p, np.zeros(1000)), "audio_too_short", 2),
        (lambda p: p.parent / "missing.wav", "audio_unreadable", 2),
    ],
)
def test_listen_bad_audio(tmp_path, data_dir, make, code, exit_code):
    path = make(tmp_path / "in.wav") or tmp_path / "in.wav"
    r = twin("listen", str(path), data_dir=data_dir)
    assert r.returncode == exit_code, r.stderr
    assert f"error [{code}]" in r.stderr and "hint:" in r.stderr and "Traceback" not in r.stderr
    _untouched(data_dir)


@pytest.mark.models
def test_listen_silence_is_no_speech(tmp_path, data_dir):
    r = twin("listen", str(_wav(tmp_path / "quiet.wav", np.zeros(16_000 * 2))), data_dir=data_dir)
    assert r.returncode == 2 and "error [no_speech]" in r.stderr and "Traceback" not in r.stderr
    _untouched(data_dir)


def test_config_typo_and_unknown_model(data_dir):
    (data_dir / "config.toml").write_text("profil = 'car'\n")
    r = twin("ask", "hello", data_dir=data_dir)
    assert r.returncode == 2 and "unknown config key 'profil'" in r.stderr and "'profile'" in r.stderr
    (data_dir / "config.toml").write_text("[models]\nllm = 'qwen-7b'\n")
    r = twin("ask", "hello", data_dir=data_dir)
    assert r.returncode == 3 and "error [model_unknown]" in r.stderr and "Traceback" not in r.stderr
    _untouched(data_dir)


def test_corrupt_model_file_is_reported(tmp_path, data_dir):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not a model")
    (data_dir / "config.toml").write_text(f"[models.paths]\n'silero-vad-v6' = '{bad}'\n")
    r = twin("models", data_dir=data_dir)
    assert r.returncode == 3 and "error [model_checksum]" in r.stderr and str(bad) in r.stderr
    _untouched(data_dir)


def test_live_without_audio_device_points_to_listen(data_dir):
    try:
        import sounddevice as sd

        has_input = any(d["max_input_channels"] > 0 for d in sd.query_devices())
    except OSError:
        has_input = False
    if has_input:
        pytest.skip("this machine has a microphone; the no-device error cannot be provoked")
    r = twin("live", data_dir=data_dir, timeout=60)
    assert r.returncode == 4 and "error [audio_device]" in r.stderr and "twin listen" in r.stderr
    _untouched(data_dir)


@pytest.mark.models
def test_listen_json_and_trace(tmp_path, data_dir):
    clip = fixture_path("speech_to_phrase_en/wav/what's the date.wav")
    out = tmp_path / "reply.wav"
    r = twin("listen", str(clip), "--output", str(out), "--json", data_dir=data_dir)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc["timings_ms"]) == {
        "vad",
        "asr",
        "llm_first_token",
        "llm_total",
        "tts_first_audio",
        "voice_to_voice",
    }
    assert (
        "date" in doc["transcript"].lower()
        and doc["reply"]
        and Path(doc["audio_out"]) == out
        and out.exists()
    )
    r = twin("trace", "--last", "1", "--json", data_dir=data_dir)
    records = json.loads(r.stdout)
    assert records[-1]["heard_from_user"] == doc["transcript"]
    # in time order: the endpoint (placed where a live session would decide it) precedes the turn
    assert [e["event"] for e in records[-1]["events"]][:3] == ["SpeechEnded", "TurnStarted", "AsrStarted"]
    assert (data_dir / "traces.jsonl").stat().st_mode & 0o077 == 0


@pytest.mark.models
def test_transcribe_say_models(tmp_path, data_dir):
    out = tmp_path / "hello.wav"
    r = twin("say", "Hello from Twin.", "--output", str(out), data_dir=data_dir)
    assert r.returncode == 0 and out.exists(), r.stderr
    r = twin("transcribe", str(out), "--json", data_dir=data_dir)
    assert r.returncode == 0 and "hello from twin" in json.loads(r.stdout)["text"].lower()
    r = twin("models", "--check", "--json", data_dir=data_dir)
    rows = json.loads(r.stdout)
    assert {row["role"] for row in rows} == {"vad", "asr", "llm", "tts"}
    assert all(row["sha256_ok"] and row["device"] not in ("", "-") for row in rows)
    r = twin("say", "   ", "--output", str(tmp_path / "x.wav"), data_dir=data_dir)
    assert r.returncode == 2 and "error [bad_input]" in r.stderr and "Traceback" not in r.stderr
    r = twin("ask", "", data_dir=data_dir)
    assert r.returncode == 2 and "error [bad_input]" in r.stderr


@pytest.mark.models
def test_transcribe_reports_a_bad_file_and_goes_on(tmp_path, data_dir):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"\x00" * 100)
    good = fixture_path("speech_to_phrase_en/wav/what's the date.wav")
    r = twin("transcribe", str(bad), str(good), "--json", data_dir=data_dir)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    rows = json.loads(r.stdout)
    assert rows[0]["error"] == "audio_unreadable" and "date" in rows[1]["text"].lower()


def test_unwritable_output_is_a_typed_error(tmp_path, data_dir):
    from voice.audio import write_wav
    from voice.errors import AudioWriteError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AudioWriteError) as err:
        write_wav(blocker / "reply.wav", np.zeros(100, np.float32), 22_050)
    assert "reply.wav" in err.value.message and "--output" in err.value.hint
    with pytest.raises(AudioWriteError):  # never replaces a device or directory
        write_wav(tmp_path, np.zeros(100, np.float32), 22_050)


def test_full_disk_while_writing_audio_is_a_typed_error(tmp_path, monkeypatch):
    import errno

    import soundfile

    from voice.audio import write_wav
    from voice.errors import AudioWriteError

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(soundfile, "write", no_space)
    with pytest.raises(AudioWriteError) as err:
        write_wav(tmp_path / "reply.wav", np.zeros(100, np.float32), 22_050)
    assert "No space left" in err.value.message
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


# -- issue 10: typed errors before any work, secrets in the environment, private files ------------

_NO_SUCH_MODEL = "[models]\nllm = 'qwen-7b'\n"  # any model load would fail with model_unknown


def test_documented_smtp_password_variable_breaks_nothing(data_dir):
    r = twin("trace", data_dir=data_dir, env={"TWIN_SMTP_PASSWORD": "hunter2"})
    assert r.returncode == 0, r.stderr
    assert "hunter2" not in r.stdout + r.stderr


@pytest.mark.parametrize(
    ("args", "env", "what"),
    [
        (("trace",), {"TWIN_LLM": "5"}, "'llm'"),
        (("trace",), {"TWIN_LLM": "5", "TWIN_LLM__THREADS": "2"}, "TWIN_LLM"),
        (("--config", "{dir}", "trace"), {}, "is a directory"),
    ],
)
def test_bad_config_shapes_are_typed_errors(tmp_path, data_dir, args, env, what):
    r = twin(*(a.format(dir=tmp_path) for a in args), data_dir=data_dir, env=env)
    assert r.returncode == 2 and "error [config_invalid]" in r.stderr, r.stderr
    assert what in r.stderr and "hint:" in r.stderr and "Traceback" not in r.stderr
    _untouched(data_dir)


def test_huge_ask_is_refused_before_any_work(data_dir):
    (data_dir / "config.toml").write_text(_NO_SUCH_MODEL)
    r = twin("ask", "tell me about this. " * 5000, data_dir=data_dir)  # 100 kB
    assert r.returncode == 2 and "error [text_too_long]" in r.stderr, r.stderr
    assert "1,000" in r.stderr and "Traceback" not in r.stderr
    _untouched(data_dir)


@pytest.mark.parametrize("text", ["\x01\x02\x03\x1b\x7f\x08\r\n", "\u200b\u200d \t", "   "])
def test_unreadable_ask_is_empty(data_dir, text):
    (data_dir / "config.toml").write_text(_NO_SUCH_MODEL)
    r = twin("ask", text, data_dir=data_dir)
    assert r.returncode == 2 and "error [bad_input]" in r.stderr and "empty" in r.stderr, r.stderr
    _untouched(data_dir)


@pytest.mark.parametrize("where", ["dir", "under_file", "missing_parent_of_file"])
def test_bad_output_path_fails_before_the_turn(tmp_path, data_dir, where):
    (data_dir / "config.toml").write_text(_NO_SUCH_MODEL)  # a turn would fail with model_unknown
    clip = fixture_path("speech_to_phrase_en/wav/what's the date.wav")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = {"dir": tmp_path, "under_file": blocker / "r.wav", "missing_parent_of_file": blocker / "a/r.wav"}
    r = twin("listen", str(clip), "--output", str(out[where]), data_dir=data_dir)
    assert r.returncode == 2 and "error [audio_write_failed]" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    r = twin("say", "hello", "--output", str(out[where]), data_dir=data_dir)
    assert r.returncode == 2 and "error [audio_write_failed]" in r.stderr, r.stderr
    _untouched(data_dir)
    assert not (data_dir / "replies").exists()


def test_cli_files_are_private_whatever_the_umask(tmp_path):
    fresh = tmp_path / "a" / "b" / "data"
    code = (
        "import os, sys\n"
        "from pipeline.cli.main import main\n"
        "os.umask(0o022)\n"
        f"rc = main(['--data-dir', {str(fresh)!r}, 'trace'])\n"
        f"open({str(fresh / 'made.txt')!r}, 'w').close()\n"
        "print(rc, oct(os.umask(0)))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0 and r.stdout.split()[-1] == "0o77", r.stdout + r.stderr
    assert (fresh.stat().st_mode & 0o777) == 0o700
    assert (fresh.parent.stat().st_mode & 0o777) == 0o700
    assert ((fresh / "made.txt").stat().st_mode & 0o777) == 0o600
