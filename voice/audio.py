"""Reading audio of any common format, rate and channel count into 16 kHz mono float32.

The one module that imports the audio libraries (PyAV for decoding and resampling, soundfile for
WAV files): everything else reads and writes audio through it.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

import numpy as np

from .clip import SAMPLE_RATE, AudioClip
from .errors import AudioDecodeError, AudioTooLongError, AudioTooShortError, AudioWriteError

MIN_SECONDS = 0.2
DEFAULT_MAX_SECONDS = 30 * 60


def load_audio(
    path: str | Path,
    *,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    min_seconds: float = MIN_SECONDS,
) -> AudioClip:
    """Decode WAV/FLAC/OGG/Opus/MP3/... with FFmpeg (PyAV), resampled to 16 kHz mono.

    Duration is checked from the container first, and again while decoding, so a two-hour file is
    refused without decoding it all.
    """
    import av

    path = Path(path)
    _check_readable_file(path)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise AudioDecodeError(
            f"cannot read '{path.name}' as audio ({_reason(exc)})",
            "use a WAV, FLAC, OGG/Opus or MP3 file",
        ) from None
    with container:
        if not container.streams.audio:
            raise AudioDecodeError(f"'{path.name}' has no audio stream", "use an audio file")
        if container.duration is not None and container.duration / 1_000_000 > max_seconds:
            raise AudioTooLongError(
                f"'{path.name}' is {container.duration / 3.6e9:.1f} h long; the limit is "
                f"{max_seconds / 60:.0f} min",
                "cut the file into shorter pieces (e.g. with sox or ffmpeg)",
            )
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        total = 0
        limit = int(max_seconds * SAMPLE_RATE)
        try:
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1)
                    chunks.append(arr)
                    total += len(arr)
                if total > limit:
                    raise AudioTooLongError(
                        f"'{path.name}' is longer than the {max_seconds / 60:.0f} min limit",
                        "cut the file into shorter pieces (e.g. with sox or ffmpeg)",
                    )
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as exc:
            raise AudioDecodeError(
                f"'{path.name}' is corrupt or truncated ({_reason(exc)})", "re-record or re-export it"
            ) from None
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if not np.all(np.isfinite(samples)):
        raise AudioDecodeError(f"'{path.name}' decodes to invalid samples", "re-export the file")
    if len(samples) < min_seconds * SAMPLE_RATE:
        raise AudioTooShortError(
            f"'{path.name}' holds {len(samples) / SAMPLE_RATE:.2f} s of audio; at least "
            f"{min_seconds:.1f} s is needed",
            "record a longer clip",
        )
    return AudioClip(np.clip(samples, -1.0, 1.0), SAMPLE_RATE, str(path))


def resample(samples: np.ndarray, src_rate: int, dst_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Resample float32 mono audio (used for live frames and TTS output) with soxr-quality FFmpeg."""
    if src_rate == dst_rate:
        return samples.astype(np.float32, copy=False)
    import av

    frame = av.AudioFrame.from_ndarray(samples.astype(np.float32).reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = src_rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=dst_rate)
    out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


def speech_level_db(samples: np.ndarray, window: int = 160) -> float:
    """The level of speech in `samples` (dBFS): the RMS over the louder half of its 10 ms windows
    (at 16 kHz), so the pauses between words do not pull it down. -inf dB is returned as -120."""
    x = np.asarray(samples, np.float32).reshape(-1)
    n = len(x) // window
    if n == 0:
        return -120.0
    e = np.mean(x[: n * window].reshape(n, window) ** 2, axis=1)
    ms = float(np.mean(np.sort(e)[n // 2 :]))
    return float(10 * np.log10(max(ms, 1e-12)))


def read_samples(path: str | Path, dtype: str = "float32") -> tuple[np.ndarray, int]:
    """A sound file's samples as stored, (frames,) or (frames, channels), and its rate: for callers
    that need the channels apart or the file's own rate (room impulse responses, a stereo recording of
    two speakers), which load_audio() would mix down and resample."""
    import soundfile as sf

    samples, rate = sf.read(path, dtype=dtype)
    return samples, rate


def check_output_path(path: str | Path) -> Path:
    """Fail now, with the reason, if audio could not be written to `path` later: for commands that
    would otherwise run a whole turn (and its tool actions) before finding the path is bad."""
    import tempfile

    path = Path(path).expanduser()
    hint = "choose another --output path"
    if path.is_dir():
        raise AudioWriteError(f"'{path}' is a directory; --output needs a file name", hint)
    if path.exists() and not path.is_file():
        raise AudioWriteError(f"'{path}' exists and is not a regular file", hint)
    if not path.name or path.name in (".", ".."):
        raise AudioWriteError(f"'{path}' names no file", hint)
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise AudioWriteError(f"cannot write audio to '{path}': '{ancestor}' is not a directory", hint)
    if ancestor == path.parent:
        try:  # a real probe: permissions, a read-only filesystem, ACLs all answer here
            with tempfile.NamedTemporaryFile(dir=ancestor, prefix=".twin-probe-"):
                pass
        except OSError as exc:
            raise AudioWriteError(f"cannot write audio to '{path}': {exc.strerror or exc}", hint) from None
    elif not os.access(ancestor, os.W_OK | os.X_OK):
        raise AudioWriteError(f"cannot write audio to '{path}': '{ancestor}' is not writable", hint)
    return path


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int) -> Path:
    """Write 16-bit PCM WAV atomically (a crash never leaves a half-written file in place)."""
    import io

    import soundfile as sf

    from models.durable import atomic_write_bytes

    path = Path(path)
    if path.exists() and not path.is_file():
        raise AudioWriteError(f"'{path}' exists and is not a regular file", "choose another --output path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        wav = io.BytesIO()
        sf.write(wav, np.clip(samples, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
        atomic_write_bytes(path, wav.getvalue())
    except (OSError, sf.LibsndfileError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise AudioWriteError(
            f"cannot write audio to '{path}': {reason}",
            "free some disk space or choose another --output path",
        ) from None
    return path


def _check_readable_file(path: Path) -> None:
    """The true reason a path is not an audio file to read: missing, a broken link, a link loop, a
    directory, a FIFO or device (reading one could block for ever), unreadable, or empty."""
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            target = os.readlink(path)
            raise AudioDecodeError(
                f"'{path}' is a symbolic link to '{target}', which does not exist", "fix or remove the link"
            ) from None
        raise AudioDecodeError(f"audio file '{path}' does not exist", "check the path") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise AudioDecodeError(
                f"'{path}' is a symbolic link loop (it points back to itself)",
                "point the link at a real audio file",
            ) from None
        raise AudioDecodeError(
            f"cannot open '{path}': {exc.strerror or exc}", "check the path and its permissions"
        ) from None
    if stat.S_ISDIR(st.st_mode):
        raise AudioDecodeError(f"'{path}' is a directory, not an audio file", "pass an audio file")
    if not stat.S_ISREG(st.st_mode):
        raise AudioDecodeError(
            f"'{path}' is {_kind(st.st_mode)}, not a regular audio file",
            "save the audio to a file first, then pass that file",
        )
    if not os.access(path, os.R_OK):
        raise AudioDecodeError(f"cannot read '{path}': permission denied", "check the file's permissions")
    if st.st_size == 0:
        raise AudioDecodeError(f"'{path.name}' is empty (0 bytes)", "record or export the audio again")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "a special file"


def _reason(exc: Exception) -> str:
    """FFmpeg's own words for a failure ("Invalid data found when processing input"), without the
    file name it appends (the message already names the file)."""
    text = getattr(exc, "strerror", None)
    if not isinstance(text, str) or not text.strip():
        text = str(exc)
        filename = getattr(exc, "filename", None)
        if filename:
            text = text.replace(f": '{filename}'", "").replace(f"'{filename}'", "")
        text = re.sub(r"^\[Errno -?\d+\]\s*", "", text).strip(" :")
    return (text.strip() or type(exc).__name__)[:120]
