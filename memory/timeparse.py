"""Time windows in recall questions: "what did I do yesterday / last Tuesday / 3 days ago / on 14
March?", and the same in Chinese ("昨天", "上周二", "三天前", "3月14日"); the year or month of an
as-of question ("where did I live in 2023?", "in March 2024", "last year", "2023年", "去年"); and
whether a question asks about what no longer holds ("where did I live before?")."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MONTH = "|".join([*_MONTHS, *(m[:3] for m in _MONTHS if m != "may"), "sept"])
_NUM_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "a": 1}
_ZH_NUM = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_ZH_DAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}

Window = tuple[float, float]


def _day(d: datetime) -> Window:
    start = d.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.timestamp(), (start + timedelta(days=1)).timestamp()


def _month_index(name: str) -> int:
    name = name.lower()
    return next(i for i, m in enumerate(_MONTHS) if m.startswith(name[:3]))


def _date(now: datetime, month: int, day: int) -> Window | None:
    """The most recent 14 March on or before today (memories are of the past)."""
    for year in (now.year, now.year - 1):
        try:
            d = now.replace(year=year, month=month + 1, day=day)
        except ValueError:
            continue
        if d.date() <= now.date():
            return _day(d)
    return None


def _zh_int(s: str) -> int | None:
    """Chinese numerals up to 99 ("三", "十二", "二十") or digits."""
    if s.isdigit():
        return int(s)
    if not s or any(ch not in _ZH_NUM for ch in s):
        return None
    if "十" not in s:
        return _ZH_NUM[s] if len(s) == 1 else None
    tens, _, units = s.partition("十")
    return (_ZH_NUM[tens] if tens else 1) * 10 + (_ZH_NUM[units] if units else 0)


def _last_weekday(now: datetime, target: int) -> Window:
    back = (now.weekday() - target) % 7 or 7
    return _day(now - timedelta(days=back))


def _last_week(now: datetime) -> Window:
    start = (now - timedelta(days=now.weekday() + 7)).replace(hour=0, minute=0, second=0, microsecond=0)
    return start.timestamp(), (start + timedelta(days=7)).timestamp()


def _last_month(now: datetime) -> Window:
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    prev = (first - timedelta(days=1)).replace(day=1)
    return prev.timestamp(), first.timestamp()


def _chinese(q: str, now: datetime) -> Window | None:
    if "前天" in q:
        return _day(now - timedelta(days=2))
    if "昨" in q:  # 昨天, 昨晚
        return _day(now - timedelta(days=1))
    if re.search(r"今天|今早|今晚|今天早上|早些时候", q):
        return _day(now)
    m = re.search(r"([0-9]+|[一二两三四五六七八九十]+)\s*天(?:以)?前", q)
    if m and (n := _zh_int(m.group(1))) is not None:
        return _day(now - timedelta(days=n))
    m = re.search(r"上(?:个)?(?:周|星期|礼拜)([一二三四五六日天])", q)
    if m:
        return _last_weekday(now, _ZH_DAY[m.group(1)])
    if re.search(r"上(?:个)?(?:周|星期|礼拜)", q):
        return _last_week(now)
    if re.search(r"上(?:个)?月", q):
        return _last_month(now)
    m = re.search(r"([0-9]+|[一二三四五六七八九十]+)月([0-9]+|[一二三四五六七八九十]+)[日号]", q)
    if m:
        month, day = _zh_int(m.group(1)), _zh_int(m.group(2))
        if month and day and 1 <= month <= 12:
            return _date(now, month - 1, day)
    return None


def time_window(query: str, now: datetime | None = None) -> Window | None:
    now = now or datetime.now().astimezone()
    q = query.lower()
    if re.search(r"[\u4e00-\u9fff]", q):
        zh = _chinese(q, now)
        if zh is not None:
            return zh
    if "yesterday" in q or "last night" in q:
        return _day(now - timedelta(days=1))
    if re.search(r"\btoday\b|\bthis morning\b|\bearlier\b", q):
        return _day(now)
    m = re.search(r"\b(\d+|one|two|three|four|five|six|seven|a) days? ago\b", q)
    if m:
        n = int(m.group(1)) if m.group(1).isdigit() else _NUM_WORDS[m.group(1)]
        return _day(now - timedelta(days=n))
    m = re.search(r"\b(?:last|on|this past)\s+(" + "|".join(_DAYS) + r")\b", q)
    if m:
        return _last_weekday(now, _DAYS.index(m.group(1)))
    # "on 14 March", "on the 14th of March", "on March 14th"
    m = re.search(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})\b", q)
    if m:
        return _date(now, _month_index(m.group(2)), int(m.group(1)))
    m = re.search(rf"\b(?:on|of)\s+({_MONTH})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", q)  # not "I may 3 ..."
    if m:
        return _date(now, _month_index(m.group(1)), int(m.group(2)))
    if "last week" in q:
        return _last_week(now)
    if "last month" in q:
        return _last_month(now)
    return None


def _explicit_date(query: str, now: datetime) -> Window | None:
    """The window of a day and month named without a year ("on 14 March", "3月14日"), else None."""
    q = query.lower()
    m = re.search(r"([0-9]+|[一二三四五六七八九十]+)月([0-9]+|[一二三四五六七八九十]+)[日号]", q)
    if m:
        month, day = _zh_int(m.group(1)), _zh_int(m.group(2))
        return _date(now, month - 1, day) if month and day and 1 <= month <= 12 else None
    m = re.search(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})\b", q)
    if m:
        return _date(now, _month_index(m.group(2)), int(m.group(1)))
    m = re.search(rf"\b(?:on|of)\s+({_MONTH})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", q)
    if m:
        return _date(now, _month_index(m.group(1)), int(m.group(2)))
    return None


def time_windows(query: str, now: datetime | None = None, years: int = 10) -> list[Window]:
    """The windows to try, in order: `time_window`'s; for a day and month named without a year, the
    same day in each of the `years` years before too (an imported chat from 2023 is asked about
    "on 3 November" in 2026). Empty when the question names no time."""
    now = now or datetime.now().astimezone()
    window = time_window(query, now)
    if window is None:
        return []
    if window != _explicit_date(query, now):
        return [window]
    out = [window]
    start = datetime.fromtimestamp(window[0], now.tzinfo)
    for back in range(1, years + 1):
        try:
            day = start.replace(year=start.year - back)
        except ValueError:  # 29 February in a year that has none
            continue
        out.append(_day(day))
    return out


_YEAR = r"((?:19|20)\d\d)"


def _span(start: datetime, months: int) -> Window:
    start = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    month = start.month - 1 + months
    end = start.replace(year=start.year + month // 12, month=month % 12 + 1)
    return start.timestamp(), end.timestamp()


def as_of_window(query: str, now: datetime | None = None) -> Window | None:
    """The year or month an as-of question names, else None: "where did I live in 2023?", "what
    was my job in March 2024?", "who was my doctor last year?", "我2023年住在哪里？", "去年".
    Recall takes every fact that held at some point in it, superseded since or not."""
    now = now or datetime.now().astimezone()
    q = query.lower()
    m = re.search(_YEAR + r"\s*年\s*(\d{1,2})\s*月", q)
    if m and 1 <= int(m.group(2)) <= 12:
        return _span(now.replace(year=int(m.group(1)), month=int(m.group(2)), day=1), 1)
    m = re.search(_YEAR + r"\s*年", q)
    if m:
        return _span(now.replace(year=int(m.group(1)), month=1, day=1), 12)
    if "去年" in q:
        return _span(now.replace(year=now.year - 1, month=1, day=1), 12)
    m = re.search(rf"\b({_MONTH})\s+(?:of\s+)?{_YEAR}\b", q)
    if m:
        return _span(now.replace(year=int(m.group(2)), month=_month_index(m.group(1)) + 1, day=1), 1)
    m = re.search(r"\b(?:in|during|throughout|of)\s+(?:the\s+year\s+)?" + _YEAR + r"\b", q)
    if m:
        return _span(now.replace(year=int(m.group(1)), month=1, day=1), 12)
    if re.search(r"\blast year\b", q):
        return _span(now.replace(year=now.year - 1, month=1, day=1), 12)
    return None


_AS_OF_WORDS = re.compile(
    _YEAR + r"\s*年(?:\s*\d{1,2}\s*月)?|去年"
    rf"|\b(?:(?:back\s+)?(?:in|during|throughout|of)\s+)?(?:(?:{_MONTH})\s+(?:of\s+)?|the\s+year\s+)?"
    + _YEAR
    + r"\b|\blast year\b",
    re.I,
)


def without_as_of(query: str) -> str:
    """The question with its year or month taken out ("where did I live in 2023?" -> "where did I
    live?"): what it is about, for the relevance check, once the window has done the time's part
    (the year's digits pulled "我2022年住在哪里？" under the floor for "You live in Leeds")."""
    return re.sub(r"\s+([?？.!])", r"\1", _AS_OF_WORDS.sub("", query)).strip()


_HISTORY = re.compile(
    r"\b(?:before|previously|formerly|used to|did (?:i|we) use to|no longer|any more|anymore)\b"
    r"|\b(?:my|our)\s+(?:old|previous|former|last)\s+(?!(?:name|time)\b)\w"
    r"|以前|之前|原来|过去"
)


def asks_history(query: str) -> bool:
    """Whether the question is about what held before ("where did I live before?", "what was my
    old job?", "我以前住在哪里？"): recall then also searches facts a newer value superseded."""
    return bool(_HISTORY.search(query.lower()))
