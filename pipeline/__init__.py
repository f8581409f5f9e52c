"""The conversation engine: events, config, the runtime (session, front end, turns), the
conversation, language models, acting and tools, and the CLI.

Exports load on first use, so importing one part (the tools, the CLI) does not load the engine.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Components": "pipeline.runtime.components",
    "ConfigError": "pipeline.config",
    "TwinConfig": "pipeline.config",
    "load_config": "pipeline.config",
    "Endpoint": "pipeline.runtime.endpointing",
    "Endpointer": "pipeline.runtime.endpointing",
    "Utterance": "pipeline.events",
    "Twin": "pipeline.runtime.session",
    "LlamaCppLlm": "pipeline.llm",
    "Llm": "pipeline.llm",
    "LlmError": "pipeline.llm",
    "TurnResult": "pipeline.runtime.turn",
    "stage_timings": "pipeline.runtime.turn",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
