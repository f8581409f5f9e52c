"""Tool families: Twin's own tools, each declared on its handler, grouped by the state they share.

A tool states everything about itself where its handler is (`@tool`): tier, arguments, the words
that bring it up, an example, its confirmation question. A family is a class of such handlers over
one piece of state, and every module in pipeline/tools/families is read for families, so a new tool
is one decorated method and a new family is one new file: no table elsewhere names either.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from pipeline.tools.base import Tier, Tool

S = {"type": "string"}
N = {"type": "number"}

H = TypeVar("H", bound=Callable[..., Any])
_DECLARED = "__twin_tool__"


def tool(
    name: str,
    description: str,
    tier: Tier,
    params: dict[str, dict[str, Any]] | None = None,
    required: tuple[str, ...] = (),
    **fields: Any,
) -> Callable[[H], H]:
    """Declares the method below as the handler of a tool; `fields` are the rest of `Tool`'s."""

    def declare(handler: H) -> H:
        setattr(handler, _DECLARED, Tool(name, description, tier, params or {}, handler, required, **fields))
        return handler

    return declare


def fmt_number(x: float) -> str:
    """Numbers as a summary says them: 0.1 + 0.2 reads 0.3, not 0.30000000000000004."""
    return f"{x:.6g}" if isinstance(x, float) else str(x)


@dataclass(frozen=True)
class Context:
    """What every family is built over: one data directory, one clock (injectable for tests), and
    the user's settings some families read."""

    data_dir: Path
    now: Callable[[], datetime]
    outbox: Any = None  # the [tools.outbox] config; None: the local spool
    memory: Any = None  # a memory.Memory; None: the memory tools are not offered

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "tools"


class Family:
    """Tools over one piece of state. Within a topic, verbs are tried in the order the tools are
    declared, so a family declares its narrowest tools first ("cancel the alarm" is not set_alarm)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @property
    def offered(self) -> bool:
        """Whether this session offers the family at all (memory tools need a memory)."""
        return True

    @classmethod
    def declared(cls) -> list[Tool]:
        """The family's tools as declared, their handlers not yet bound to any state."""
        return [t for v in vars(cls).values() if (t := getattr(v, _DECLARED, None)) is not None]

    def tools(self) -> list[Tool]:
        return [
            replace(
                t,
                handler=getattr(self, t.handler.__name__),
                held=getattr(self, t.held.__name__) if t.held is not None else None,
            )
            for t in self.declared()
        ]

    def fire_due(self) -> list[dict[str, Any]]:
        """What of this family's has come due, to ring (timers, reminders); most families have none."""
        return []


@cache
def families() -> tuple[type[Family], ...]:
    """Every family in pipeline/tools/families, in module-name order, then in order of definition."""
    from pipeline.tools import families as package

    found: list[type[Family]] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        found += [
            c
            for c in vars(module).values()
            if isinstance(c, type) and issubclass(c, Family) and c.__module__ == module.__name__
        ]
    return tuple(found)


@cache
def catalog() -> tuple[Tool, ...]:
    """Every local tool as declared, whether this session offers it or not: what a request's words
    are routed by before any session exists."""
    return tuple(t for family in families() for t in family.declared())
