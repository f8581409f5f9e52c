"""People's names and their nicknames ("Elizabeth", "Liz", "Lizzie"; "Christopher", "Kit"), from the
`nicknames` package's hand-curated English table: the one module that imports it.

Used by keyword recall (memory/index.py): a name in a question also matches the same person's other
names, but only names this person's memories use as a name (who said a turn, or a capitalised word
inside a sentence), so "Will I need a coat?" never matches "the gas bill".
"""

from __future__ import annotations

import re
from functools import lru_cache

_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]{1,30})\b")


@lru_cache(maxsize=1)
def _namer():
    from nicknames import NickNamer

    return NickNamer()


@lru_cache(maxsize=4096)
def aliases(name: str) -> frozenset[str]:
    """The other names of the person called `name` (lower case): its nicknames, the full names it is
    short for, and their other nicknames. Empty for a word the table does not know."""
    nn = _namer()
    name = name.lower()
    full = set(nn.canonicals_of(name)) | {name}
    out = set(full)
    for f in full:
        out |= set(nn.nicknames_of(f))
    out.discard(name)
    return frozenset(out)


def proper_names(text: str) -> set[str]:
    """Capitalised words that are not the first of a sentence, lower-cased: likely names."""
    return {m.group(1).lower() for m in _CAPITALISED.finditer(text.strip())}
