"""Twin's own voice: embeddings of its TTS voice, so a recording of Twin (or a replay of its
replies, or its echo in the microphone) is never enrolled, identified or verified as a person."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.durable import atomic_write_bytes

from ..audio import SAMPLE_RATE, AudioClip, resample
from ..capabilities import Prosody, SpeakerEmbedder
from .calibration import calibrate_threshold
from .profiles import ProfileStore
from .vectors import unit

log = logging.getLogger(__name__)

REFERENCE_SENTENCES = (
    "Hello, I am Twin. I can help you with your day.",
    "It is now a quarter past three, and the weather looks fine.",
    "Would you like me to set a reminder for tomorrow morning?",
)


class TwinVoice:
    """How close a voice comes to Twin's own, against the limit above which it is taken for it."""

    def __init__(self, references: Sequence[np.ndarray] = ()) -> None:
        self.references = [unit(np.asarray(e, np.float32)) for e in references]

    @property
    def limit(self) -> float:
        """Closer to Twin's own voice than its renderings are to one another, less a margin."""
        if len(self.references) < 2:
            return 0.8
        return max(0.7, calibrate_threshold(self.references, []))

    def score(self, vector: np.ndarray) -> float:
        if not self.references or not np.any(vector):
            return 0.0
        v = unit(vector)
        return float(max(v @ s for s in self.references))


def twin_voice_references(tts, embedder: SpeakerEmbedder, cache_dir: Path | None = None) -> list[np.ndarray]:
    """Embeddings of Twin's own TTS voice at several speaking rates. Cached per voice and per
    speaker encoder (each encoder's vectors live in their own space)."""
    name = getattr(getattr(tts, "descriptor", None), "name", "tts")
    encoder = embedder.descriptor
    slug = f"{ProfileStore.slug(name)}-{ProfileStore.slug(encoder.name)}-{encoder.dim}"
    cache = Path(cache_dir) / f"synthetic-{slug}.npy" if cache_dir else None
    if cache is not None and cache.exists():
        try:
            cached = np.load(cache)
            if cached.ndim != 2 or cached.shape[1] != encoder.dim:
                raise ValueError(f"vectors of size {cached.shape[1:]}, not {encoder.dim}")
            return list(cached)
        except (OSError, ValueError) as exc:
            log.warning("rebuilding the unreadable synthetic-voice cache %s: %s", cache, exc)
    refs = []
    for text in REFERENCE_SENTENCES:
        for rate in (0.85, 1.15):
            audio = tts.synthesize_all(text, Prosody(length_scale=rate))
            clip = AudioClip(resample(audio, tts.sample_rate, SAMPLE_RATE), SAMPLE_RATE, "twin-voice")
            refs.append(embedder.embed(clip).vector)
    if cache is not None:
        buffer = io.BytesIO()
        np.save(buffer, np.stack(refs))
        atomic_write_bytes(cache, buffer.getvalue())
    return refs
