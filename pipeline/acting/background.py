"""Tool calls that take time. In a live session a call still running after the turn's patience
(`tools.patience_s`, 2.5 s by default) does not hold the conversation: the turn answers "I'm on
it", the call goes on here, and its result is said when it arrives, when the user is not speaking
(the live loop's clock picks it up with the timers). "Never mind the report" stops waiting for it.

A call that has started is never killed in its worker thread: stopping means its result is not
announced; it is still recorded in the audit log when it ends, with the cancellation noted, so an
action that completed anyway is never unrecorded.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

_CANCEL = re.compile(
    r"^(?:(?:oh|ok|okay|actually|no|hey|twin)[\s,]+)*(?:never\s*mind|cancel\s+(?:that|it|the)|stop\s+(?:waiting|that|it|the)|"
    r"don'?t\s+bother|forget\s+about)\b(?P<rest>.*)$",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_]{3,}")


def spoken_name(tool: str, verb: str = "") -> str:
    """How a call is named aloud: a local tool's verb; an MCP tool's name without its server."""
    if "__" in tool or not verb:
        return tool.split("__")[-1].replace("_", " ")
    return verb


@dataclass
class Pending:
    key: str
    tool: str
    verb: str
    words: set[str]  # what the user may call it: the tool's name and verb, its arguments
    started: float
    task: asyncio.Task | None = None
    cancelled: bool = False


@dataclass
class BackgroundCalls:
    _pending: dict[str, Pending] = field(default_factory=dict)
    _said: deque[str] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, key: str, tool: Any, args: dict[str, Any], task: asyncio.Task) -> Pending:
        words = {w.lower() for w in _WORD.findall(f"{tool.name.replace('_', ' ')} {tool.verb}")}
        words |= {w.lower() for v in args.values() if isinstance(v, str) for w in _WORD.findall(v)}
        p = Pending(key, tool.name, spoken_name(tool.name, tool.verb), words, time.monotonic(), task)
        with self._lock:
            self._pending[key] = p
        return p

    def finish(self, key: str, text: str) -> None:
        """The call ended: its result is to be said, unless the user stopped waiting for it."""
        with self._lock:
            p = self._pending.pop(key, None)
            if p is not None and not p.cancelled:
                self._said.append(text)

    def pending(self) -> list[Pending]:
        with self._lock:
            return [p for p in self._pending.values() if not p.cancelled]

    def due(self) -> list[dict[str, Any]]:
        """Results ready to be said, as the clock's items."""
        with self._lock:
            items = [{"kind": "tool_result", "label": text} for text in self._said]
            self._said.clear()
        return items

    def cancel_spoken(self, text: str) -> str | None:
        """'Never mind the report': stop waiting for the running call it names (or the only one).
        The reply to speak, or None when `text` is no such request or nothing is running."""
        m = _CANCEL.match(text.strip())
        running = self.pending()
        if m is None or not running:
            return None
        said = {w.lower() for w in _WORD.findall(m.group("rest"))} - {"the", "that", "this", "please"}
        named = [p for p in running if said & p.words] if said else []
        chosen = named or (running if len(running) == 1 else [])
        if not chosen:
            names = ", ".join(p.verb for p in running)
            return f"Which one should I stop? I'm still working on: {names}."
        with self._lock:
            for p in chosen:
                p.cancelled = True
        what = " and ".join(p.verb for p in chosen)
        return f"Okay, I've stopped waiting for {what}."

    def wait_idle(self, timeout: float) -> bool:
        """Tests and shutdown: True once nothing is running (within `timeout` seconds)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if not self._pending:
                    return True
            time.sleep(0.05)
        return False
