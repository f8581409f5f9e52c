"""What a tool is: a name, a risk tier, a typed argument schema, a timeout and a handler, and how it
describes itself to the rest of Twin: the words that bring it up, an example call, its confirmation
question, and which arguments must be the user's own words.

The tier is declared by the tool (or granted by the user, for MCP tools), never chosen by the model.
Everything that routes, prompts, grounds or confirms a call reads these fields and never a tool's
name, so a tool is described in one place: where it is defined.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pipeline.tools.errors import MalformedToolCallError, ToolArgumentError, UnknownToolError


class Tier(StrEnum):
    READ = "read"  # answers from state, changes nothing
    ACT = "act"  # a reversible change
    SENSITIVE = "sensitive"  # money, messages to others, locks, deleting data, data leaving the device


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    summary: str  # one line a person can read; goes to the audit log and the reply
    data: Any = None
    untrusted_text: str = ""  # text from outside the user's own words (notes, documents, MCP output)
    # How to put back what this call changed, when the tool can say ("no, don't add milk" just after
    # it was added): run once on the tool's worker, it checks the state is still as the call left it
    # and returns its own result ("milk is off the shopping list again"). None: it cannot be undone.
    undo: Callable[[], ToolResult] | None = field(default=None, repr=False, compare=False)


def unchanged() -> ToolResult:
    """The undo of a call that changed nothing ("milk is already on the list", "unmute" when not
    muted): there is nothing to put back. The planner says so instead of running it."""
    return ToolResult(True, "nothing had changed")


@dataclass(frozen=True)
class Dictation:
    """Arguments a tool takes from the user's own words, never from the model: who it is for and
    what it says. A small model asked to "send running late to Anna" may well write the text itself,
    and a confirmation would then read out words the user never said."""

    noun: str  # what is dictated, as the questions and reasons name it ("message")
    to: str  # the argument naming the recipient
    text: str  # the argument holding the dictated words
    recipient: Callable[[str], str | None]  # who it is for, in the user's words
    words: Callable[[str, str], str | None]  # what it says, cut from the user's words (given whom)
    max_to_words: int = 3  # a longer "recipient" is a phrase the model made up, not a name

    @property
    def no_text(self) -> str:
        return f"I could not tell what the {self.noun} should say"

    @property
    def no_recipient(self) -> str:
        return f"I could not tell who the {self.noun} is for"

    def ask(self, to: str) -> str:
        """The question that gets the words when the request named only the recipient."""
        return f"What should the {self.noun} to {to} say?"


@dataclass
class Tool:
    name: str
    description: str
    tier: Tier
    params: dict[str, dict[str, Any]]  # JSON-schema properties
    handler: Callable[..., ToolResult]  # handler(args) or, with needs_speaker, handler(args, speaker)
    required: tuple[str, ...] = ()
    timeout_s: float = 5.0
    source: str = "local"  # local | mcp:<server>
    verb: str = ""  # how a confirmation question names the action ("send a message")
    category: str = ""  # buy | message | ... for per-speaker policy
    needs_speaker: bool = False  # the handler is called as handler(args, speaker_name)
    extra: dict[str, Any] = field(default_factory=dict)
    # How the tool is found and asked about. All optional: a tool that states none of them (an MCP
    # tool) is offered whenever a request's words narrow to no family, and confirmed generically.
    # The regexes are matched ignoring case. A turn that matches no tool's cue goes straight to the
    # spoken reply, without a planning call: plain mentions ("a cup of tea") must not match one.
    cue: str = ""  # regex: the forms people use when they mean this tool
    topic: str = ""  # regex: the words that bring up this tool's family (the tools sharing a topic)
    verbs: str = ""  # regex: narrows the family to this tool; tried in the order tools are declared
    example: tuple[str, dict[str, Any]] | None = None  # (what a user says, the arguments) for the prompt
    question: str = ""  # the confirmation question, with {argument} fields; "" asks generically
    dictation: Dictation | None = None  # arguments only the user's own words may fill
    # The arguments when the user's words state them plainly ("15 percent of 80", "5 kilos in
    # pounds", "turn it up a bit"): read deterministically, no model; None when they do not. The
    # text it gets has its number words as digits (pipeline/acting/quantities.py).
    plain: Callable[[str], dict[str, Any] | None] | None = None
    # The arguments when the words name something this tool's own state holds ("take the eggs off"
    # when eggs are on a list, "actually remove the flour"): read from the words and the state, no
    # model; such a request reaches this tool even when its words name no family (`routing.route`).
    # A family declares it as one of its methods (bound to its state in `Family.tools`).
    held: Callable[[str], dict[str, Any] | None] | None = None
    # What the tool acts on or reads, in the words people use for it ("volume sound music speaker"),
    # beyond those of its name and description: a request to control or query a thing no tool's
    # declared words name is answered honestly, never with another tool (pipeline/acting/reach.py).
    objects: str = ""
    # A read whose result, as it is, answers the request ("the shopping list is empty", "it is
    # 09:41 on Monday"): said without the reply model (pipeline/acting/planner.py). Only Twin's own
    # tools declare it; another tool's result is worded by the model from the turn's context.
    answers: bool = False
    # Arguments only `plain` fills from the user's words, never offered to the planner's model: a
    # 0.5B model handed get_list's optional `item` made one up ("Apple is not on your shopping
    # list." for "shopping list?").
    plain_only: tuple[str, ...] = ()

    def offered_params(self) -> dict[str, dict[str, Any]]:
        """The arguments the planner's model may fill (all but `plain_only`)."""
        return {k: v for k, v in self.params.items() if k not in self.plain_only}

    def schema(self) -> dict[str, Any]:
        return {"type": "object", "properties": self.params, "required": list(self.required)}

    def validate(self, args: Any) -> dict[str, Any]:
        """Check types and required keys; ints are accepted for numbers, nothing else is coerced."""
        if not isinstance(args, dict):
            raise ToolArgumentError(
                f"arguments for '{self.name}' must be an object, got {type(args).__name__}",
                f"pass a JSON object matching: {json.dumps(self.schema())}",
            )
        for key in self.required:
            if key not in args:
                raise ToolArgumentError(f"'{self.name}' needs argument '{key}'", f"add '{key}'")
        clean: dict[str, Any] = {}
        for key, value in args.items():
            spec = self.params.get(key)
            if spec is None:
                raise ToolArgumentError(
                    f"'{self.name}' has no argument '{key}'",
                    "valid arguments: " + (", ".join(self.params) or "none"),
                )
            want = spec.get("type", "string")
            types = _PY_TYPES.get(want, (object,))
            if isinstance(value, bool) and want != "boolean" or not isinstance(value, types):
                raise ToolArgumentError(
                    f"argument '{key}' of '{self.name}' must be {want}, got {type(value).__name__}",
                    f"give '{key}' as a JSON {want}",
                )
            if "enum" in spec and value not in spec["enum"]:
                raise ToolArgumentError(
                    f"argument '{key}' of '{self.name}' must be one of {spec['enum']}, got {value!r}",
                    "use one of the listed values",
                )
            clean[key] = value
        return clean


@dataclass(frozen=True)
class ToolCall:
    tool: str
    args: dict[str, Any]

    @staticmethod
    def parse(raw: str | dict[str, Any]) -> ToolCall:
        """From model output or a test: {"tool": name, "args": {...}}; anything else is malformed."""
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise MalformedToolCallError(
                    f"tool call is not valid JSON ({exc.msg} at char {exc.pos})",
                    'a call looks like {"tool": "set_timer", "args": {"minutes": 5}}',
                ) from None
        if not isinstance(raw, dict) or not isinstance(raw.get("tool"), str):
            raise MalformedToolCallError(
                "tool call must be an object with a string 'tool'",
                'a call looks like {"tool": "set_timer", "args": {"minutes": 5}}',
            )
        args = raw.get("args", {})
        if not isinstance(args, dict):
            raise MalformedToolCallError("tool call 'args' must be an object", "use {} for no arguments")
        return ToolCall(raw["tool"], args)


class ToolRegistry:
    def __init__(self, tools: list[Tool] | None = None) -> None:
        self._tools: dict[str, Tool] = {}
        for t in tools or []:
            self.add(t)

    def add(self, tool: Tool) -> None:
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool:
        tool = self._tools.get(name)
        if tool is None:
            import difflib

            close = difflib.get_close_matches(name, list(self._tools), n=1)
            raise UnknownToolError(
                f"unknown tool '{name}'",
                f"did you mean '{close[0]}'?" if close else "see `twin tools list`",
            )
        return tool

    def __iter__(self):
        return iter(sorted(self._tools.values(), key=lambda t: t.name))

    def __contains__(self, name: str) -> bool:
        return name in self._tools

    def names(self) -> list[str]:
        return sorted(self._tools)
