"""The one module that imports speechbrain: the ECAPA speaker encoder, a user's wav2vec2 emotion
model, and the speaker-verification metrics (EER, minDCF) the identity bench reports.

speechbrain (and the torch under it) is imported inside the functions, only when one is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import ModelLoadError

from .torch_runtime import from_numpy


def load_speaker_encoder(model_dir: Path, device: str) -> Any:
    """An EncoderClassifier from a folder holding the files of speechbrain/spkrec-ecapa-voxceleb.
    `pretrained_path` in its hyperparams.yaml names the hub repo: pointing it at the folder keeps
    every checkpoint local, so nothing is ever fetched."""
    from speechbrain.inference.speaker import EncoderClassifier

    return EncoderClassifier.from_hparams(
        source=str(model_dir),
        savedir=str(model_dir),
        overrides={"pretrained_path": str(model_dir)},
        run_opts={"device": device},
    )


def load_emotion_recogniser(path: Path) -> Any:
    """A wav2vec2 emotion recogniser (e.g. IEMOCAP's) from a local directory holding its
    custom_interface.py."""
    try:
        from speechbrain.inference.interfaces import foreign_class
    except ImportError as exc:
        raise ModelLoadError(
            f"cannot load the speechbrain emotion model: {exc}", "install speechbrain==1.1.2"
        ) from None
    return foreign_class(
        source=str(path), pymodule_file="custom_interface.py", classname="CustomEncoderWav2vec2Classifier"
    )


def verification_metrics(
    targets: Sequence[float], nontargets: Sequence[float], p_target: float = 0.01
) -> tuple[float, float, float]:
    """(EER, threshold at the EER, minDCF with unit costs), from speechbrain.utils.metric_stats."""
    from speechbrain.utils.metric_stats import EER, minDCF

    t = from_numpy(np.array(targets, np.float64))
    n = from_numpy(np.array(nontargets, np.float64))
    eer, eer_thr = EER(t, n)
    dcf, _ = minDCF(t, n, c_miss=1.0, c_fa=1.0, p_target=p_target)
    return float(eer), float(eer_thr), float(dcf)
