"""What an item is found by. A plain memory ("You live in Leeds") is found by its own words. A turn
of an imported conversation is found by more: who said it, and the turn before it in the same
session. In real chat the answer is often a turn that makes no sense alone ("Nearly four. My body
clock is a disaster", "Tuesday week"): the question it answers is in the turn before it, and the
person it is about is who said it.

Measured on the DEV conversations of `twin bench memory --real` (evidence recall@5 / @10, hybrid):
the turn's text alone 0.426 / 0.611; with who said it 0.454 / 0.620; the previous turn in the
vector and who said it in the keywords 0.694 / 0.852 (kept); the previous and the next turn in the
vector 0.648 / 0.769; spreading a turn's score to its neighbours instead 0.704 / 0.796.

The previous turn's words live only in this turn's vector, never in its stored text: when that turn
is forgotten, this one is embedded again from its own words (`Memory.forget`), so forgetting erases.
"""

from __future__ import annotations

from .items import MemoryItem


def said(item: MemoryItem) -> str:
    return f"{item.said_by}: {item.text}" if item.said_by else item.text


def key_text(item: MemoryItem, before: MemoryItem | None) -> str:
    """The text an item's vector is made from."""
    if before is None:
        return said(item)
    return f"{said(before)}\n{said(item)}"


def index_text(item: MemoryItem) -> str:
    """The words BM25 finds an item by: its text, and who said it."""
    return f"{item.text} {item.said_by}" if item.said_by else item.text


def asks(text: str) -> bool:
    """Whether a text only asks: it ends with a question mark (?, or the full-width one)."""
    return text.rstrip().endswith(("?", "\uff1f"))
