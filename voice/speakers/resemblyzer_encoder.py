"""Resemblyzer's GE2E speaker encoder (256-d d-vectors; the weights ship inside its wheel), and the
speech trimming both encoders share (its volume normalisation and VAD), so `speech_seconds` means the
same whichever encoder is chosen.

The one module that imports resemblyzer, inside the functions: loading it costs seconds.
"""

from __future__ import annotations

import numpy as np

from ..audio import SAMPLE_RATE, AudioClip, resample
from ..capabilities import EmbedderDescriptor, SpeechEmbedding
from ..torch_runtime import from_numpy, no_grad, set_threads
from .vectors import unit

RESEMBLYZER_BACKEND = "resemblyzer-ge2e"


def trim_speech(audio: AudioClip) -> np.ndarray:
    """The clip's speech at 16 kHz, volume normalised and with long silences cut; empty for a clip
    that is silent (or digital zero), which is never passed to the VAD."""
    from resemblyzer import preprocess_wav

    samples = audio.samples
    if audio.sample_rate != SAMPLE_RATE:
        samples = resample(samples, audio.sample_rate, SAMPLE_RATE)
    if len(samples) == 0 or float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) < 1e-4:
        return np.zeros(0, np.float32)
    return preprocess_wav(samples.astype(np.float32), source_sr=SAMPLE_RATE)


def warm_up_trimming() -> None:
    """Pay trim_speech()'s first-call costs (librosa's, webrtcvad's) at load, not in a turn."""
    from resemblyzer import preprocess_wav

    rng = np.random.default_rng(0)
    preprocess_wav((0.1 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32), source_sr=SAMPLE_RATE)


class ResemblyzerEmbedder:
    """GE2E d-vectors (256-d); the weights ship inside the `resemblyzer` wheel."""

    def __init__(self, device: str = "cpu") -> None:
        from resemblyzer import VoiceEncoder

        # One thread: it runs beside ASR on a 2-core device, and torch's spinning worker threads
        # stall for seconds when the cores are oversubscribed.
        set_threads(1)
        self.encoder = VoiceEncoder("cpu" if device in ("auto", "metal") else device, verbose=False)
        self.descriptor = EmbedderDescriptor(RESEMBLYZER_BACKEND, 256)
        self._warm_up()

    BATCH = 8

    def _warm_up(self) -> None:
        """Pay the first-call costs (librosa's mel filters, torch's kernels) at load, not in a turn."""
        from resemblyzer import audio as ra

        warm_up_trimming()
        ra.wav_to_mel_spectrogram(np.zeros(2 * SAMPLE_RATE, np.float32))
        with no_grad():
            self.encoder(from_numpy(np.zeros((self.BATCH, 160, 40), np.float32)))

    def embed(self, audio: AudioClip) -> SpeechEmbedding:
        wav = trim_speech(audio)
        speech = len(wav) / SAMPLE_RATE
        if speech < 0.3:
            return SpeechEmbedding(np.zeros(256, np.float32), np.zeros((0, 256), np.float32), speech)
        partials = self._partials(wav)
        vector = unit(partials.mean(0))
        return SpeechEmbedding(vector.astype(np.float32), partials.astype(np.float32), speech)

    def _partials(self, wav: np.ndarray) -> np.ndarray:
        """Resemblyzer's embed_utterance, with the windows run through the LSTM in fixed-size
        batches: each new batch size costs torch a slow first call (seconds on 2 cores), and the
        number of windows varies with every utterance."""
        from resemblyzer import audio as ra

        wav_slices, mel_slices = self.encoder.compute_partial_slices(len(wav), rate=2.5, min_coverage=0.75)
        if wav_slices[-1].stop >= len(wav):
            wav = np.pad(wav, (0, wav_slices[-1].stop - len(wav)))
        mel = ra.wav_to_mel_spectrogram(wav)
        mels = np.array([mel[s] for s in mel_slices], np.float32)
        out = []
        with no_grad():
            for i in range(0, len(mels), self.BATCH):
                chunk = mels[i : i + self.BATCH]
                n = len(chunk)
                if n < self.BATCH:
                    chunk = np.concatenate([chunk, np.repeat(chunk[-1:], self.BATCH - n, 0)])
                out.append(self.encoder(from_numpy(chunk)).numpy()[:n])
        return np.concatenate(out)
