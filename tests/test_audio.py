"""Audio reading: formats, rates and channels in; clear typed errors for bad input."""

from __future__ import annotations

import os
import wave

import numpy as np
import pytest
from conftest import fixture_path

from voice.audio import SAMPLE_RATE, load_audio, resample, write_wav
from voice.errors import AudioDecodeError, AudioTooLongError, AudioTooShortError


@pytest.mark.parametrize(
    ("rel", "seconds"),
    [
        ("faster_whisper_tests/jfk.flac", 11.0),  # 44.1 kHz stereo 24-bit FLAC
        ("faster_whisper_tests/hotwords.mp3", None),
        ("silero_vad_tests/test.opus", None),
        ("silero_vad_tests/aepyx_8k.wav", 169.15),  # 8 kHz telephone audio
        ("faster_whisper_tests/stereo_diarization.wav", 5.0),
    ],
)
def test_formats_decode_to_16k_mono(rel, seconds):
    clip = load_audio(fixture_path(rel))
    assert clip.sample_rate == SAMPLE_RATE
    assert clip.samples.ndim == 1 and clip.samples.dtype == np.float32
    assert np.abs(clip.samples).max() > 0.01  # real signal, not silence
    if seconds is not None:
        assert clip.duration == pytest.approx(seconds, abs=0.05)


def _wav(path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def test_resampling_keeps_pitch_and_duration(tmp_path):
    t = np.arange(48_000 * 2) / 48_000
    _wav(tmp_path / "tone.wav", 0.5 * np.sin(2 * np.pi * 440 * t), 48_000)
    clip = load_audio(tmp_path / "tone.wav")
    assert clip.duration == pytest.approx(2.0, abs=0.01)
    spectrum = np.abs(np.fft.rfft(clip.samples))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / len(clip.samples)
    assert peak_hz == pytest.approx(440, abs=2)
    back = resample(clip.samples, SAMPLE_RATE, 22_050)
    assert len(back) == pytest.approx(2 * 22_050, abs=64)


def test_corrupt_file_is_a_typed_error(tmp_path):
    bad = tmp_path / "junk.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + np.random.default_rng(0).bytes(4000))
    with pytest.raises(AudioDecodeError) as err:
        load_audio(bad)
    assert "junk.wav" in err.value.message and err.value.hint


def test_text_file_and_empty_file_and_missing_file(tmp_path):
    (tmp_path / "notes.mp3").write_text("this is not audio at all\n" * 20)
    (tmp_path / "empty.flac").write_bytes(b"")
    for name in ("notes.mp3", "empty.flac", "missing.wav"):
        with pytest.raises(AudioDecodeError):
            load_audio(tmp_path / name)


def test_truncated_flac(tmp_path):
    data = fixture_path("faster_whisper_tests/jfk.flac").read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[:2000])
    with pytest.raises((AudioDecodeError, AudioTooShortError)):
        load_audio(cut)


def test_too_short(tmp_path):
    _wav(tmp_path / "blip.wav", np.full(1600, 0.3), SAMPLE_RATE)  # 0.1 s
    with pytest.raises(AudioTooShortError) as err:
        load_audio(tmp_path / "blip.wav")
    assert "0.10 s" in err.value.message


def test_two_hour_file_is_refused_without_decoding_it(tmp_path):
    path = tmp_path / "long.wav"
    n = 2 * 3600 * SAMPLE_RATE
    with wave.open(str(path), "wb") as w:  # header for two hours; the data is a sparse file
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(b"\x00\x00")
        w._nframes = n  # the header is rewritten on close with this length
        w._datawritten = n * 2
    with open(path, "r+b") as fh:
        fh.truncate(44 + n * 2)
    with pytest.raises(AudioTooLongError) as err:
        load_audio(path)
    assert "2.0 h" in err.value.message


def test_write_wav_is_atomic_and_readable(tmp_path):
    out = write_wav(tmp_path / "sub" / "out.wav", np.zeros(22_050, np.float32), 22_050)
    assert out.exists() and list(out.parent.iterdir()) == [out]
    assert load_audio(out).duration == pytest.approx(1.0, abs=0.01)


# -- issue 10, finding 15: the true reason a path cannot be read ----------------------------------


def test_undecodable_file_keeps_ffmpegs_reason_not_the_file_name(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"this is not audio\n" * 100)
    with pytest.raises(AudioDecodeError) as err:
        load_audio(tmp_path / "x.wav")
    assert "('x.wav')" not in err.value.message
    assert "invalid data" in err.value.message.lower()


def test_a_fifo_is_named_a_fifo_not_empty(tmp_path):
    os.mkfifo(tmp_path / "pipe.wav")
    with pytest.raises(AudioDecodeError) as err:
        load_audio(tmp_path / "pipe.wav")  # never opened: reading a FIFO could block for ever
    assert "FIFO" in err.value.message and "empty" not in err.value.message


def test_a_symlink_loop_and_a_broken_link_say_so(tmp_path):
    (tmp_path / "a.wav").symlink_to(tmp_path / "b.wav")
    (tmp_path / "b.wav").symlink_to(tmp_path / "a.wav")
    with pytest.raises(AudioDecodeError) as err:
        load_audio(tmp_path / "a.wav")
    assert "loop" in err.value.message and "does not exist" not in err.value.message
    (tmp_path / "dangling.wav").symlink_to(tmp_path / "gone.wav")
    with pytest.raises(AudioDecodeError) as err:
        load_audio(tmp_path / "dangling.wav")
    assert "symbolic link" in err.value.message and "gone.wav" in err.value.message
