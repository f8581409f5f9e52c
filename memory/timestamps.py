"""Timestamps as people's exports write them, read with maintained parsers: the one module that
imports python-dateutil.

Tried in order:
1. ISO 8601, with or without a zone ("2023-10-22T21:55:00Z", "2023-10-22 21:55", "20231022");
2. RFC 2822, as mail and many chat exports write it ("Sun, 22 Oct 2023 21:55:00 +0100");
3. written dates: "9:55 am on 22 October, 2023", "Oct 22, 2023 9:55 PM", "22 Oct 2023";
4. numeric locale dates, DAY FIRST: "22/10/2023 21:55", "22.10.2023", and "10/11/2023" is
   10 November. A first number above 12 cannot be a month, so "10/22/2023" still reads as
   22 October (dateutil's rule); a file that mixes the two orders is read per line.

A time without a zone is this machine's local time. A text that lacks a day, month or year (or is
no date at all) is refused with `MemoryInputError`, never completed from today's date.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime
from email.utils import parsedate_to_datetime

from .items import MemoryInputError, check_time

ACCEPTED = (
    "ISO 8601 (2023-10-22T21:55:00+01:00), RFC 2822 (Sun, 22 Oct 2023 21:55:00 +0100), "
    "'9:55 am on 22 October, 2023', or day-first 22/10/2023 21:55"
)
_TWO_DEFAULTS = (datetime(2000, 1, 1), datetime(2004, 2, 2))  # differ in year, month and day
_RFC2822 = re.compile(r"^\s*(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}")


def _bad(when: str, why: str = "") -> MemoryInputError:
    extra = f" ({why})" if why else ""
    return MemoryInputError(
        f"bad time '{when[:40]}'{extra}; accepted: {ACCEPTED}",
        "write it as ISO 8601, e.g. 2023-10-22T21:55:00",
    )


def parse_timestamp(when: str) -> float:
    """Seconds since 1970 for one timestamp text, checked to be a date in 1970..9999."""
    from dateutil import parser as dateparser

    text = " ".join(str(when).split())
    if not text:
        raise _bad(when, "empty")
    if text.isdigit() and len(text) > 8:
        raise _bad(when, "a number in quotes: give seconds since 1970 as a JSON number")
    dt: datetime | None = None
    with contextlib.suppress(ValueError):
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt is None:
        with contextlib.suppress(ValueError, OverflowError):
            dt = dateparser.isoparse(text)
    if dt is None and _RFC2822.match(text):
        with contextlib.suppress(TypeError, ValueError, IndexError):
            dt = parsedate_to_datetime(text)
    if dt is None:
        try:
            # Parsed twice against two different defaults: a field the text lacks takes the
            # default's value, so the two results differ exactly when a part of the date is missing.
            one, two = (dateparser.parse(text, dayfirst=True, default=d) for d in _TWO_DEFAULTS)
        except (ValueError, OverflowError) as exc:
            raise _bad(when, str(exc)[:60]) from None
        if one != two:
            missing = [
                n
                for n, a, b in (
                    ("year", one.year, two.year),
                    ("month", one.month, two.month),
                    ("day", one.day, two.day),
                )
                if a != b
            ]
            raise _bad(when, "no " + " or ".join(missing))
        dt = one
    try:
        t = dt.timestamp()
    except (OverflowError, OSError, ValueError):
        raise _bad(when, "out of range") from None
    return check_time(t)
