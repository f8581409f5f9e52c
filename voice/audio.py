"""Reading audio of any common format, rate and channel count into 16 kHz mono float32.

The one module that imports the audio libraries (PyAV for decoding and resampling, soundfile for
WAV files): everything else reads and writes audio through it.
"""

from __future__ import annotations

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
    if not path.exists():
        raise AudioDecodeError(f"audio file '{path}' does not exist", "check the path")
    if path.is_dir():
        raise AudioDecodeError(f"'{path}' is a directory, not an audio file", "pass an audio file")
    if path.stat().st_size == 0:
        raise AudioDecodeError(f"'{path.name}' is empty (0 bytes)", "record or export the audio again")
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


def read_samples(path: str | Path, dtype: str = "float32") -> tuple[np.ndarray, int]:
    """A sound file's samples as stored, (frames,) or (frames, channels), and its rate: for callers
    that need the channels apart or the file's own rate (room impulse responses, a stereo recording of
    two speakers), which load_audio() would mix down and resample."""
    import soundfile as sf

    samples, rate = sf.read(path, dtype=dtype)
    return samples, rate


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


def _reason(exc: Exception) -> str:
    text = str(exc).split(":")[-1].strip() or type(exc).__name__
    return text[:120]
