"""The one module that imports onnxruntime: inference sessions for the VAD, the Piper voice and a
user's ONNX emotion model, and the choice of execution provider for a configured device.

onnxruntime is imported inside the functions: importing Twin's voice package must not pay for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.errors import ModelLoadError


def pick_ort_providers(device: str) -> list[str]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device in ("auto", "cuda") and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device in ("auto", "metal") and "CoreMLExecutionProvider" in available:
        return ["CoreMLExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        raise ModelLoadError(
            "config asks for device 'cuda' but onnxruntime has no CUDA provider",
            "install onnxruntime-gpu, or use device auto/cpu",
        )
    return ["CPUExecutionProvider"]


def create_session(
    model_path: Path | str,
    providers: list[str],
    intra_op_threads: int | None = None,
    inter_op_threads: int | None = None,
) -> Any:
    """An InferenceSession; thread counts left as None keep onnxruntime's defaults (no
    SessionOptions at all when neither is given). Load failures propagate as onnxruntime raises
    them: callers word the error for their own model."""
    import onnxruntime as ort

    opts = None
    if intra_op_threads is not None or inter_op_threads is not None:
        opts = ort.SessionOptions()
        if intra_op_threads is not None:
            opts.intra_op_num_threads = intra_op_threads
        if inter_op_threads is not None:
            opts.inter_op_num_threads = inter_op_threads
    return ort.InferenceSession(str(model_path), sess_options=opts, providers=providers)
