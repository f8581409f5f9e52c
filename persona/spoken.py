"""Turn model text into something that sounds right when spoken: no markdown, no emoji, no code;
dates, times, money and units said the way a person says them; replies kept within the length a
device allows."""

from __future__ import annotations

import calendar
import re

_EMOJI = re.compile("[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f900-\U0001f9ff\U0000fe0f\U0000200d]+")
_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")
_CODE_FENCE = re.compile(r"```.*?(```|$)", re.S)
_LIST_MARKER = re.compile(r"^\s*(?:[-*•+]|\d+[.)])\s+", re.M)
_HEADING = re.compile(r"^\s*#+\s*", re.M)
_EMPHASIS = re.compile(r"(\*\*|__|\*|`|~~)")
_URL = re.compile(r"https?://\S+")

_MONTHS = list(calendar.month_name)[1:]  # English month names (C locale)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
# "10:00", "18:30", "9:05 pm": a clock time, read digit by digit by the voice ("ten zero zero");
# not a duration ("1:30 hours", "2:15 minutes left"), which is left as it is
_CLOCK = re.compile(
    r"(?<![\d:.])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])(?!\s*(?:hours?|hrs?|minutes?|mins?|h)\b)"
    r"(?:\s?([ap])\.?m\b\.?)?",
    re.I,
)
# "2 March", "March 2": a day of the month, read as a count ("two March", heard as "to March")
_DAY_MONTH = re.compile(r"\b([12]?\d|3[01]) (" + "|".join(calendar.month_name[1:]) + r")\b")
_MONTH_DAY = re.compile(r"\b(" + "|".join(calendar.month_name[1:]) + r") ([12]?\d|3[01])\b")
_MONEY = re.compile(r"([$€£])\s?(\d+(?:[.,]\d+)*)")
_CURRENCY = {"$": "dollars", "€": "euros", "£": "pounds"}
_UNITS = [
    (r"°\s?C\b", " degrees Celsius"),
    (r"°\s?F\b", " degrees Fahrenheit"),
    (r"°", " degrees"),
    (r"(?<=\d)\s?%", " percent"),
    (r"(?<=\d)\s?km/h\b", " kilometres per hour"),
    (r"(?<=\d)\s?mph\b", " miles per hour"),
    (r"(?<=\d)\s?km\b", " kilometres"),
    (r"(?<=\d)\s?kg\b", " kilograms"),
    (r"(?<=\d)\s?cm\b", " centimetres"),
    (r"(?<=\d)\s?mm\b", " millimetres"),
    (r"(?<=\d)\s?ml\b", " millilitres"),
    (r"(?<=\d)\s?(?:min|mins)\b", " minutes"),
    (r"(?<=\d)\s?(?:hrs|hr|h)\b", " hours"),
    (r"(?<=\d)\s?m\b", " metres"),
    (r"(?<=\d)\s?g\b", " grams"),
    (r"(?<=\d)\s?l\b", " litres"),
    (r"\be\.g\.", "for example"),
    (r"\bi\.e\.", "that is"),
    (r"\bapprox\.", "about"),
]
_UNIT_RES = [(re.compile(p), r) for p, r in _UNITS]


def _date(m: re.Match) -> str:
    from num2words import num2words

    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return m.group(0)
    return f"the {num2words(day, to='ordinal')} of {_MONTHS[month - 1]} {num2words(year, to='year')}"


def _clock(m: re.Match) -> str:
    """ "ten a.m.", "six thirty p.m.", "nine oh five a.m.", "midnight", "noon": as a person says it."""
    from num2words import num2words

    hour, minute, half = int(m.group(1)), int(m.group(2)), (m.group(3) or "").lower()
    if not half:  # a 24-hour time
        if minute == 0 and hour in (0, 12):
            return "midnight" if hour == 0 else "noon"
        half = "a" if hour < 12 else "p"
    hour = hour % 12 or 12
    said = num2words(hour)
    if minute:
        said += f" {'oh ' if minute < 10 else ''}{num2words(minute)}"
    # the sentence's own full stop closes "p.m" (no "p.m..")
    return f"{said} {half}.m" + ("" if m.string[m.end() : m.end() + 1] == "." else ".")


def _day_month(m: re.Match) -> str:
    from num2words import num2words

    return f"the {num2words(int(m.group(1)), to='ordinal')} of {m.group(2)}"


def _month_day(m: re.Match) -> str:
    from num2words import num2words

    return f"{m.group(1)} {num2words(int(m.group(2)), to='ordinal')}"


def _money(m: re.Match) -> str:
    amount = m.group(2).replace(",", "")
    name = _CURRENCY[m.group(1)]
    if "." in amount:
        whole, cents = amount.split(".", 1)
        if len(cents) == 2 and cents != "00":
            return f"{whole} {name} {int(cents)}"
        amount = whole
    return f"{amount} {name}"


def natural_forms(text: str) -> str:
    """Dates, clock times, money and units as they are said aloud."""
    text = _ISO_DATE.sub(_date, text)
    text = _CLOCK.sub(_clock, text)
    text = _DAY_MONTH.sub(_day_month, text)
    text = _MONTH_DAY.sub(_month_day, text)
    text = _MONEY.sub(_money, text)
    for rx, repl in _UNIT_RES:
        text = rx.sub(repl, text)
    return text


def to_spoken(text: str) -> str:
    text = _CODE_FENCE.sub(" ", text)
    text = _MARKDOWN_LINK.sub(r"\1", text)
    text = _URL.sub("the link", text)
    text = _HEADING.sub("", text)
    text = _LIST_MARKER.sub("", text)
    text = _EMPHASIS.sub("", text)
    text = _EMOJI.sub("", text)
    text = text.replace("&", " and ")
    text = natural_forms(text)
    return re.sub(r"\s+", " ", text).strip()


def bound_length(sentences: list[str], max_sentences: int, max_words: int) -> list[str]:
    """Keep whole sentences within the bounds; the first sentence is always kept (cut at a word
    limit if it alone is too long), since it carries the answer."""
    out: list[str] = []
    words = 0
    for s in sentences:
        n = len(s.split())
        if len(out) >= max_sentences or (out and words + n > max_words):
            break
        if not out and n > max_words:
            out.append(" ".join(s.split()[:max_words]).rstrip(",;:") + ".")
            break
        out.append(s)
        words += n
    return out


def number_words(upto: int) -> list[str]:
    """0..`upto` as English words ("zero" ... "sixty-eight" ...), index = value."""
    from num2words import num2words

    return [num2words(i) for i in range(upto + 1)]
