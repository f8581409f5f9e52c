"""How the voice moves: pitch, loudness, speaking rate and pauses of one utterance, and a speaker's
usual values of them (their baseline), so a naturally high voice is not taken for an excited one.

The one module that imports parselmouth (Praat), lazily.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..clip import SAMPLE_RATE, AudioClip
from .sentiment import syllable_count


@dataclass(frozen=True)
class ProsodyFeatures:
    f0_median_st: float  # semitones above 100 Hz (nan: no voiced frames)
    f0_spread_st: float  # standard deviation of pitch, semitones
    energy_db: float  # mean intensity of voiced frames
    rate_sps: float  # syllables per second of speech (from the transcript, else intensity peaks)
    pause_ratio: float  # share of silence between the first and last speech
    speech_seconds: float
    # pitch at the very end against the stretch before it, semitones: a spoken question rises
    final_rise_st: float = math.nan

    def to_json(self) -> dict[str, float]:
        return {k: (round(v, 3) if math.isfinite(v) else None) for k, v in asdict(self).items()}


# Typical adult conversational speech, for a speaker with no baseline yet. Pitch level and loudness
# depend on the voice and the microphone, so without a baseline they do not count.
POPULATION = {"f0_spread_st": 2.5, "rate_sps": 5.5, "pause_ratio": 0.15}
SCALES = {"f0_median_st": 2.0, "f0_spread_st": 1.0, "energy_db": 4.0, "rate_sps": 1.5, "pause_ratio": 0.1}
AROUSAL_WEIGHTS = {
    "f0_median_st": 0.35,
    "f0_spread_st": 0.3,
    "energy_db": 0.3,
    "rate_sps": 0.35,
    "pause_ratio": -0.2,
}


def prosody_features(audio: AudioClip, text: str = "") -> ProsodyFeatures:
    """Praat's pitch and intensity tracks (via parselmouth) summarised for one utterance."""
    import parselmouth

    samples = audio.samples.astype(np.float64)
    if audio.sample_rate != SAMPLE_RATE or len(samples) < 0.1 * audio.sample_rate:
        return ProsodyFeatures(math.nan, math.nan, math.nan, math.nan, math.nan, 0.0)
    snd = parselmouth.Sound(samples, sampling_frequency=audio.sample_rate)
    pitch = snd.to_pitch(time_step=0.01, pitch_floor=60.0, pitch_ceiling=500.0)
    f0 = pitch.selected_array["frequency"]
    voiced = f0[f0 > 0]
    if len(voiced) < 10:  # under 0.1 s of voicing: nothing to judge (silence, noise)
        return ProsodyFeatures(math.nan, math.nan, math.nan, math.nan, math.nan, 0.0)
    st = 12 * np.log2(voiced / 100.0) if len(voiced) else np.zeros(0)
    intensity = snd.to_intensity(minimum_pitch=75.0, time_step=0.01)
    db = intensity.values[0]
    if not len(db) or not np.isfinite(db).any():
        return ProsodyFeatures(math.nan, math.nan, math.nan, math.nan, math.nan, 0.0)
    loud = db > (np.nanmax(db) - 25.0)
    idx = np.flatnonzero(loud)
    span = (idx[-1] - idx[0] + 1) if len(idx) else 0
    speech_frames = int(loud[idx[0] : idx[-1] + 1].sum()) if len(idx) else 0
    speech_s = speech_frames * 0.01
    pause_ratio = 1.0 - speech_frames / span if span else math.nan
    if text.strip():
        syllables = syllable_count(text)
    else:  # intensity peaks stand in for syllable nuclei
        from scipy.signal import find_peaks

        peaks, _ = find_peaks(np.nan_to_num(db, nan=0.0), prominence=2.0, distance=10)
        syllables = int(np.sum(loud[peaks])) if len(peaks) else 0
    rate = syllables / speech_s if speech_s > 0.2 and syllables else math.nan
    voiced_db = db[loud]
    return ProsodyFeatures(
        float(np.median(st)) if len(st) else math.nan,
        float(np.std(st)) if len(st) > 5 else math.nan,
        float(np.mean(voiced_db)) if len(voiced_db) else math.nan,
        float(rate),
        float(pause_ratio),
        float(speech_s),
        final_rise(f0),
    )


def final_rise(f0: np.ndarray, step_s: float = 0.01) -> float:
    """How far the pitch of the last voiced 0.15 s sits above the voiced second before it
    (semitones; nan when too little is voiced). Medians, so one octave error does not decide."""
    idx = np.flatnonzero(f0 > 0)
    tail_n = int(0.15 / step_s)
    if len(idx) < tail_n + 20:
        return math.nan
    st = 12 * np.log2(f0[idx] / 100.0)
    end = idx[-1]
    tail = st[idx > end - 0.3 / step_s][-tail_n:]  # the last voiced frames, within 0.3 s of the end
    body = st[(idx <= end - 0.3 / step_s) & (idx > end - 1.3 / step_s)]
    if len(tail) < 5 or len(body) < 10:
        return math.nan
    return round(float(np.median(tail) - np.median(body)), 2)


def baseline_from(features: list[ProsodyFeatures]) -> dict[str, float]:
    """A speaker's usual voice: the median of each feature over their enrolment clips."""
    out: dict[str, float] = {}
    for key in SCALES:
        values = [getattr(f, key) for f in features if math.isfinite(getattr(f, key))]
        if values:
            out[key] = round(float(np.median(values)), 4)
    return out
