"""The conversation as the model sees it: a stable system prompt, past turns exactly as they were
sent, then this turn's context line and the user's words.

Append-only, so llama.cpp's prefix cache covers everything but the new turn. The clock is injected:
the context line says what time it is, and a test freezes it rather than depend on today's date.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from persona.style import TurnStyle
from pipeline.llm.sanitize import strip_special_tokens

LANGUAGE_NAMES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "nl": "Dutch",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "pt": "Portuguese",
}


def local_now() -> datetime:
    return datetime.now().astimezone()


def time_line(now: datetime) -> str:
    """The first line of each turn's context. "2 March", never "02 March": a zero-padded day is
    read out digit by digit."""
    return f"It is now {now:%A} {now.day} {now:%B %Y, %H:%M}."


def time_lead(now: datetime) -> str:
    """`time_line` up to the minutes: what the next turn's context most likely begins with, so the
    model's cache can hold it before that turn (the minutes are left to the turn)."""
    return f"It is now {now:%A} {now.day} {now:%B %Y, %H}:"


class Conversation:
    def __init__(
        self, system_prompt: str, history_turns: int, clock: Callable[[], datetime] = local_now
    ) -> None:
        self.system_prompt = system_prompt
        self.history_turns = history_turns
        self.clock = clock
        self.history: list[dict[str, str]] = []

    def messages_for(
        self,
        text: str,
        language: str,
        recalled: list[str] | None = None,
        style: TurnStyle | None = None,
        extra: str = "",
    ) -> list[dict[str, str]]:
        """The prompt for one turn: `extra` (tool results) goes at the end of its context line.
        Recalled memories and tool results are untrusted text: no chat-template token in them
        reaches the model."""
        context = [time_line(self.clock())]
        if style is not None and style.line:
            context.append(style.line)  # per turn, so the system prompt (and its cache) stays put
        if recalled:
            context.append(
                "What you remember about the user (use only if it helps):\n- "
                + "\n- ".join(strip_special_tokens(r) for r in recalled)
            )
        if language != "en":
            context.append(f"The user spoke {LANGUAGE_NAMES.get(language, language)}; reply in it.")
        line = "\n".join(context) + ("\n" + strip_special_tokens(extra) if extra else "")
        return [
            {"role": "system", "content": self.system_prompt},
            *self.history,
            {"role": "system", "content": line},
            {"role": "user", "content": text},
        ]

    def prefix(self) -> list[dict[str, str]]:
        """What every next prompt begins with: the system prompt and the history so far."""
        return [{"role": "system", "content": self.system_prompt}, *self.history]

    def lead(self) -> str:
        """How the next turn's context line most likely begins (`time_lead` of now)."""
        return time_lead(self.clock())

    @property
    def dialogue(self) -> list[dict[str, str]]:
        """What was said, without the per-turn context lines."""
        return [m for m in self.history if m["role"] != "system"]

    def remember(self, context: str, text: str, said: str) -> None:
        self.history += [
            {"role": "system", "content": context},
            {"role": "user", "content": text},
            {"role": "assistant", "content": said},
        ]
        limit = self.history_turns
        if len(self.history) > 3 * limit:
            # Drop to half at once rather than one turn per turn: the prompt prefix (and the
            # model's cache of it) then stays the same for the next several turns.
            keep = 3 * (limit // 2)
            self.history = self.history[len(self.history) - keep :] if keep else []
