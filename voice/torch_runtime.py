"""The one module that imports torch, with the few operations the speaker encoders, the speechbrain
emotion model and the identity metrics need.

torch is imported inside each function: it costs seconds and hundreds of MB, and the voice path
(VAD, ASR, TTS) never needs it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import numpy as np


def set_threads(n: int) -> None:
    """Speaker models run beside ASR on a 2-core device, where torch's spinning worker threads stall
    for seconds when the cores are oversubscribed: callers pin them to one."""
    import torch

    torch.set_num_threads(n)


def no_grad() -> AbstractContextManager[Any]:
    import torch

    return torch.no_grad()


def from_numpy(array: np.ndarray) -> Any:
    """A tensor sharing the array's memory (no copy)."""
    import torch

    return torch.from_numpy(array)


def softmax(tensor: Any, dim: int) -> Any:
    import torch

    return torch.softmax(tensor, dim)


def export_onnx(module: Any, example: np.ndarray, input_name: str, output_name: str) -> bytes:
    """`module` (batch first, one input, one output) as a serialized ONNX graph with a free batch
    size: torch's TorchScript exporter, which needs the `onnx` package."""
    import io

    import torch

    module.eval()
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            module,
            (torch.from_numpy(np.ascontiguousarray(example)),),
            buffer,
            input_names=[input_name],
            output_names=[output_name],
            dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    return buffer.getvalue()
