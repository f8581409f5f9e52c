"""Language models behind one Protocol: the descriptors (base.py), the one llama.cpp adapter."""

from pipeline.llm.base import Llm, LlmDescriptor, LlmError, PlannerModel
from pipeline.llm.llama import LlamaCppLlm, LlamaPlannerModel

__all__ = ["LlamaCppLlm", "LlamaPlannerModel", "Llm", "LlmDescriptor", "LlmError", "PlannerModel"]
