"""Who may run which tool call, and when the user must be asked first.

The gate decides from facts the model cannot forge: the tool's declared tier, the speaker's role,
and the provenance of each argument value. Provenance is computed here from what the turn actually
saw, not from anything the planner says: text from tool results, MCP servers, documents, memory or
the network is untrusted, and an argument the user's own words do not support, in a turn that has
seen untrusted text, counts as derived from it. Such a call needs a spoken yes even at the act tier.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from persona.spoken import number_words
from pipeline.tools.base import Tier, Tool

UNTRUSTED_CHANNELS = ("tool_result", "mcp", "document", "memory", "network", "calendar", "note")

_NUMBER_WORDS = {w: str(i) for i, w in enumerate(number_words(20))}


def _tokens(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+(?:\.[0-9]+)?", text.lower())
    return [_NUMBER_WORDS.get(w, w) for w in words]


def _norm(text: str) -> str:
    return " ".join(_tokens(text))


def _strings(value: Any) -> list[str]:
    if isinstance(value, bool):
        return [str(value).lower()]
    if isinstance(value, int | float):
        return [f"{value:g}" if isinstance(value, float) else str(value)]
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


@dataclass
class Provenance:
    """What one turn has seen: the user's words (trusted) and every piece of untrusted text."""

    user_text: str
    untrusted: list[tuple[str, str]] = field(default_factory=list)  # (channel, text)

    def add_untrusted(self, channel: str, text: str) -> None:
        if text.strip():
            self.untrusted.append((channel, text))

    def supported_by_user(self, value: str) -> bool:
        user = set(_tokens(self.user_text))
        toks = _tokens(value)
        return bool(toks) and all(t in user for t in toks)

    def taint(self, value: Any) -> list[str]:
        """Channels an argument value may derive from; empty when it is the user's own."""
        channels: list[str] = []
        for s in _strings(value):
            n = _norm(s)
            if not n or self.supported_by_user(s):
                continue
            hits = [ch for ch, text in self.untrusted if n in _norm(text)]
            if hits:
                channels += hits
            elif self.untrusted:
                channels.append("unknown_after_untrusted")
        return sorted(set(channels))


GUEST = "unknown"  # the household's name for a voice that is none of the enrolled ones


@dataclass(frozen=True)
class Speaker:
    name: str = "owner"
    role: str = "owner"  # owner | adult | guest | child


@dataclass(frozen=True)
class Company:
    """Who else may hear a turn: the device's rule (`DeviceProfile.others_may_listen`: a car's cabin)
    and how many voices were heard with the request. Facts of the turn, never the model's: set for
    the turn's task (`TURN_COMPANY`) by whoever heard its voices (the hub's device session, from the
    turn's `VoiceHeard`)."""

    others_may_listen: bool = False
    voices: int = 1
    owner_enrolled: bool = False  # an owner's voice is enrolled, so their request and yes can be told apart

    @property
    def others_present(self) -> bool:
        return self.others_may_listen and self.voices > 1


# The current turn's company (a ContextVar: each turn runs in its own task and sees only its own).
TURN_COMPANY: ContextVar[Company] = ContextVar("twin_turn_company", default=Company())  # noqa: B039 (frozen)

# The car's rule for a sensitive action with others present, in the words the user hears.
OTHERS_PRESENT_REFUSED = (
    "others are in the car, and with no owner's voice enrolled I can't tell your yes from theirs; "
    "ask me again when you're alone"
)


class Confirmer(Protocol):
    async def __call__(self, question: str, timeout_s: float) -> str | None:
        """Ask the user out loud; return what they answered, or None when no answer came in time."""
        ...


@dataclass(frozen=True)
class SpeakerPolicy:
    """Categories a role may never trigger, whatever it confirms."""

    forbidden: dict[str, frozenset[str]] = field(
        default_factory=lambda: {
            "guest": frozenset({"buy", "message", "delete", "sensitive"}),
            "child": frozenset({"buy", "message", "delete", "sensitive"}),
        }
    )

    def allows(self, speaker: Speaker, tool: Tool) -> bool:
        banned = self.forbidden.get(speaker.role, frozenset())
        if tool.category in banned:
            return False
        return not (tool.tier == Tier.SENSITIVE and "sensitive" in banned)


@dataclass(frozen=True)
class Assessment:
    allowed: bool
    needs_confirmation: bool
    needs_owner_voice: bool
    tainted: dict[str, list[str]]
    reasons: tuple[str, ...]


_YES = re.compile(r"^(yes|yeah|yep|yup|confirm|confirmed|affirmative)\b")
_NEGATION = re.compile(r"\b(no|not|don'?t|do not|cancel|stop|wait|never|nope)\b")


def is_explicit_yes(answer: str | None) -> bool:
    if not answer:
        return False
    a = answer.lower().strip()
    return bool(_YES.match(a)) and not _NEGATION.search(a)


@dataclass
class PermissionGate:
    policy: SpeakerPolicy = field(default_factory=SpeakerPolicy)
    owner_threshold: float = 0.75
    confirm_timeout_s: float = 8.0

    def assess(self, tool: Tool, args: dict[str, Any], speaker: Speaker, prov: Provenance) -> Assessment:
        reasons: list[str] = []
        if not self.policy.allows(speaker, tool):
            return Assessment(
                False, False, False, {}, (f"a {speaker.role} may not {tool.verb or tool.name}",)
            )
        tainted = {k: ch for k, v in args.items() if (ch := prov.taint(v))}
        if tainted:
            reasons.append(
                "arguments from untrusted text: "
                + ", ".join(f"{k}<-{'/'.join(v)}" for k, v in tainted.items())
            )
        if tool.tier != Tier.READ and prov.untrusted and not tainted:
            # A change decided after reading untrusted text may be the text's decision, not the user's,
            # even when it has no arguments to trace (stop, cancel all): ask.
            tainted = {"(decision)": sorted({ch for ch, _ in prov.untrusted})}
            reasons.append("a change decided after reading untrusted text")
        sensitive = tool.tier == Tier.SENSITIVE
        if sensitive:
            reasons.append("sensitive action")
        company = TURN_COMPANY.get()
        if sensitive and company.others_present:
            # the car's rule: nobody else's voice may start or approve it. With an owner enrolled
            # the owner's voice is checked and asked (without the details aloud); without one
            # nobody's voice can be told apart, so it is not done.
            if not company.owner_enrolled:
                return Assessment(False, False, False, tainted, (OTHERS_PRESENT_REFUSED,))
            reasons.append(f"others present: {company.voices} voices heard")
        return Assessment(
            True,
            sensitive or bool(tainted),
            sensitive,
            tainted,
            tuple(reasons),
        )

    def question(self, tool: Tool, args: dict[str, Any]) -> str:
        """The tool's own question when it words one (an argument it does not get reads empty). With
        others present (a car with passengers) a sensitive action's question says why it asks and
        reads none of its details aloud."""
        if tool.tier == Tier.SENSITIVE and TURN_COMPANY.get().others_present:
            what = tool.verb or tool.name.replace("_", " ")
            return (
                f"Others can hear you, so I won't say the details. Should I {what}? "
                "If you are the owner, say: yes, go ahead."
            )
        if tool.question:
            return tool.question.format_map(defaultdict(str, args))
        shown = ", ".join(f"{k} {v!r}" for k, v in args.items())
        what = tool.verb or tool.name.replace("_", " ")
        return f"Should I {what}{': ' + shown if shown else ''}? Say yes to go ahead."

    async def confirm(
        self, tool: Tool, args: dict[str, Any], confirmer: Confirmer | None
    ) -> tuple[bool, str]:
        """An explicit yes within the timeout; silence, a timeout or anything else means not done."""
        if confirmer is None:
            return False, "no way to ask the user"
        import asyncio

        try:
            answer = await asyncio.wait_for(
                confirmer(self.question(tool, args), self.confirm_timeout_s), self.confirm_timeout_s
            )
        except TimeoutError:
            return False, "no answer in time"
        if not is_explicit_yes(answer):
            return False, "not confirmed" if answer else "no answer"
        return True, "confirmed"

    def owner_verified(self, score: float | None) -> tuple[bool, str]:
        """`score`: the turn's verified-owner voice score 0..1, from the turn itself; None when there
        is nothing to check (a typed command at the device, or no owner enrolled)."""
        if score is None:
            return True, "no voice to verify"
        score = float(score)
        ok = score >= self.owner_threshold
        return ok, f"owner voice score {score:.2f}" + ("" if ok else f" < {self.owner_threshold}")


async def silent_confirmer(question: str, timeout_s: float) -> str | None:
    """No one answers (a text session without a way to ask): every confirmation times out."""
    return None


def answer_with(text: str | None) -> Callable[[str, float], Awaitable[str | None]]:
    async def confirmer(question: str, timeout_s: float) -> str | None:
        return text

    return confirmer
