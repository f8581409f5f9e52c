"""The one module that imports onnxruntime: inference sessions for the VAD, the Piper voice and a
user's ONNX emotion model, and the choice of execution provider for a configured device.

onnxruntime is imported inside the functions: importing Twin's voice package must not pay for it.

Telemetry: this onnxruntime build carries Microsoft's 1DS telemetry on Linux too, and uploads it
seconds after the first session is made (a DNS lookup of mobile.events.data.microsoft.com, then
HTTPS). Twin makes no network call unless the user allows one, so every import goes through `_ort()`.
`disable_telemetry_events()` alone does not stop the upload (measured with strace: the lookups still
come ~9 s later); the environment variable ORT_DISABLE_TELEMETRY=1, read by the native library when
it starts its telemetry, does. It is process-wide and reaches sessions a library makes on its own
(faster-whisper's VAD) too, as long as it is set before the first session: the CLI sets it at start,
and `disable_telemetry()` is there for any other entry point.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from models.errors import ModelLoadError

_telemetry_off = False
# "0": a session's worker threads never spin waiting for work (create_session); "1" is onnxruntime's
# own default, kept only for `python -m bench.spinning` to measure against
ALLOW_SPINNING = "0"


def _ort() -> Any:
    """onnxruntime, with its telemetry off for the whole process (idempotent)."""
    global _telemetry_off
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"  # forced: Twin's promise is no network unless allowed
    import onnxruntime as ort

    if not _telemetry_off:
        ort.disable_telemetry_events()
        _telemetry_off = True
    return ort


def disable_telemetry() -> None:
    """Switch onnxruntime's telemetry off before anything (Twin or a library) makes a session."""
    _ort()


def pick_ort_providers(device: str) -> list[str]:
    ort = _ort()

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
    model_path: Path | str | bytes,
    providers: list[str],
    intra_op_threads: int | None = None,
    inter_op_threads: int | None = None,
    mem_pattern: bool = True,
) -> Any:
    """An InferenceSession of a model file (or a serialized model's bytes); thread counts left as
    None keep onnxruntime's defaults. Load failures propagate as onnxruntime raises them: callers
    word the error for their own model.

    `mem_pattern=False` for a model whose input shapes change on every run (Piper: the length of
    the sentence): onnxruntime's memory pattern plans one block per shape and its CPU arena, which
    grows by powers of two and never shrinks, keeps them all. Off, the Piper voice's session grew by
    168-170 MB over 16 sentences in three runs, against 183-305 MB with it on, at the same speed
    (README "Memory footprint"). The arena itself stays on: without it every sentence faulted in
    ~65,000 fresh pages and took ~60% longer.

    The session's worker threads never spin waiting for work (onnxruntime's
    `session.intra_op.allow_spinning`, on by default): after each Piper sentence they spun on the
    cores the speech recogniser and the model needed next. A 1.6 s command's decode right after a
    sentence took 135 ms beside them and 113 ms without (numpy's BLAS limited in both), the sentence
    itself 170 and 168 ms (`python -m bench.spinning`; README, "Measured figures")."""
    ort = _ort()

    opts = ort.SessionOptions()
    if intra_op_threads is not None:
        opts.intra_op_num_threads = intra_op_threads
    if inter_op_threads is not None:
        opts.inter_op_num_threads = inter_op_threads
    opts.enable_mem_pattern = mem_pattern
    opts.add_session_config_entry("session.intra_op.allow_spinning", ALLOW_SPINNING)
    opts.add_session_config_entry("session.inter_op.allow_spinning", ALLOW_SPINNING)
    model = model_path if isinstance(model_path, bytes) else str(model_path)
    return ort.InferenceSession(model, sess_options=opts, providers=providers)


def shrinking_run_options() -> Any:
    """RunOptions for a run after which the session's CPU arena gives back every region it no longer
    uses (onnxruntime's `memory.enable_memory_arena_shrinkage`). On every run it costs the next run
    its page faults (Piper: ~6% slower per sentence); `voice/tts.py` uses it once a reply is over."""
    ort = _ort()
    options = ort.RunOptions()
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options
