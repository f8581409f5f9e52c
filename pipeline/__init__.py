"""The conversation engine: events, config, endpointing, the LLM backend, turns and the CLI."""

from .components import Components
from .config import ConfigError, TwinConfig, load_config
from .endpointing import Endpoint, Endpointer, Utterance
from .engine import Twin
from .llm import LlamaCppLlm, Llm, LlmError
from .turn import TurnResult, stage_timings

__all__ = [
    "Components",
    "ConfigError",
    "Endpoint",
    "Endpointer",
    "LlamaCppLlm",
    "Llm",
    "LlmError",
    "TurnResult",
    "Twin",
    "TwinConfig",
    "Utterance",
    "load_config",
    "stage_timings",
]
