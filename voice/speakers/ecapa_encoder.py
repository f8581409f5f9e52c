"""speechbrain's ECAPA-TDNN speaker encoder, loaded strictly offline from a folder holding the files
of speechbrain/spkrec-ecapa-voxceleb (it is in no package, and Twin never downloads it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.errors import ModelLoadError

from ..capabilities import EmbedderDescriptor, SpeechEmbedding
from ..clip import SAMPLE_RATE, AudioClip
from ..speechbrain_runtime import load_speaker_encoder
from ..torch_runtime import from_numpy, no_grad, set_threads
from .errors import SpeakerModelMissingError
from .resemblyzer_encoder import trim_speech, warm_up_trimming
from .vectors import unit

# The files of speechbrain/spkrec-ecapa-voxceleb that loading it needs (it is not in any package).
ECAPA_FILES = (
    "hyperparams.yaml",
    "embedding_model.ckpt",
    "mean_var_norm_emb.ckpt",
    "classifier.ckpt",
    "label_encoder.txt",
)
ECAPA_HUB_ID = "speechbrain/spkrec-ecapa-voxceleb"
ECAPA_BACKEND = "speechbrain-ecapa-voxceleb"


def missing_ecapa_files(model_dir: Path) -> list[str]:
    model_dir = Path(model_dir)
    return [name for name in ECAPA_FILES if not (model_dir / name).is_file()]


class EcapaEmbedder:
    """speechbrain's ECAPA-TDNN x-vectors (192-d for spkrec-ecapa-voxceleb), loaded strictly
    offline from a local folder holding the files of speechbrain/spkrec-ecapa-voxceleb.

    Speech is found and trimmed as on the Resemblyzer path (volume normalised, long silences cut
    by the same VAD), so `speech_seconds` means the same with either backend. The utterance vector
    is the whole trimmed utterance's embedding; the partials are 1.6 s windows every 0.4 s (the
    windows Resemblyzer uses), for two_voice_score()."""

    WINDOW = int(1.6 * SAMPLE_RATE)
    HOP = int(0.4 * SAMPLE_RATE)
    BATCH = 8

    def __init__(self, model_dir: Path | str, device: str = "cpu") -> None:
        model_dir = Path(model_dir).expanduser()
        missing = missing_ecapa_files(model_dir)
        if missing:
            raise SpeakerModelMissingError(
                f"the ECAPA speaker encoder is not in {model_dir}: {', '.join(missing)} missing",
                f"put the files of {ECAPA_HUB_ID} ({', '.join(ECAPA_FILES)}) in {model_dir}, "
                "set identity.ecapa_dir to a folder holding them, "
                'or set identity.embedder = "resemblyzer" (its weights ship with Twin)',
            )
        # One thread, as on the Resemblyzer path: it runs beside ASR on a 2-core device.
        set_threads(1)
        device = "cpu" if device in ("auto", "metal") else device
        try:
            self.encoder = load_speaker_encoder(model_dir, device)
        except Exception as exc:  # noqa: BLE001 - any failure to load is the same error to the user
            raise ModelLoadError(
                f"the ECAPA speaker encoder in {model_dir} did not load: {type(exc).__name__}: {exc}",
                f"replace the folder with the files of {ECAPA_HUB_ID}, "
                'or set identity.embedder = "resemblyzer"',
            ) from exc
        self.encoder.eval()
        self.model_dir = model_dir
        dim = self._warm_up()
        self.descriptor = EmbedderDescriptor(ECAPA_BACKEND, dim)

    def _warm_up(self) -> int:
        """Pay the first-call costs at load, not in a turn; answers the embedding size."""
        warm_up_trimming()
        self._encode(np.zeros((self.BATCH, self.WINDOW), np.float32))
        return int(self._encode(np.zeros((1, 2 * SAMPLE_RATE), np.float32)).shape[1])

    def _encode(self, wavs: np.ndarray) -> np.ndarray:
        with no_grad():
            emb = self.encoder.encode_batch(from_numpy(np.ascontiguousarray(wavs, np.float32)))
        return emb.reshape(len(wavs), -1).cpu().numpy().astype(np.float32)

    def embed(self, audio: AudioClip) -> SpeechEmbedding:
        dim = self.descriptor.dim
        wav = trim_speech(audio)
        speech = len(wav) / SAMPLE_RATE
        if speech < 0.3:
            return SpeechEmbedding(np.zeros(dim, np.float32), np.zeros((0, dim), np.float32), speech)
        vector = unit(self._encode(wav[None])[0])
        partials = self._partials(wav)
        return SpeechEmbedding(vector.astype(np.float32), partials, speech)

    def _partials(self, wav: np.ndarray) -> np.ndarray:
        """Unit embeddings of 1.6 s windows every 0.4 s, the last one flush with the end when more
        than half a hop is left over; one window (the whole clip) when it is shorter than that.
        Run in fixed-size batches, so torch meets one batch shape, not a new one per utterance."""
        if len(wav) <= self.WINDOW:
            return np.stack([unit(self._encode(wav[None])[0])]).astype(np.float32)
        starts = list(range(0, len(wav) - self.WINDOW + 1, self.HOP))
        if len(wav) - (starts[-1] + self.WINDOW) > self.HOP // 2:
            starts.append(len(wav) - self.WINDOW)
        windows = np.stack([wav[s : s + self.WINDOW] for s in starts]).astype(np.float32)
        out = []
        for i in range(0, len(windows), self.BATCH):
            chunk = windows[i : i + self.BATCH]
            n = len(chunk)
            if n < self.BATCH:
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], self.BATCH - n, 0)])
            out.append(self._encode(chunk)[:n])
        partials = np.concatenate(out)
        norms = np.linalg.norm(partials, axis=1, keepdims=True)
        return (partials / np.where(norms > 0, norms, 1.0)).astype(np.float32)
