"""Time windows in recall questions: "what did I do yesterday / last Tuesday / 3 days ago?"."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def _day(d: datetime) -> tuple[float, float]:
    start = d.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.timestamp(), (start + timedelta(days=1)).timestamp()


def time_window(query: str, now: datetime | None = None) -> tuple[float, float] | None:
    now = now or datetime.now().astimezone()
    q = query.lower()
    if "yesterday" in q or "last night" in q:
        return _day(now - timedelta(days=1))
    if re.search(r"\btoday\b|\bthis morning\b|\bearlier\b", q):
        return _day(now)
    m = re.search(r"\b(\d+|one|two|three|four|five|six|seven) days ago\b", q)
    if m:
        words = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
        n = int(m.group(1)) if m.group(1).isdigit() else words[m.group(1)]
        return _day(now - timedelta(days=n))
    m = re.search(r"\b(?:last|on|this past)\s+(" + "|".join(_DAYS) + r")\b", q)
    if m:
        target = _DAYS.index(m.group(1))
        back = (now.weekday() - target) % 7 or 7
        return _day(now - timedelta(days=back))
    if "last week" in q:
        start = (now - timedelta(days=now.weekday() + 7)).replace(hour=0, minute=0, second=0, microsecond=0)
        return start.timestamp(), (start + timedelta(days=7)).timestamp()
    if "last month" in q:
        first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        prev = (first - timedelta(days=1)).replace(day=1)
        return prev.timestamp(), first.timestamp()
    return None
