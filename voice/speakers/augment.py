"""Generated degradations of an enrolment clip, so a profile's threshold is calibrated on how its
voice sounds through a room, noise and a phone line, not on the clean enrolment recordings alone.

Everything here is generated (seeded, so the same clip gives the same degradations): Polack-model
room impulse responses, pink noise, noise with the clip's own long-term spectrum (a stand-in for
babble), and a telephone band. No recorded noise or impulse response is used, so calibration never
sees the degradations `twin bench identity` tests with (the speechbrain fixture noise and RIRs).
"""

from __future__ import annotations

import numpy as np

from ..clip import SAMPLE_RATE, AudioClip

# (name, what it does) of each degradation; CALIBRATION_DEGRADATIONS are applied at enrolment.
CALIBRATION_DEGRADATIONS = (
    "room 0.5 s",
    "pink noise 5 dB",
    "speech-shaped noise 5 dB",
    "room 0.9 s + pink 10 dB",
    "phone",
)


def synthetic_rir(rt60: float, rng: np.random.Generator, direct_ms: float = 2.0) -> np.ndarray:
    """Polack's model: a direct path, then Gaussian noise decaying by 60 dB over `rt60`."""
    n = int(rt60 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    rir = rng.standard_normal(n) * 10 ** (-3 * t / rt60) * 0.3
    rir[int(direct_ms / 1000 * SAMPLE_RATE)] = 1.0
    return rir / np.sqrt(np.sum(rir**2))


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """1/f noise: white noise shaped in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spectrum / np.sqrt(f), n)


def speech_shaped_noise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stationary noise with the clip's own long-term spectrum (its magnitudes, random phases): what
    a room of voices sounds like from afar, without anyone's words."""
    mag = np.abs(np.fft.rfft(x))
    phase = np.exp(2j * np.pi * rng.random(len(mag)))
    return np.fft.irfft(mag * phase, len(x))


def add_noise(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    gain = np.sqrt(np.mean(x**2) / (np.mean(noise**2) + 1e-12) / 10 ** (snr_db / 10))
    return x + gain * noise


def reverberate(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    from scipy.signal import fftconvolve

    y = fftconvolve(x, rir)[: len(x)]
    return y * (np.abs(x).max() / (np.abs(y).max() + 1e-9))


def telephone(x: np.ndarray) -> np.ndarray:
    """Down to 8 kHz and back, band-limited to 300-3400 Hz, as a phone line carries it."""
    from scipy.signal import butter, resample_poly, sosfilt

    narrow = resample_poly(x, 1, 2)
    sos = butter(4, [300, 3400], btype="bandpass", fs=SAMPLE_RATE // 2, output="sos")
    return resample_poly(sosfilt(sos, narrow), 2, 1)[: len(x)]


def degraded_versions(clip: AudioClip) -> list[AudioClip]:
    """The clip through each of CALIBRATION_DEGRADATIONS (16 kHz, seeded by the clip's length)."""
    x = clip.samples.astype(np.float64)
    if clip.sample_rate != SAMPLE_RATE:
        from ..audio import resample

        x = resample(clip.samples, clip.sample_rate, SAMPLE_RATE).astype(np.float64)
    if len(x) == 0:
        return []
    rng = np.random.default_rng(len(x))
    peak = max(float(np.abs(x).max()), 1e-9)
    outs = [
        reverberate(x, synthetic_rir(0.5, rng)),
        add_noise(x, pink_noise(len(x), rng), 5.0),
        add_noise(x, speech_shaped_noise(x, rng), 5.0),
        add_noise(reverberate(x, synthetic_rir(0.9, rng)), pink_noise(len(x), rng), 10.0),
        telephone(x),
    ]
    clips = []
    for name, y in zip(CALIBRATION_DEGRADATIONS, outs, strict=True):
        y = y * (peak / max(float(np.abs(y).max()), 1e-9))
        clips.append(AudioClip(np.clip(y, -1, 1).astype(np.float32), SAMPLE_RATE, f"{clip.source} ({name})"))
    return clips
