"""Tool calls that take time. In a live session a call still running after the turn's patience
(`tools.patience_s`, 2.5 s by default) does not hold the conversation: the turn answers "I'm on
it", the call goes on here, and its result is said when it arrives, when the user is not speaking
(the live loop's clock picks it up with the timers). "Never mind the report" stops waiting for it.

A call that has started is never killed in its worker thread: stopping means its result is not
announced; it is still recorded in the audit log when it ends, with the cancellation noted, so an
action that completed anyway is never unrecorded.

In the hub one `BackgroundCalls` serves the whole household (`Hub.calls`): each call records who
asked and on which device, so a task started in the car goes on at home. "Is the report ready?" or
"never mind the report" asked on another device reaches it (only the person who asked it, or anyone
for a guest's call on the device it was asked on), and its result is said where its owner last
spoke (`result_target`, rung by the hub's clock), not necessarily where it was asked.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from models.errors import TwinError
from pipeline.acting.permissions import GUEST
from pipeline.tools.errors import ToolStateError

log = logging.getLogger(__name__)

_CANCEL = re.compile(
    r"^(?:(?:oh|ok|okay|actually|no|hey|twin)[\s,]+)*(?:never\s*mind|cancel\s+(?:that|it|the)|stop\s+(?:waiting|that|it|the)|"
    r"don'?t\s+bother|forget\s+about)\b(?P<rest>.*)$",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_]{3,}")
# "is the report ready?", "what are you working on?", "how's the translation going?", "any news on
# the report?", "where were we?": asked about a call under way (the words after the verb name it)
_STATUS = re.compile(
    r"^(?:(?:oh|ok|okay|so|and|hey|twin)[\s,]+)*(?:"
    r"(?:is|are|was)\s+(?P<a>.+?)\s+(?:ready|done|finished|back)(?:\s+yet)?"
    r"|(?:what(?:'s|\s+is|\s+are)?|anything)\s+(?:are\s+)?you\s+(?:still\s+)?(?:working\s+on|doing)(?:\s+for\s+me)?"
    r"|what(?:'s|\s+is)\s+(?:still\s+)?(?:running|pending|under\s+way)"
    r"|where\s+were\s+we"  # with a task of theirs under way, that task is where they were
    r"|how(?:'s|\s+is|\s+are)\s+(?P<b>.+?)\s+(?:going|coming(?:\s+along)?|doing)"
    r"|any\s+(?:news|word|update)\s+(?:on|about)\s+(?P<c>.+?)"
    r")\W*$",
    re.IGNORECASE,
)
_GENERIC = {"the", "that", "this", "please", "yet", "you", "for", "thing", "still", "mine", "all"}


def _words_of(named: str) -> set[str]:
    """The words that name a call ("the sleep report": sleep, report), the generic ones left out."""
    return {w.lower() for w in _WORD.findall(named)} - _GENERIC


def asked_about(text: str, tool_names: Callable[[], Iterable[str]]) -> str | None:
    """'Is the report ready?' when no call of the speaker's is under way: the thing asked about
    ("the report") when its words name one of the tools (the `write_report` it would be), else
    None. Such a question is about a task, never a request to start one. `tool_names` is read only
    for words that ask about a task."""
    m = _STATUS.match(text.strip())
    # only "is X ready / done / finished": "any news on the weather" asks for the weather itself
    named = (m.group("a") or "").strip() if m else ""
    said = _words_of(named)
    if not said:
        return None
    for name in tool_names():
        words = {w.lower() for w in _WORD.findall(name.split("__")[-1].replace("_", " "))}
        if said & words:
            return named
    return None


def result_target(
    item: dict[str, Any], connected: Collection[str], last_device: Callable[[str], str | None]
) -> str | None:
    """Where the hub says a call's result: where its owner last spoke, if connected (the task went
    on with them: asked in the car, said at home); else the device it was asked on, if connected.
    A guest's result is said only on its own device. None: it waits until one of those is back
    (never said to whoever happens to be in another room)."""
    device, speaker = str(item.get("device") or ""), str(item.get("speaker") or "")
    if speaker and speaker != GUEST:
        where = last_device(speaker)
        if where is not None and where in connected:
            return where
    return device if device in connected else None


CALLS_FILE = "calls.json"  # in DATA_DIR/tools: the hub's calls under way and unsaid results


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
    speaker: str = ""  # who asked for it ("" outside the hub: the session's only user)
    device: str = ""  # where it was asked ("" outside the hub)


@dataclass
class BackgroundCalls:
    # In the hub, a file (DATA_DIR/tools/calls.json, a `JsonState`) that keeps what a restart must
    # not lose: each call under way (who asked, where) and each result not yet said. After a stop or
    # a kill -9 (`recover`) the results are said all the same, and a call that was under way, whose
    # worker died with the process, is said to be lost: never silently forgotten.
    store: Any = None
    _pending: dict[str, Pending] = field(default_factory=dict)
    _said: dict[str, dict[str, Any]] = field(default_factory=dict)  # results to say, by call key
    _lock: threading.Lock = field(default_factory=threading.Lock)
    unreadable: TwinError | None = None  # why `recover` found nothing to say (the hub logs it)

    def _keep(self, change: Any) -> None:
        """`change(doc)` into the file; a file that cannot be written costs the record, not the call."""
        if self.store is None:
            return
        try:
            self.store.update(change)
        except (OSError, TwinError) as exc:
            log.warning("calls under way not recorded: %s", exc)

    def recover(self) -> list[dict[str, Any]]:
        """After a restart: the results left unsaid, and for each call that was under way a notice
        that it was lost, as results to say (where their owners are). The file then holds them only."""
        if self.store is None:
            return []
        try:
            doc = self.store.read()
        except (OSError, TwinError) as exc:  # a damaged file is left as it is, for the user to see
            log.warning("calls under way not recovered: %s", exc)
            self.unreadable = (
                exc
                if isinstance(exc, TwinError)
                else ToolStateError(
                    f"the calls under way ({CALLS_FILE}) could not be read: {exc}",
                    "check the permissions of the data directory's tools folder",
                )
            )
            return []
        items = dict(doc.get("said", {}))
        for key, p in doc.get("pending", {}).items():
            if not p.get("cancelled"):
                text = f"I lost track of {p['verb']} when I restarted. Ask me again if you still need it."
                items[key] = {"kind": "tool_result", "label": text, "id": key} | {
                    k: p.get(k, "") for k in ("speaker", "device")
                }
        with self._lock:
            self._said.update(items)
        self._keep(lambda d: d.update({"pending": {}, "said": items}))
        return list(items.values())

    def start(
        self,
        key: str,
        tool: Any,
        args: dict[str, Any],
        task: asyncio.Task | None,
        speaker: str = "",
        device: str = "",
    ) -> Pending:
        words = {w.lower() for w in _WORD.findall(f"{tool.name.replace('_', ' ')} {tool.verb}")}
        words |= {w.lower() for v in args.values() if isinstance(v, str) for w in _WORD.findall(v)}
        p = Pending(
            key,
            tool.name,
            spoken_name(tool.name, tool.verb),
            words,
            time.monotonic(),
            task,
            False,
            speaker,
            device,
        )
        with self._lock:
            self._pending[key] = p
        record = {"tool": p.tool, "verb": p.verb, "speaker": speaker, "device": device, "at": time.time()}
        self._keep(lambda d: d.setdefault("pending", {}).__setitem__(key, record))
        return p

    def finish(self, key: str, text: str) -> None:
        """The call ended: its result is to be said, unless the user stopped waiting for it."""
        with self._lock:
            p = self._pending.pop(key, None)
            item = None
            if p is not None and not p.cancelled:
                item = {"kind": "tool_result", "label": text}
                if p.device:  # the hub's: whose result, asked where
                    item |= {"id": key, "speaker": p.speaker, "device": p.device}
                self._said[key] = item

        def done(d: dict[str, Any]) -> None:
            d.setdefault("pending", {}).pop(key, None)
            if item is not None:
                d.setdefault("said", {})[key] = item

        self._keep(done)

    def pending(self, speaker: str | None = None, device: str | None = None) -> list[Pending]:
        """Calls under way that someone still waits for; with `speaker`, only those that person may
        ask about or stop: their own, and a guest's asked on `device`."""
        with self._lock:
            running = [p for p in self._pending.values() if not p.cancelled]
        if speaker is None:
            return running
        return [p for p in running if _theirs(p, speaker, device)]

    def due(self) -> list[dict[str, Any]]:
        """Results ready to be said, as the clock's items (taken: each is said once)."""
        with self._lock:
            items = list(self._said.values())
            self._said.clear()
        return items

    def ready(self) -> list[dict[str, Any]]:
        """The hub's clock: results waiting for a device to say them (left until `said`)."""
        with self._lock:
            return list(self._said.values())

    def said(self, key: str) -> None:
        with self._lock:
            self._said.pop(key, None)
        self._keep(lambda d: d.setdefault("said", {}).pop(key, None))

    def status_spoken(self, text: str, speaker: str | None = None, device: str | None = None) -> str | None:
        """ "Is the report ready?": the reply, or None when `text` asks no such thing or nothing of
        the speaker's is under way (the question then goes on as any other)."""
        m = _STATUS.match(text.strip())
        running = self.pending(speaker, device)
        if m is None or not running:
            return None
        said = _words_of(m.group("a") or m.group("b") or m.group("c") or "")
        chosen = [p for p in running if said & p.words] if said else running
        if not chosen:
            return None  # "is dinner ready?": not about a call of Twin's
        parts = []
        for p in chosen:
            where = f", which you asked for in the {p.device}" if p.device and p.device != device else ""
            parts.append(f"{p.verb}{where}")
        return f"I'm still working on {' and '.join(parts)}. I'll tell you when it's done."

    def cancel_spoken(self, text: str, speaker: str | None = None, device: str | None = None) -> str | None:
        """'Never mind the report': stop waiting for the running call it names (or the only one),
        of those `speaker` may stop (`pending`). The reply to speak, or None when `text` is no such
        request or nothing is running."""
        m = _CANCEL.match(text.strip())
        running = self.pending(speaker, device)
        if m is None or not running:
            return None
        said = _words_of(m.group("rest"))
        named = [p for p in running if said & p.words] if said else []
        chosen = named or (running if len(running) == 1 else [])
        if not chosen:
            names = ", ".join(p.verb for p in running)
            return f"Which one should I stop? I'm still working on: {names}."
        with self._lock:
            for p in chosen:
                p.cancelled = True

        def stopped(d: dict[str, Any]) -> None:
            for p in chosen:
                if p.key in d.get("pending", {}):
                    d["pending"][p.key]["cancelled"] = True

        self._keep(stopped)
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


def _theirs(p: Pending, speaker: str, device: str | None) -> bool:
    """Whether `speaker` may ask about or stop `p`: their own call; a guest's only on its device; a
    call recorded with nobody (outside the hub) is the session's one user's."""
    if not p.speaker:
        return True
    if p.speaker == GUEST or speaker == GUEST:
        return p.speaker == speaker and p.device == (device or "")
    return p.speaker == speaker
