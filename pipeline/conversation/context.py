"""The conversation as the model sees it: a stable system prompt, past turns exactly as they were
sent, then this turn's context line and the user's words.

Append-only, so llama.cpp's prefix cache covers everything but the new turn. The clock is injected:
the context line says what time it is, and a test freezes it rather than depend on today's date.

A reply Twin composed itself, without the model ("You told me: your son Peter is coming to visit on
Saturday.", "I'll remember that ...", "I can't check the weather from here", a list read back) stays
in the history as said (honesty.py reads the dialogue), marked `COMPOSED` when it is stored with
the turn's context line; the model's view keeps only the user's words of that turn (the facts the
user gave; memory's and the tools' come again in the context of the turn that needs them). Shown the
composed lines as its own earlier answers, the 0.5B model copied them as a template: "Who is the
king of England?" got "You told me: the king of England is Queen Elizabeth." after two "You told me"
turns (greedy; with the composed replies left out it said "The king of England is Queen Elizabeth
II."). Left with a context line answered by nothing, it answered "Who was Marie Curie?" with the
context line itself ("It is now Wednesday ..."): so that line goes too. A turn's rendering is
decided when it is stored and never changes, so the prefix cache still reuses every earlier turn.
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


# The key that marks a history entry of a turn whose reply Twin composed itself (its value "yes"):
# the reply and the turn's context line.
COMPOSED = "composed"
# The key that keeps the sentence Twin said before the model's answer ("This is from what you told
# me."): the model's view of that reply starts after it.
LEAD = "lead"


def _seen(entry: dict[str, str]) -> dict[str, str]:
    lead = entry.get(LEAD, "")
    content = entry["content"]
    if lead and content.startswith(lead):
        content = content[len(lead) :].strip()
    return {"role": entry["role"], "content": content}


def model_view(history: list[dict[str, str]]) -> list[dict[str, str]]:
    """The history as the model sees it: each entry as it was sent, but of a turn Twin answered
    itself only the user's words (`COMPOSED`), and of a reply Twin began with its own sentence only
    the model's part (`LEAD`). Entry by entry, so an earlier turn renders the same way on every
    later turn."""
    return [_seen(m) if LEAD in m else m for m in history if COMPOSED not in m]


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
            *model_view(self.history),
            {"role": "system", "content": line},
            {"role": "user", "content": text},
        ]

    def prefix(self) -> list[dict[str, str]]:
        """What every next prompt begins with: the system prompt and the history so far (as the
        model sees it: `model_view`)."""
        return [{"role": "system", "content": self.system_prompt}, *model_view(self.history)]

    def lead(self) -> str:
        """How the next turn's context line most likely begins (`time_lead` of now)."""
        return time_lead(self.clock())

    @property
    def dialogue(self) -> list[dict[str, str]]:
        """What was said, without the per-turn context lines."""
        return [m for m in self.history if m["role"] != "system"]

    def remember(self, context: str, text: str, said: str, composed: bool = False, lead: str = "") -> None:
        """One turn into the history; `composed`: Twin composed the reply itself, not the model
        (kept as said; the model's view keeps the user's words only: `model_view`); `lead`: the
        sentence Twin said before the model's answer (left out of the model's view)."""
        line = {"role": "system", "content": context}
        reply = {"role": "assistant", "content": said}
        if lead.strip() and said.startswith(lead.strip()):
            reply[LEAD] = lead.strip()
            composed = composed or not said[len(lead.strip()) :].strip()  # nothing of the model's
        if composed:
            line[COMPOSED] = reply[COMPOSED] = "yes"
        self.history += [line, {"role": "user", "content": text}, reply]
        limit = self.history_turns
        if len(self.history) > 3 * limit:
            # Drop to half at once rather than one turn per turn: the prompt prefix (and the
            # model's cache of it) then stays the same for the next several turns.
            keep = 3 * (limit // 2)
            self.history = self.history[len(self.history) - keep :] if keep else []
