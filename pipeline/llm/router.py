"""Per turn, local or remote: a decision from measurable signals, each one a stated reason.

Signals, in the order they are weighed:
  1. a remote server is configured at all;
  2. whether a model answers at all (a reply composed from tool results needs none);
  3. the request's complexity: a question about the world (what a model knows, where a small one
     invents most), its length, multi-step markers, asks for long, creative or report output, and
     the reply length that implies against the device's reply bound;
  4. what would leave, by category (conversation, memories, tool_results), against the user's policy
     (never / ask / allow); memories marked private never leave, whatever the policy;
  5. the server's reachability and latency (a short health probe, its verdict cached);
  6. the device profile's latency budget against the measured remote first-token time.
The default policy is "never": nothing leaves unless the user allows it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from devices.profiles import DeviceProfile
from pipeline.config import ROUTING_CATEGORIES, RemoteConfig, RoutingConfig
from pipeline.llm.remote import Probe

_MULTI_STEP = re.compile(
    r"\b(?:step by step|steps?|and then|after that|first\b.*\bthen|compare|comparison|pros and cons|"
    r"plan(?:ning)?|itinerary|schedule for|explain (?:why|how)|walk me through|break (?:it|this) down|"
    r"trade-?offs?|analy[sz]e|analysis)\b",
    re.IGNORECASE,
)
_LONG_OUTPUT = re.compile(
    r"\b(?:write|draft|compose|report|essay|story|poem|letter|speech|summar(?:y|ise|ize)|outline|"
    r"detailed|in detail|thorough(?:ly)?|(?<!how )long|a list of|list (?:all|every|ten|\d+)|paragraphs?|"
    r"article|translate)\b",
    re.IGNORECASE,
)
_CREATIVE = re.compile(r"\b(?:story|poem|song|lyrics|joke|limerick|haiku|creative|imagine)\b", re.IGNORECASE)
# A question about the world, not about the user, the conversation or Twin ("how many legs does a
# spider have", "who painted the Mona Lisa"): answered from what a model knows, where a small one
# invents most. Its answer is still held to the source rule (no live figure without a source).
_KNOWLEDGE = re.compile(
    r"^(?:(?:hey|ok|okay|so|and|twin|please|do you know|can you tell me|tell me)[\s,]+)*"
    r"(?:who|what|what's|whats|when|where|which|why|how\s+(?:many|much|far|long|old|tall|big|deep|high|"
    r"heavy|fast|does|do|did|is|are|was|were))\b",
    re.IGNORECASE,
)
_PERSONAL = re.compile(
    r"\b(?:i|i'm|i've|i'd|me|my|mine|myself|we|we're|our|us|you|you're|your|yours|twin|today|tonight|"
    r"now|right now|tomorrow|yesterday|time|weather|timer|alarm|list|reminders?|volume)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Reason:
    signal: str
    says: str  # local | remote | ask | withheld | -
    detail: str


@dataclass
class Assessment:
    score: int
    expected_tokens: int
    reasons: list[Reason]


def knowledge_question(text: str) -> bool:
    """A question about the world that a model answers from what it knows (`_KNOWLEDGE`): not about
    the user, the conversation, Twin, its tools or anything live (those have their own sources)."""
    return bool(_KNOWLEDGE.search(text.strip())) and not _PERSONAL.search(text)


def assess(text: str, max_reply_tokens: int, sourced: bool = False) -> Assessment:
    """The request's complexity score and the reply length it implies, each point with its reason.
    `sourced`: the reply is written from tool results, so what the model knows does not count."""
    words = len(text.split())
    score = 0
    reasons: list[Reason] = []
    if not sourced and knowledge_question(text):
        score += 2
        reasons.append(
            Reason("knowledge", "remote", "a question about the world: a bigger model knows more facts")
        )
    if words > 60:
        score += 2
        reasons.append(Reason("length", "remote", f"{words} words: a long request"))
    elif words > 25:
        score += 1
        reasons.append(Reason("length", "remote", f"{words} words"))
    else:
        reasons.append(Reason("length", "local", f"{words} words: a short request"))
    steps = sorted({m.group(0).lower() for m in _MULTI_STEP.finditer(text)})
    if steps:
        score += min(2, len(steps))
        reasons.append(Reason("multi_step", "remote", "asks for steps or reasoning: " + ", ".join(steps)))
    long_asks = sorted({m.group(0).lower() for m in _LONG_OUTPUT.finditer(text)})
    creative = sorted({m.group(0).lower() for m in _CREATIVE.finditer(text)})
    if long_asks or creative:
        score += 2
        reasons.append(
            Reason("output", "remote", "asks for long or creative output: " + ", ".join(long_asks + creative))
        )
    expected = 40 + (300 if long_asks else 0) + (150 if steps else 0) + (80 if creative else 0)
    if expected > max_reply_tokens:
        score += 1
        reasons.append(
            Reason(
                "reply_length", "remote", f"~{expected} tokens expected, over the {max_reply_tokens} bound"
            )
        )
    else:
        reasons.append(Reason("reply_length", "local", f"~{expected} tokens expected"))
    return Assessment(score, expected, reasons)


@dataclass
class TurnFacts:
    """What the router may know of a turn: the words, what its context holds, and by whom."""

    text: str
    memories: list[tuple[str, bool]] = field(default_factory=list)  # (line, private)
    tool_context: str = ""
    composed: bool = False  # the reply is composed from tool results or a command: no model


@dataclass
class RouteDecision:
    target: str  # local | remote | ask
    reasons: list[Reason]
    complexity: int
    expected_tokens: int
    leaving: list[str]  # categories of data the remote request would carry
    withheld: list[str]  # what stays on the device
    probe: Probe | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "complexity": self.complexity,
            "expected_tokens": self.expected_tokens,
            "leaving": self.leaving,
            "withheld": self.withheld,
            "probe": asdict(self.probe) if self.probe is not None else None,
            "reasons": [asdict(r) for r in self.reasons],
        }

    def explain(self) -> str:
        lines = [
            f"route: {self.target.upper()}  (complexity {self.complexity}, ~{self.expected_tokens} tokens)"
        ]
        for r in self.reasons:
            lines.append(f"  {r.signal:14} {r.says:8} {r.detail}")
        if self.leaving:
            lines.append("  would leave:  " + ", ".join(self.leaving))
        if self.withheld:
            lines.append("  stays here:   " + "; ".join(self.withheld))
        return "\n".join(lines)


class Prober(Protocol):
    def probe(self, timeout_s: float | None = None) -> Probe: ...


class Router:
    """Decides per turn; keeps the last probe (for `probe_ttl_s`) and the measured remote
    first-token time (a moving average of real turns) for the latency budget."""

    def __init__(
        self,
        remote_cfg: RemoteConfig,
        routing: RoutingConfig,
        profile: DeviceProfile,
        remote: Prober | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.remote_cfg = remote_cfg
        self.routing = routing
        self.profile = profile
        self.remote = remote
        self.clock = clock
        self._probe: Probe | None = None
        self._lock = threading.Lock()
        self.first_token_ms: float | None = None  # measured on real remote turns

    # -- measurements --------------------------------------------------------------------------------
    def probe(self) -> Probe | None:
        if self.remote is None:
            return None
        with self._lock:
            p = self._probe
            if p is not None and self.clock() - p.at < self.remote_cfg.probe_ttl_s:
                return p
            self._probe = self.remote.probe()
            return self._probe

    def record(self, first_token_ms: float | None, failed: bool) -> None:
        """After a remote turn: its first-token time joins the average; a failure forgets the probe,
        so the next turn asks the server again instead of trusting a stale 'reachable'."""
        with self._lock:
            if failed:
                self._probe = None
            if first_token_ms is not None:
                prev = self.first_token_ms
                self.first_token_ms = (
                    first_token_ms if prev is None else round(0.7 * prev + 0.3 * first_token_ms, 1)
                )

    # -- the decision ---------------------------------------------------------------------------------
    def decide(self, facts: TurnFacts) -> RouteDecision:
        a = assess(facts.text, self.profile.max_reply_tokens, sourced=bool(facts.tool_context))
        reasons = list(a.reasons)
        withheld: list[str] = []
        private = [line for line, p in facts.memories if p]
        shareable = [line for line, p in facts.memories if not p]
        if private:
            withheld.append(
                f"{len(private)} private memor{'y' if len(private) == 1 else 'ies'} (never leave)"
            )

        def done(target: str, leaving: list[str] | None = None, probe: Probe | None = None) -> RouteDecision:
            return RouteDecision(target, reasons, a.score, a.expected_tokens, leaving or [], withheld, probe)

        if self.remote is None or not self.remote_cfg.enabled:
            reasons.insert(
                0, Reason("server", "local", "no remote server configured ([remote] enabled = false)")
            )
            return done("local")
        if facts.composed:
            reasons.insert(
                0, Reason("tools", "local", "the reply is composed from tool results: no model needed")
            )
            return done("local")
        if facts.tool_context:
            reasons.append(Reason("tools", "-", "tool results are part of the context"))
        if a.score < self.routing.min_complexity:
            reasons.append(
                Reason(
                    "complexity", "local", f"score {a.score} < {self.routing.min_complexity}: the local model"
                )
            )
            return done("local")
        reasons.append(Reason("complexity", "remote", f"score {a.score} >= {self.routing.min_complexity}"))

        # what would leave, by category, against the user's policy
        leaving: list[str] = []
        asks: list[str] = []
        present = {
            "conversation": True,
            "memories": bool(shareable),
            "tool_results": bool(facts.tool_context),
        }
        for category in ROUTING_CATEGORIES:
            if not present[category]:
                continue
            policy = self.routing.policy_for(category)
            if policy == "never":
                if category == "memories":
                    withheld.append(f"{len(shareable)} memories (policy for memories: never)")
                    reasons.append(Reason("policy", "withheld", "memories: never; sent without them"))
                    continue
                reasons.append(Reason("policy", "local", f"{category}: never (nothing of it may leave)"))
                return done("local")
            if policy == "ask":
                asks.append(category)
            leaving.append(category)
            reasons.append(Reason("policy", policy if policy == "ask" else "remote", f"{category}: {policy}"))
        if private:
            reasons.append(
                Reason("privacy", "withheld", f"{len(private)} private memories stay on the device")
            )

        probe = self.probe()
        if probe is None or not probe.ok:
            reasons.append(Reason("network", "local", probe.detail if probe else "no probe"))
            return done("local", probe=probe)
        reasons.append(Reason("network", "remote", probe.detail))

        budget = self.profile.reply_budget_ms
        measured = self.first_token_ms
        estimate = max(probe.latency_ms or 0.0, measured or 0.0)
        basis = (
            f"measured first token ~{measured:.0f} ms" if measured is not None else f"probe {estimate:.0f} ms"
        )
        if estimate > budget:
            if a.score < self.routing.min_complexity + 2:
                reasons.append(
                    Reason("latency", "local", f"{basis} > {budget} ms budget of '{self.profile.name}'")
                )
                return done("local", probe=probe)
            reasons.append(
                Reason(
                    "latency",
                    "remote",
                    f"{basis} > {budget} ms budget, but worth the wait: a bridge covers it",
                )
            )
        else:
            reasons.append(Reason("latency", "remote", f"{basis} within the {budget} ms budget"))
        return done("ask" if asks else "remote", leaving, probe)
