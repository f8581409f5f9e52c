"""Forgetting, one way for every caller (voice, `twin memory forget`, the forget tool): first a plan
(which items, shown as a count and a few short examples), then the caller's confirmation and audit,
then the deletion and a receipt the user can keep.

Memory knows nothing of who may confirm or where the audit log is (that is the pipeline's); it only
makes sure nothing is deleted without a plan the user could see, and that every deletion leaves a
receipt in DATA_DIR/receipts/ saying when, by whom, what was asked and which items went (ids and
kinds, never the text: a receipt of forgotten words would remember them).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.durable import atomic_write_json

from .items import MemoryItem, validate_text
from .relevance import on_topic
from .speakers import speaker_scope
from .store import is_disk_full

EXAMPLES = 3
EXAMPLE_CHARS = 40

_SAY: dict[str, dict[str, str]] = {
    "en": {
        "one": "1 memory",
        "many": "{n} memories",
        "what_about": "about {topic}",
        "what_everything": "everything I remember about you",
        "what_last": "what you just told me",
        "what_ids": "the memories you named",
        "examples": ", such as: {ex}",
        "sep": "; ",
        "question": "I would delete {count} ({what}){examples}. Should I delete {them}? Say yes to go ahead.",
        "them_one": "it",
        "them_many": "them",
        "done": "Done, I've deleted {count}.",
        "done_last": "Done, I've forgotten that.",
        "cancelled": "All right, I haven't deleted anything.",
        "cannot_ask": (
            "I can only delete memories after you confirm out loud, and I can't ask you here. "
            "To do it now, run: {cli}"
        ),
        "nothing_last": "There was nothing new to forget.",
        "nothing_about": "I had nothing saved about {topic}.",
        "nothing_all": "I don't have anything saved about you.",
        "not_allowed": "Only {owner} can delete these memories, so I haven't deleted anything.",
        "no_receipt": " I couldn't write the deletion receipt ({why}).",
    },
    "zh": {
        "one": "1条记忆",
        "many": "{n}条记忆",
        "what_about": "关于{topic}",
        "what_everything": "关于你的所有记忆",
        "what_last": "你刚才说的",
        "what_ids": "你指定的记忆",
        "examples": "，比如：{ex}",
        "sep": "；",
        "question": "我将删除{count}（{what}）{examples}。确定要删除吗？请说“yes”确认。",
        "them_one": "",
        "them_many": "",
        "done": "好的，我已经删除了{count}。",
        "done_last": "好的，我已经忘掉了。",
        "cancelled": "好的，我没有删除任何东西。",
        "cannot_ask": "删除记忆需要你当面口头确认，这里无法确认。现在要删除，请运行：{cli}",
        "nothing_last": "刚才没有新记下的东西可以忘掉。",
        "nothing_about": "我没有记下关于{topic}的事。",
        "nothing_all": "我还没有记下关于你的任何事。",
        "not_allowed": "只有{owner}可以删除这些记忆，所以我什么都没有删除。",
        "no_receipt": "删除回执没能写入（{why}）。",
    },
}


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1].rstrip() + "…"


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


@dataclass(frozen=True)
class ForgetPlan:
    """What a forget request would delete, before anyone agreed to it. `action` is "about",
    "everything", "last" or "ids"; `scope` is whose memories they are."""

    action: str
    scope: str
    items: tuple[MemoryItem, ...]
    topic: str = ""
    lang: str = "en"

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def ids(self) -> list[str]:
        return [it.id for it in self.items]

    @property
    def selector(self) -> str:
        """What was asked, for the audit entry and the receipt (never the items' text)."""
        if self.action == "about":
            return f"about:{self.topic}"
        if self.action == "ids":
            return "ids:" + ",".join(it.id for it in self.items)
        return self.action

    def _say(self) -> dict[str, str]:
        return _SAY.get(self.lang, _SAY["en"])

    def _count(self, n: int | None = None) -> str:
        n = self.count if n is None else n
        say = self._say()
        return say["one"] if n == 1 else say["many"].format(n=n)

    def examples(self, n: int = EXAMPLES) -> list[str]:
        """A few short examples, most important first: enough to see what would go."""
        top = sorted(self.items, key=lambda it: (-it.importance, -it.created))[:n]
        return [_short(it.text) for it in top]

    def preview(self) -> str:
        """A count and a few examples, as one line (the CLI prints it; the voice asks with it)."""
        say = self._say()
        what = say[f"what_{self.action}"].format(topic=self.topic)
        ex = say["examples"].format(ex=say["sep"].join(self.examples())) if self.items else ""
        return f"{self._count()} ({what}){ex}"

    def question(self) -> str:
        say = self._say()
        what = say[f"what_{self.action}"].format(topic=self.topic)
        ex = say["examples"].format(ex=say["sep"].join(self.examples())) if self.items else ""
        them = say["them_one"] if self.count == 1 else say["them_many"]
        return say["question"].format(count=self._count(), what=what, examples=ex, them=them)

    def cli(self) -> str:
        """The command that does the same at a terminal."""
        who = "" if self.scope == "owner" else f" --speaker {_quote(self.scope)}"
        if self.action == "about":
            target = f"--about {_quote(self.topic)}"
        elif self.action == "everything":
            target = "--everything"
        else:
            target = " ".join(it.id for it in self.items)
        return f"twin memory forget {target}{who} --yes"

    def done(self, receipt: Receipt) -> str:
        say = self._say()
        text = (
            say["done_last"]
            if self.action == "last"
            else say["done"].format(count=self._count(receipt.deleted))
        )
        if receipt.error:
            text += say["no_receipt"].format(why=receipt.error)
        return text

    def nothing(self) -> str:
        key = {"last": "nothing_last", "about": "nothing_about"}.get(self.action, "nothing_all")
        return self._say()[key].format(topic=self.topic)

    def cancelled(self) -> str:
        return self._say()["cancelled"]

    def cannot_ask(self) -> str:
        return self._say()["cannot_ask"].format(cli=self.cli())

    def not_allowed(self, owner: str) -> str:
        return self._say()["not_allowed"].format(owner=owner)


@dataclass(frozen=True)
class Receipt:
    """What a deletion did. `path` is the receipt file (None when it could not be written, and then
    `error` says why: on a full disk forgetting still happens, the receipt is what gives)."""

    deleted: int
    ids: list[str]
    at: float
    path: Path | None = None
    error: str = ""
    kinds: dict[str, str] = field(default_factory=dict)


def write_receipt(folder: Path, plan: ForgetPlan, who: str, deleted: list[MemoryItem], at: float) -> Path:
    """DATA_DIR/receipts/forget-<time>-<id>.json, private (0600 in a 0700 folder). Holds no text."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(at))
    path = folder / f"forget-{stamp}-{uuid.uuid4().hex[:6]}.json"
    doc = {
        "kind": "twin-memory-deletion-receipt",
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)),
        "who": who,
        "scope": plan.scope,
        "selector": plan.selector,
        "count": len(deleted),
        "items": [{"id": it.id, "kind": it.kind.value} for it in deleted],
    }
    json.dumps(doc, allow_nan=False)  # nothing in it can be NaN; checked so a receipt is always JSON
    atomic_write_json(path, doc, indent=1)
    return path


def plan(
    mem: Any,
    speaker: str,
    about: str | None = None,
    everything: bool = False,
    ids: list[str] | None = None,
    last: bool = False,
    lang: str = "en",
) -> ForgetPlan:
    """What a forget request would delete, deleting nothing: this speaker's items about a topic
    (by meaning, memory/relevance.py `on_topic`), all of them, the last one written, or the
    given ids. Every deletion a person asks for goes plan -> their yes -> `carry_out`."""
    scope = speaker_scope(speaker)
    with mem._lock:
        if about is not None:
            topic = validate_text(about)
            part = mem.parts.get(scope)
            items: list[MemoryItem] = []
            if part is not None and len(part):
                q = mem.embedder.embed([topic])[0]
                found = [(mem.items[i], part.vecs[row]) for i, row in part.row_of.items()]
                items = on_topic(topic, q, found)
            return ForgetPlan("about", scope, tuple(items), topic, lang)
        if everything:
            mine = [it for it in mem.items.values() if it.speaker == scope]
            return ForgetPlan("everything", scope, tuple(sorted(mine, key=lambda it: it.created)), "", lang)
        if last:
            item = mem.items.get(mem._last_written.get(scope, ""))
            return ForgetPlan("last", scope, (item,) if item else (), "", lang)
        chosen = [mem.items[i] for i in dict.fromkeys(ids or []) if i in mem.items]
        return ForgetPlan("ids", scope, tuple(chosen), "", lang)


def carry_out(mem: Any, plan: ForgetPlan, who: str, at: float | None = None) -> Receipt:
    """Delete what `plan` showed (items already gone are skipped), then write the receipt. The
    deletion comes first and needs no new space, so forgetting works on a full disk; a receipt
    that cannot be written is reported in `Receipt.error`, never a reason to keep the items."""
    at = time.time() if at is None else at
    with mem._lock:
        gone = [it for it in plan.items if it.id in mem.items]
        mem.forget([it.id for it in gone])
        if plan.action == "last" and mem._last_written.get(plan.scope) in plan.ids:
            del mem._last_written[plan.scope]
    path: Path | None = None
    error = ""
    if mem.receipts is None:
        error = "no local data folder"
    else:
        try:
            path = write_receipt(mem.receipts, plan, who, gone, at)
        except OSError as exc:
            error = "the disk is full" if is_disk_full(exc) else f"{type(exc).__name__}: {exc}"[:120]
    return Receipt(len(gone), [it.id for it in gone], at, path, error, {it.id: it.kind.value for it in gone})
