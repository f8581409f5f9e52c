"""Who Twin is: persona definitions, the stable system prompt, and spoken-form shaping."""

from .persona import Persona, PersonaError, load_persona, system_prompt
from .spoken import to_spoken

__all__ = ["Persona", "PersonaError", "load_persona", "system_prompt", "to_spoken"]
