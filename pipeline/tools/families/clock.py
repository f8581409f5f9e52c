"""The clock: the time, timers and alarms, reminders, and what rings when they come due. Its state is
in DATA_DIR/tools, so a timer set before a restart still rings after it.

Each timer, alarm and reminder records where it was set (`device`, the hub's device name; "" outside
the hub) and by whom (`speaker`), so the hub rings it on that device, or where its owner last spoke.
Items stored before these fields existed have neither and ring on any device."""

from __future__ import annotations

import re
import uuid
import zoneinfo
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from pipeline.tools.base import Tier, ToolResult
from pipeline.tools.errors import ToolArgumentError
from pipeline.tools.family import Context, Family, N, S, tool
from pipeline.tools.store import JsonState

TIME = r"\b(time|date|day|today)\b"
TIME_CUE = (
    r"\bwhat(?:'s| is) the (?:time|date|day)\b|\bwhat time is it\b|\bwhat day is (?:it|today)\b"
    r"|\b(?:what's|what is|what)\s+(?:today's|the)\s+date\b|\btell me the (?:time|date)\b"
)
TIMERS = r"\b(timers?|alarms?|wake me|minutes?|seconds?|hours?|countdowns?)\b"
TIMER_CUE = r"\b(?:timers?|alarms?|wake me|countdowns?)\b|^(?:please\s+)?cancel\b"
REMINDERS = r"\bremind"
REMINDER_CUE = r"\bremind(?:er|ers)?\b"
REPEAT = {"type": "string", "enum": ["none", "daily", "weekly"]}


def _hhmm(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\s*", text.lower())
    if not m:
        raise ToolArgumentError(f"cannot read '{text}' as a time of day", "use HH:MM, e.g. 07:30")
    h, mi = int(m.group(1)), int(m.group(2) or 0)
    if m.group(3) == "pm" and h < 12:
        h += 12
    if m.group(3) == "am" and h == 12:
        h = 0
    if h > 23 or mi > 59:
        raise ToolArgumentError(f"'{text}' is not a time of day", "use HH:MM between 00:00 and 23:59")
    return h, mi


def _reminder_time(text: str, now: datetime) -> tuple[int, int]:
    """A reminder's time of day: "HH:MM", "9pm", "in 20 minutes" (from `now`, to the next whole
    minute), or an hour said on its own ("at 5"), which is the next 5 o'clock, morning or evening,
    as a person means it (a padded "05" or "05:00" is the morning's)."""
    said = text.strip().lower()
    if said.startswith("in "):
        seconds = _span_seconds(said[3:])
        if not seconds or re.search(r"\b(?:days?|weeks?|months?|years?)\b", said):
            raise ToolArgumentError(f"cannot read '{text}' as a time", "e.g. 'in 20 minutes' or 18:00")
        if seconds > 23 * 3600 + 59 * 60:
            raise ToolArgumentError("a reminder is for the next 24 hours", "give a time of day, e.g. 18:00")
        at = now + timedelta(seconds=seconds)
        at = at.replace(second=0, microsecond=0) + timedelta(minutes=bool(at.second or at.microsecond))
        return at.hour, at.minute
    h, m = _hhmm(said)
    if re.fullmatch(r"[1-9]|1[0-2]", said):  # "5": the next five o'clock
        morning = now.replace(hour=h % 12, minute=0, second=0, microsecond=0)
        evening = morning + timedelta(hours=12)
        return (morning if now < morning or now >= evening else evening).hour, 0
    return h, m


def _reminder_due(r: dict[str, Any], now: datetime) -> bool:
    """Due when its time of day has passed since it was set (or last rang), on a day its repeat
    allows."""
    since = datetime.fromisoformat(r.get("last") or r.get("created") or now.isoformat())
    h, m = (int(x) for x in r["time"].split(":"))
    step = 7 if r.get("repeat") == "weekly" and r.get("last") else 1  # a week after it last rang
    at = since.replace(hour=h, minute=m, second=0, microsecond=0)
    if at <= since:
        at += timedelta(days=step)
    return at <= now


def _which(label: str) -> str:
    """A timer's label as the user gave it; "" for every timer ("all", "the timer", none)."""
    label = (label or "").strip()
    return (
        "" if label.lower() in ("", "all", "every", "everything", "timer", "the timer", "timers") else label
    )


def _timer_due(t: dict[str, Any], now: datetime) -> bool:
    """A timer or alarm whose time has come; a paused timer never is."""
    return not t.get("paused") and datetime.fromisoformat(t["due"]) <= now


_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}
_SPAN = re.compile(
    r"(?P<n>\d+(?:\.\d+)?|an?|one)\s+(?:and\s+a\s+(?P<half>half)\s+)?"
    r"(?P<unit>h(?=ours?\b|rs?\b)|m(?=inutes?\b|ins?\b)|s(?=econds?\b|ecs?\b))\w*"
    r"(?:\s+and\s+a\s+(?P<half2>half)\b)?"
    r"|(?P<halfan>half)\s+an?\s+(?P<unit2>h(?=our\b)|m(?=inute\b))\w*",
    re.IGNORECASE,
)
# A timer asked for, as the request's first words: setting or starting one ("set of time for 3 hours":
# an ASR's "set a timer"), a timer or countdown, "give me ... on the clock", "wake me"
_TIMER_ASKED = re.compile(
    r"^(?:please\s+)?(?:(?:set|start)\b|(?:an?\s+)?(?:timer|countdown)\b|wake\s+me\b|give\s+me\b.*\bon\s+the\s+clock\b)",
    re.IGNORECASE,
)
# Where the first clause ends: "and" or "then" before anything but more of a length ("3 hours and 10
# minutes", "an hour and a half")
_NEXT_CLAUSE = re.compile(r"\b(?:and|then)\b(?!\s+(?:a\s+half|\d|an?\s+(?:hour|minute|second)|one\s))", re.I)


def _span_seconds(text: str) -> float:
    """A length as the words state it, every part added up ("3 hours and 10 minutes": 11,400 s)."""
    seconds = 0.0
    for m in _SPAN.finditer(text):
        if m.group("halfan"):
            seconds += _UNIT_SECONDS[m.group("unit2").lower()] / 2
            continue
        n = m.group("n").lower()
        value = 1.0 if n in ("a", "an", "one") else float(n)
        if m.group("half") or m.group("half2"):
            value += 0.5
        seconds += value * _UNIT_SECONDS[m.group("unit").lower()]
    return seconds


def plain_duration(text: str) -> dict[str, Any] | None:
    """A timer's length as the words state it, every part added up: "3 hours and 10 minutes" is 190
    minutes, "an hour and a half" 90, "half an hour" 30, "2 minutes 30 seconds" 150 seconds. Read
    only when the request starts by asking for a timer, within its first clause; the text has its
    number words as digits already. None when no timer is asked for or no length is said."""
    text = text.strip()
    if not _TIMER_ASKED.search(text):
        return None
    text = _NEXT_CLAUSE.split(text, maxsplit=1)[0]
    if re.search(r"\b(?:add|extend|more|cancel|pause|resume|alarm|remind)\b", text, re.I):
        return None
    seconds = _span_seconds(text)
    if not seconds:
        return None
    minutes, secs = divmod(round(seconds), 60)
    args: dict[str, Any] = {"minutes": minutes, **({"seconds": secs} if secs else {})}
    named = re.search(
        r"\b(?:a|an|the|my)\s+(?P<l>[a-z]+)\s+timer\b|\btimer\s+for\s+(?:the|my)\s+(?P<f>[a-z]+)", text, re.I
    )
    label = named and (named.group("l") or named.group("f")).lower()
    if label and label not in ("new", "countdown", "kitchen", "quick", "short", "long", "second", "minute"):
        args["label"] = label  # "a pasta timer", "a timer for the eggs"
    return args


def _timer_reader(verbs: str, things: str = r"timers?") -> Callable[[str], dict[str, Any] | None]:
    """A reader of "<verb> the timer" / "<verb> all my timers" (every timer: label "") and of "<verb>
    the pasta timer" (one word naming it: label "pasta"), as the words state it. A bare "pause" is not
    read (music?), nor a name of more words ("the big red timer"): the model's to read."""
    pattern = re.compile(
        rf"^(?:please\s+)?(?:{verbs})\s+(?:all\s+(?:of\s+)?(?:the\s+|my\s+)?|every\s+|the\s+|my\s+)?"
        rf"(?:(?P<label>[a-z]+)\s+)?(?:{things})\s*(?:please)?\W*$",
        re.IGNORECASE,
    )

    def read(text: str) -> dict[str, Any] | None:
        m = pattern.search(text.strip())
        if not m:
            return None
        label = (m.group("label") or "").lower()
        return {"label": "" if label in _ANY_TIMER else label}

    return read


# Words before "timer" that name no particular one ("the kitchen timer" is the only one a kitchen has)
_ANY_TIMER = frozenset(
    {"", "the", "my", "all", "every", "current", "running", "kitchen", "countdown", "paused"}
)


# "cancel all timers", "clear my timers", "cancel the timer", "cancel the timers and alarms"
plain_cancel = _timer_reader(r"cancel|clear|delete|remove|stop", r"timers?|alarms?|timers?\s+and\s+alarms?")
plain_pause = _timer_reader(r"pause|hold|freeze")
_resume_every = _timer_reader(r"resume|unpause|continue")  # "restart" may mean from the start: the model's
_BARE_RESUME = re.compile(r"^(?:please\s+)?(?:resume|unpause)(?:\s+please)?\W*$", re.IGNORECASE)


def plain_resume(text: str) -> dict[str, Any] | None:
    """ "Resume the timer", "unpause my timers", and a bare "resume": routed to this tool alone (no
    tool of Twin's plays music), it is the paused timers'. Were another tool to read "resume" too,
    the planner would ask the model (a reading must be the only one)."""
    return _resume_every(text) or ({"label": ""} if _BARE_RESUME.match(text.strip()) else None)


# When a reminder is for: a time of day ("at 9 pm", "at 21:30", "at 5", "at noon", "at 7 tonight") or a
# length from now ("in 20 minutes", "in an hour and a half"); the text has its number words as digits
_PART = r"tonight|in\s+the\s+(?:morning|afternoon|evening)|this\s+(?:morning|afternoon|evening)"
_AT = (
    r"at\s+(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ap>[ap])\.?\s*m\b\.?"
    rf"|at\s+(?P<h24>\d{{1,2}}):(?P<m24>\d{{2}})\b(?!\s*[ap]\.?m)(?:\s+(?P<part>{_PART}))?"
    rf"|at\s+(?P<hb>\d{{1,2}})(?:\s+o'?clock)?\b(?!\s*[:.]?\d|\s*[ap]\.?m)(?:\s+(?P<partb>{_PART}))?"
    r"|at\s+(?P<named>noon|midday|midnight)"
    r"|in\s+(?P<span>(?:(?:\d+(?:\.\d+)?|an?|one|half|and|hours?|hrs?|minutes?|mins?|seconds?|secs?)\s*)+)"
)
_REPEAT = r"(?P<rep>every\s+(?:day|morning|evening|night|week)|each\s+(?:day|week)|daily|weekly)"


def _named(pattern: str, prefix: str) -> str:
    return pattern.replace("?P<", f"?P<{prefix}")


# "remind me to X at T [every day]", "remind me to X every day at T", "remind me [every day] at T to X"
_REMIND = re.compile(
    r"^(?:please\s+)?(?:(?:can|could|would)\s+you\s+)?remind\s+me\s+(?:"
    rf"(?:to|that|about)\s+(?P<a_what>.+?)\s+(?:{_named(_REPEAT, 'a0')}\s+)?(?:{_named(_AT, 'a_')})"
    rf"(?:\s+{_named(_REPEAT, 'a_')})?"
    rf"|(?:{_named(_REPEAT, 'b0')}\s+)?(?:{_named(_AT, 'b_')})(?:\s+{_named(_REPEAT, 'b_')})?\s+"
    r"(?:to|that|about)\s+(?P<b_what>.+?)"
    r")(?:\s+please)?[.!?]?$",
    re.IGNORECASE,
)
# Words a reminder's time of day cannot hold (a day, a date, a weekday): the model's to read
_NOT_TODAY = re.compile(
    r"\b(?:tomorrow|next\s+(?:week|month|year)|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|weekend|january|february|march|april|may|june|july|august|september|october|november|december"
    r"|every|each|daily|weekly)\b"
    r"|\b(?:at|in)\s+\d",
    re.IGNORECASE,
)


def _said_time(g: dict[str, str]) -> str | None:
    """The time `_AT` matched (its groups, unprefixed), as the tools take it: "9:00 pm", "21:30",
    "5" (an hour alone: the next one), "in 20 minutes"; None for "at 5:30" (morning or evening?)."""
    if "span" in g:
        return "in " + g["span"].strip() if _span_seconds(g["span"]) else None
    if "named" in g:
        return "00:00" if g["named"].lower() == "midnight" else "12:00"
    if "ap" in g:
        return f"{g['h']}:{g.get('m') or '00'} {g['ap'].lower()}m"
    hour, minute = (g["h24"], g["m24"]) if "h24" in g else (g["hb"], None)
    part = (g.get("part") or g.get("partb") or "").lower()
    if part and int(hour) <= 12:  # "at 7 tonight", "at 8:30 in the morning"
        return f"{hour}:{minute or '00'} " + ("am" if part.endswith("morning") else "pm")
    if minute is None:
        return hour  # "at 5": the next five o'clock (the tool decides which)
    if int(hour) > 12 or hour.startswith("0"):
        return f"{hour}:{minute}"  # 24-hour: "at 21:30", "at 07:15"
    return None  # "at 5:30": morning or evening? the model's to read


def plain_reminder(text: str) -> dict[str, Any] | None:
    """A reminder whose words state what and when: "remind me to take my pills at 9 pm every day",
    "remind me in 20 minutes to check the oven", "remind me at 5 to call mum" (the next 5 o'clock).
    None when a day or date is said ("tomorrow", "on Monday": the tool keeps a time of day only), or
    a time it cannot read ("at half past 9"): the model's to read."""
    m = _REMIND.match(text.strip())
    if not m:
        return None
    g = {k[2:] if k[1] in "_0" else k: v for k, v in m.groupdict().items() if v is not None}
    what = g["what"].strip(" ,.!?\"'")
    if not what or _NOT_TODAY.search(what):
        return None
    when = _said_time(g)
    if when is None:
        return None
    rep = (g.get("rep") or "").lower()
    repeat = "weekly" if rep.endswith("week") or rep == "weekly" else "daily" if rep else "none"
    return {"text": what, "time": when, **({"repeat": repeat} if rep else {})}


def plain_clock_part(text: str) -> dict[str, Any] | None:
    """What of the clock was asked: "what time is it" the time, "what's the date", "what day is it"
    the date, both asked both; None when the words ask neither in these forms (another request that
    only mentions a day: "remind me ... every day"). "It is 21:39 on Monday 30 November 2026" took
    ~190 ms to synthesize and ~5 s to hear where "It is 21:39" was asked for."""
    if not re.search(TIME_CUE, text, re.I):
        return None
    time_asked = bool(re.search(r"\btime\b", text, re.I))
    date_asked = bool(re.search(r"\b(?:date|day|today|month|year)\b", text, re.I))
    part = "both" if time_asked == date_asked else "time" if time_asked else "date"
    where = _PLACE.search(text)
    return {"part": part, "place": where.group("place").strip()} if where else {"part": part}


# "what time is it in Tokyo", "what's the date in New York right now": the place, at the words' end
_PLACE = re.compile(
    r"\b(?:in|at)\s+(?!(?:the\s+(?:morning|afternoon|evening)|home|here)\b)(?P<place>[a-z][a-z .'-]{1,40}?)"
    r"(?:\s+(?:right\s+now|now|today|tonight))?\s*[?.!]*\s*$",
    re.IGNORECASE,
)


@cache
def _zones() -> dict[str, str]:
    """The tz database's places by their city's name, lower-cased ("new york": "America/New_York")."""
    zones = (z for z in zoneinfo.available_timezones() if "/" in z)
    return {z.rsplit("/", 1)[-1].replace("_", " ").lower(): z for z in zones}


def time_zone(place: str) -> zoneinfo.ZoneInfo | None:
    """The time zone of a city the tz database names (Tokyo, New York, London, Sydney), else None:
    Twin does not guess a place's time (Osaka, Beijing: not in it by those names)."""
    key = re.sub(r"\s+", " ", place.strip().lower().removesuffix(" city"))
    name = _zones().get(key)
    return zoneinfo.ZoneInfo(name) if name else None


_ADD_TIME = re.compile(
    r"^(?:please\s+)?(?:add|put)\s+(?P<span>.+?)\s+(?:to|on|onto)\s+(?:the\s+|my\s+)?(?:(?P<label>[a-z]+)\s+)?"
    r"timer\s*(?:please)?\W*$",
    re.IGNORECASE,
)


def plain_more_time(text: str) -> dict[str, Any] | None:
    """Time added to a timer as said: "add 5 minutes to the timer", "add 30 seconds to the pasta
    timer" (every part added up); None when no length is said ("add some time")."""
    m = _ADD_TIME.match(text.strip())
    seconds = _span_seconds(m.group("span")) if m else 0
    if not m or not seconds or re.search(r"\b(?:and|then)\s+(?!a\s+half|\d)", m.group("span"), re.I):
        return None
    minutes, secs = divmod(round(seconds), 60)
    label = (m.group("label") or "").lower()
    return {
        "minutes": minutes,
        **({"seconds": secs} if secs else {}),
        "label": "" if label in _ANY_TIMER else label,
    }


_ALARM = re.compile(
    rf"^(?:please\s+)?(?:(?:set|make)\s+(?:an?\s+|my\s+)?alarm\s+|wake\s+me(?:\s+up)?\s+)(?:{_AT})"
    r"\s*(?:please)?\W*$",
    re.IGNORECASE,
)


def plain_alarm(text: str) -> dict[str, Any] | None:
    """An alarm's time as said: "set an alarm for 6:45 am", "wake me up at 7 in the morning". Not
    read: a day ("tomorrow at 7"), an hour alone ("at 7": morning or evening?), a length ("in 20
    minutes": a timer's)."""
    said = re.sub(r"\balarm\s+for\s+(?=\d|noon\b|midnight\b)", "alarm at ", text.strip(), flags=re.I)
    m = _ALARM.match(said)
    if not m:
        return None
    when = _said_time({k: v for k, v in m.groupdict().items() if v is not None})
    if when is None or when.startswith("in ") or re.fullmatch(r"\d{1,2}", when):
        return None
    return {"time": when}


def _duration(seconds: float) -> str:
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)

    def unit(n: int, name: str) -> str:
        return f"{n} {name}" + "s" * (n != 1)

    parts = [unit(hours, "hour")] * bool(hours) + [unit(minutes, "minute")] * bool(minutes)
    return " ".join(parts + [unit(secs, "second")] if secs or not parts else parts)


def _left(t: dict[str, Any], now: datetime | None = None, again: bool = False) -> str:
    """A timer as said after a change: what it has left, paused or (with `now`) running; `again`:
    just resumed. Said as a person would ("the timer is running again, with 4 minutes 52 seconds
    left"), not as a clock reads ("the timer rings at 04:16:33": the seconds were spoken, and the
    longer first piece took ~250 ms to synthesize)."""
    name = _called(t)
    if now is not None and not t.get("paused"):
        left = _duration(max(0.0, (datetime.fromisoformat(t["due"]) - now).total_seconds()))
        return f"{name} is running again, with {left} left" if again else f"{name} has {left} left"
    # "the timer is paused, with ..." (it was "paused: timer paused with ..."): the comma lets the
    # first words be voiced while the rest is synthesized
    return f"{name} is paused, with {_duration(float(t.get('left', 0)))} left"


_NOT_A_LABEL = frozenset({"set", "new", "an", "a", "the", "my", "for", "timer", "alarm", "countdown"})


def _own_label(label: str, kind: str) -> str:
    """A label that names something ("eggs", "pasta"), or `kind`: the model's "Alarm Set" for "set an
    alarm for 7am" was read back as "the Alarm Set alarm"."""
    words = [w for w in label.split() if w.lower().strip(".,'") not in _NOT_A_LABEL]
    return " ".join(words) or kind


def _every(repeat: str) -> str:
    return {"daily": " every day", "weekly": " every week"}.get(repeat, "")


def _called(t: dict[str, Any]) -> str:
    """A timer or alarm as said: "the timer", "the pasta timer", "the alarm"."""
    kind = t.get("kind", "timer")
    return f"the {kind}" if t["label"] in ("", kind) else f"the {t['label']} {kind}"


def _as_said(t: dict[str, Any], now: datetime) -> str:
    """A timer or alarm as the answer to "how long is left?": "the timer has 12 minutes left (it
    rings at 08:42)", "the pasta timer is paused with 6 minutes left", "the alarm rings at 07:30"
    (it was "set: timer: 12 minutes left (rings at 08:42:35)")."""
    kind = t.get("kind", "timer")
    name = _called(t)
    if t.get("paused"):
        return f"{name} is paused with {_duration(float(t.get('left', 0)))} left"
    due = datetime.fromisoformat(t["due"])
    if kind != "timer":
        day = "" if due.date() == now.date() else f" {due:%A}"
        return f"{name} rings at {due:%H:%M}{day}"
    return f"{name} has {_duration((due - now).total_seconds())} left (it rings at {due:%H:%M})"


class Clock(Family):
    origin_device = ""  # the hub's device whose session this is (set by the ToolDesk); "" outside the hub

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.timers = JsonState(ctx.state_dir / "timers.json", {"timers": []})
        self.reminders = JsonState(ctx.state_dir / "reminders.json", {"reminders": []})

    @tool(
        "get_time",
        "current date and time",
        Tier.READ,
        {"part": {"type": "string", "enum": ["time", "date", "both"]}, "place": S},
        answers=True,
        cue=TIME_CUE,
        topic=TIME,
        example=("what time is it", {}),
        plain=plain_clock_part,
        # what was asked, and where, is read from the words, never chosen by the model
        plain_only=("part", "place"),
    )
    def get_time(self, a: dict[str, Any]) -> ToolResult:
        now = self.ctx.now()  # "2 March", never "02 March": a zero-padded day is read digit by digit
        place = str(a.get("place", "")).strip()
        if place:  # "what time is it in Tokyo": there, or honestly not, never the time here
            zone = time_zone(place)
            if zone is None:
                raise ToolArgumentError(
                    f"I don't know which time zone {place} is in", "ask for a city such as Tokyo or New York"
                )
            now = now.astimezone(zone)
        # "Monday, 2 March 2026": the comma lets the spoken answer's first piece end at the weekday
        # ("Today is Monday," 1.2 s of speech, ~50 ms to voice, against ~150 ms for the whole line)
        day = f"{now:%A}, {now.day} {now:%B %Y}"
        part = a.get("part", "both")
        there = f"in {place.title()} " if place else ""
        if part == "time":
            return ToolResult(True, f"{there}it is {now:%H:%M}")
        if part == "date":
            return ToolResult(True, f"{there}it is {day}" if place else f"today is {day}")
        return ToolResult(True, f"{there}it is {now:%H:%M} on {day}")

    # -- timers and alarms -------------------------------------------------------------------------
    @tool(
        "cancel_timer",
        "cancel a timer or alarm by label (empty: all)",
        Tier.ACT,
        {"label": S},
        verb="cancel timers",
        cue=TIMER_CUE,
        topic=TIMERS,
        verbs=r"\b(cancel|delete|clear|remove)\b.*\b(timers?|alarms?)\b",
        plain=plain_cancel,
    )
    def cancel_timer(self, a: dict[str, Any]) -> ToolResult:
        label = a.get("label", "")
        label = "" if label.lower() in ("all", "every", "everything") else label

        def drop(s: dict[str, Any]) -> list[dict[str, Any]]:
            gone = [t for t in s["timers"] if not label or label in (t["label"], t["id"])]
            s["timers"] = [t for t in s["timers"] if t not in gone]
            return gone

        gone = self.timers.update(drop)
        if not gone:  # "no timer named '' is set" was said for "cancel all timers" with none set
            return ToolResult(
                False, f"no timer named '{label}' is set" if label else "no timer or alarm is set"
            )
        kinds = [t.get("kind", "timer") for t in gone]
        said = [f"{n} {k}{'s' * (n != 1)}" for k in ("timer", "alarm") if (n := kinds.count(k))]
        return ToolResult(True, "cancelled " + " and ".join(said), gone, undo=lambda: self._set_again(gone))

    def _set_again(self, gone: list[dict[str, Any]]) -> ToolResult:
        """The undo of a cancel: the timers and alarms set again as they were, due when they were
        due; one whose time has passed meanwhile is said, not rung late."""
        now = self.ctx.now()
        due = [t for t in gone if datetime.fromisoformat(t["due"]) > now or t.get("paused")]

        def put(s: dict[str, Any]) -> int:
            have = {t.get("id") for t in s["timers"]}
            back = [t for t in due if t.get("id") not in have]
            s["timers"].extend(back)
            return len(back)

        n = self.timers.update(put) if due else 0
        if not n:
            return ToolResult(False, "their time has passed" if not due else "they are set already")
        kinds = sorted({t.get("kind", "timer") for t in due})
        what = " and ".join(f"{k}s" for k in kinds) if n > 1 else f"the {kinds[0]}"
        return ToolResult(True, f"set {what} again", due)

    @tool(
        "pause_timer",
        "pause a running countdown timer by label (empty: all); it keeps the time it had left",
        Tier.ACT,
        {"label": S},
        verb="pause timers",
        cue=TIMER_CUE,
        topic=TIMERS,
        verbs=r"\b(pause|hold|freeze)\b.*\btimers?\b|\btimers?\b.*\b(pause|hold|freeze)\b",
        example=("pause the timer", {"label": ""}),
        plain=plain_pause,
    )
    def pause_timer(self, a: dict[str, Any]) -> ToolResult:
        now = self.ctx.now()

        def pause(t: dict[str, Any]) -> bool:
            if t.get("paused") or t.get("kind", "timer") != "timer":
                return False
            t["paused"], t["left"] = True, max(0.0, (datetime.fromisoformat(t["due"]) - now).total_seconds())
            return True

        before: list[dict[str, Any]] = []
        changed = self._change_timers(a.get("label", ""), pause, before)
        if not changed:
            return ToolResult(False, "no running timer to pause")
        return ToolResult(
            True, "; ".join(_left(t) for t in changed), changed, undo=self._timers_back(before, changed)
        )

    @tool(
        "resume_timer",
        "resume a paused countdown timer by label (empty: all)",
        Tier.ACT,
        {"label": S},
        verb="resume timers",
        cue=TIMER_CUE,
        topic=TIMERS,
        verbs=r"\b(resume|unpause|continue|restart)\b.*\btimers?\b|\btimers?\b.*\b(resume|unpause|continue)\b",
        example=("resume the timer", {"label": ""}),
        plain=plain_resume,
    )
    def resume_timer(self, a: dict[str, Any]) -> ToolResult:
        now = self.ctx.now()

        def resume(t: dict[str, Any]) -> bool:
            if not t.get("paused"):
                return False
            t["due"] = (now + timedelta(seconds=float(t.pop("left", 0)))).isoformat()
            t.pop("paused", None)
            return True

        before: list[dict[str, Any]] = []
        changed = self._change_timers(a.get("label", ""), resume, before)
        if not changed:
            return ToolResult(False, "no paused timer to resume")
        said = "; ".join(_left(t, now, again=True) for t in changed)
        return ToolResult(True, said, changed, undo=self._timers_back(before, changed))

    @tool(
        "add_time_to_timer",
        "add minutes or seconds to a countdown timer that is set (by label; empty: the only one)",
        Tier.ACT,
        {"minutes": N, "seconds": N, "label": S},
        verb="add time to a timer",
        cue=TIMER_CUE,
        topic=TIMERS,
        verbs=r"\b(add|extend|give)\b.*\b(minutes?|seconds?|hours?|more time)\b.*\btimers?\b"
        r"|\b(extend|lengthen)\b.*\btimers?\b",
        example=("add 5 minutes to the timer", {"minutes": 5}),
        plain=plain_more_time,
    )
    def add_time_to_timer(self, a: dict[str, Any]) -> ToolResult:
        extra = float(a.get("minutes", 0) or 0) * 60 + float(a.get("seconds", 0) or 0)
        if not 0 < extra <= 24 * 3600:
            raise ToolArgumentError("add between 1 second and 24 hours to a timer", "e.g. minutes=5")
        now = self.ctx.now()
        label = _which(a.get("label", ""))
        if not label and len([t for t in self.timers_set() if t.get("kind", "timer") == "timer"]) > 1:
            raise ToolArgumentError("more than one timer is set", "say which one: its label, e.g. pasta")

        def extend(t: dict[str, Any]) -> bool:
            if t.get("kind", "timer") != "timer":
                return False
            if t.get("paused"):
                t["left"] = float(t.get("left", 0)) + extra
            else:
                t["due"] = (datetime.fromisoformat(t["due"]) + timedelta(seconds=extra)).isoformat()
            t["seconds"] = float(t.get("seconds") or 0) + extra
            return True

        before: list[dict[str, Any]] = []
        changed = self._change_timers(label, extend, before)
        if not changed:
            return ToolResult(False, f"no timer named '{label}' is set" if label else "no timer is set")
        said = f"added {_duration(extra)}: " + _left(changed[0], now)
        return ToolResult(True, said, changed, undo=self._timers_back(before, changed))

    def _change_timers(
        self, label: str, change: Any, before: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """Apply `change` to each timer `label` names ("", "all": every one); the ones it changed,
        as they are now (and into `before`, as they were)."""
        label = _which(label)

        def apply(s: dict[str, Any]) -> list[dict[str, Any]]:
            named = [t for t in s["timers"] if not label or label in (t["label"], t["id"])]
            out = []
            for t in named:
                was = dict(t)
                if change(t):
                    out.append(dict(t))
                    if before is not None:
                        before.append(was)
            return out

        return list(self.timers.update(apply))

    def _timers_back(
        self, before: list[dict[str, Any]], after: list[dict[str, Any]]
    ) -> Callable[[], ToolResult]:
        """The undo of a pause, a resume or time added: each timer it changed as it was before,
        if it is still as the call left it (one paused, resumed or changed since stays)."""

        def undo() -> ToolResult:
            def back(s: dict[str, Any]) -> int:
                was = {t["id"]: t for t in before}
                now = {t["id"]: t for t in after}
                n = 0
                for i, t in enumerate(s["timers"]):
                    if t.get("id") in now and t == now[t["id"]]:
                        s["timers"][i] = dict(was[t["id"]])
                        n += 1
                return n

            n = self.timers.update(back)
            if not n:
                return ToolResult(False, "the timers were changed again since, so I left them")
            return ToolResult(
                True, "put the timer back as it was" if n == 1 else f"put {n} timers back as they were"
            )

        return undo

    @tool(
        "list_timers",
        "the timers and alarms that are set",
        Tier.READ,
        answers=True,
        cue=TIMER_CUE,
        topic=TIMERS,
        verbs=r"\b(which|what|list|any)\b.*\b(timers?|alarms?)\b|\b(timers?|alarms?) (are )?(set|running)\b"
        r"|\bhow long (?:until|till|is left|left)\b|\btime left\b|\btimers?\W+status\b"
        r"|\bstatus of\b.*\btimers?\b",
    )
    def list_timers(self, a: dict[str, Any]) -> ToolResult:
        items = self.timers.read()["timers"]
        if not items:
            return ToolResult(True, "no timers or alarms are set", [])
        now = self.ctx.now()
        return ToolResult(True, "; ".join(_as_said(t, now) for t in items), items)

    @tool(
        "set_alarm",
        "set an alarm at a time of day (HH:MM)",
        Tier.ACT,
        {"time": S, "label": S},
        ("time",),
        verb="set an alarm",
        cue=TIMER_CUE,
        topic=TIMERS,
        verbs=r"\balarm\b|\bwake me\b",
        example=("set an alarm for 6:45", {"time": "6:45"}),
        needs_speaker=True,
        plain=plain_alarm,
    )
    def set_alarm(self, a: dict[str, Any], speaker: str = "") -> ToolResult:
        h, m = _hhmm(a["time"])
        now = self.ctx.now()
        due = now.replace(hour=h, minute=m, second=0, microsecond=0)
        if due <= now:
            due += timedelta(days=1)
        item = {
            "id": uuid.uuid4().hex[:8],
            "kind": "alarm",
            "label": _own_label(a.get("label", ""), "alarm"),
            "due": due.isoformat(),
            **self._origin(speaker),
        }
        self.timers.update(lambda s: s["timers"].append(item))
        return ToolResult(True, f"alarm set for {due:%A %H:%M}", item, undo=self._unset(item))

    @tool(
        "set_timer",
        "start a countdown timer",
        Tier.ACT,
        {"hours": N, "minutes": N, "seconds": N, "label": S},
        verb="set a timer",
        cue=TIMER_CUE,
        topic=TIMERS,
        verbs=r"\btimer\b",
        example=("set a timer for 10 minutes", {"minutes": 10}),
        needs_speaker=True,
        plain=plain_duration,
        objects="timer countdown time clock",
    )
    def set_timer(self, a: dict[str, Any], speaker: str = "") -> ToolResult:
        hours, minutes, secs = (float(a.get(k, 0) or 0) for k in ("hours", "minutes", "seconds"))
        seconds = hours * 3600 + minutes * 60 + secs
        if not seconds:
            raise ToolArgumentError("it needs a length, such as 5 minutes", "e.g. minutes=5")
        if not 0 < seconds <= 24 * 3600:
            raise ToolArgumentError("a timer runs between 1 second and 24 hours", "e.g. minutes=5")
        label = _own_label(a.get("label", ""), "timer")
        due = self.ctx.now() + timedelta(seconds=seconds)
        item = {
            "id": uuid.uuid4().hex[:8],
            "kind": "timer",
            "label": label,
            "due": due.isoformat(),
            "seconds": seconds,
            **self._origin(speaker),
        }
        self.timers.update(lambda s: s["timers"].append(item))
        said = f"{label} set for {_duration(seconds)} (rings at {due:%H:%M:%S})"
        return ToolResult(True, said, item, undo=self._unset(item))

    # -- reminders ---------------------------------------------------------------------------------
    @tool(
        "list_reminders",
        "the reminders that are set",
        Tier.READ,
        answers=True,
        cue=REMINDER_CUE,
        topic=REMINDERS,
        verbs=r"\b(which|what|list|read|any)\b.*\breminders\b",
    )
    def list_reminders(self, a: dict[str, Any]) -> ToolResult:
        items = self.reminders.read()["reminders"]
        if not items:
            return ToolResult(True, "no reminders are set", [])
        text = "; ".join(f"{r['text']} at {r['time']}{_every(r.get('repeat', 'none'))}" for r in items)
        count = "one reminder" if len(items) == 1 else f"{len(items)} reminders"
        return ToolResult(True, f"you have {count}", items, untrusted_text=text)

    @tool(
        "add_reminder",
        "remind the user of something at a time (HH:MM)",
        Tier.ACT,
        {"text": S, "time": S, "repeat": REPEAT},
        ("text", "time"),
        verb="add a reminder",
        cue=REMINDER_CUE,
        topic=REMINDERS,
        verbs=r"\bremind me\b",
        example=("remind me to water the plants at 18:00", {"text": "water the plants", "time": "18:00"}),
        needs_speaker=True,
        plain=plain_reminder,
    )
    def add_reminder(self, a: dict[str, Any], speaker: str = "") -> ToolResult:
        h, m = _reminder_time(a["time"], self.ctx.now())
        repeat = a.get("repeat", "none")
        item = {
            "id": uuid.uuid4().hex[:8],
            "text": a["text"],
            "time": f"{h:02d}:{m:02d}",
            "repeat": repeat,
            "created": self.ctx.now().isoformat(),
            **self._origin(speaker),
        }
        self.reminders.update(lambda s: s["reminders"].append(item))
        said = f"I'll remind you at {h:02d}:{m:02d}{_every(repeat)}: {a['text']}"
        return ToolResult(True, said, item, undo=self._unset(item, "reminders"))

    def _unset(self, item: dict[str, Any], kind: str = "timers") -> Callable[[], ToolResult]:
        """The undo of a timer, alarm or reminder just set: that one taken away again, if it is
        still there (a timer that has rung is gone already)."""
        store = self.timers if kind == "timers" else self.reminders

        def undo() -> ToolResult:
            what = "the reminder" if kind == "reminders" else f"the {item.get('kind', 'timer')}"
            if not store.remove(kind, item["id"]):
                return ToolResult(False, f"{what} is not set any more")
            return ToolResult(True, f"took {what} away again")

        return undo

    def _origin(self, speaker: str) -> dict[str, str]:
        return {"device": self.origin_device, "speaker": speaker}

    # -- ringing -----------------------------------------------------------------------------------
    def timers_set(self) -> list[dict[str, Any]]:
        """The timers and alarms that are set (the hub tells each device about its own)."""
        return list(self.timers.read()["timers"])

    def due(self) -> list[dict[str, Any]]:
        """What has come due, without changing anything: the hub rings each item on a device and
        only then calls `rang`, so an item whose device goes away mid-ring stays due (at least once,
        never lost). Reminders come as `kind` "reminder" with their text as `label`."""
        now = self.ctx.now()
        timers = [t for t in self.timers.read()["timers"] if _timer_due(t, now)]
        reminders = [r for r in self.reminders.read()["reminders"] if _reminder_due(r, now)]
        return timers + [r | {"kind": "reminder", "label": r["text"]} for r in reminders]

    def rang(self, item: dict[str, Any]) -> bool:
        """`item` (from `due`) has rung: a timer or one-off reminder is removed, a recurring reminder
        moves to its next time. False when it is no longer there (cancelled meanwhile)."""
        now = self.ctx.now()
        if item.get("kind") != "reminder":
            return self.timers.remove("timers", item["id"])

        def ring(s: dict[str, Any]) -> bool:
            found = [r for r in s["reminders"] if r["id"] == item["id"]]
            for r in found:
                r["last"] = now.isoformat()
            s["reminders"] = [r for r in s["reminders"] if not (r in found and r["repeat"] == "none")]
            return bool(found)

        return bool(self.reminders.update(ring))

    def fire_due(self) -> list[dict[str, Any]]:
        """Timers, alarms and reminders whose time has come, to ring. Timers and one-off reminders
        are removed; a recurring reminder moves to its next time. Called by the live loop's clock
        every second; after a restart, anything that came due meanwhile rings once. Nothing is
        written when nothing is due."""
        now = self.ctx.now()
        timers = [t for t in self.timers.read()["timers"] if _timer_due(t, now)]
        reminders = [r for r in self.reminders.read()["reminders"] if _reminder_due(r, now)]
        fired: list[dict[str, Any]] = []
        if timers:

            def pop(s: dict[str, Any]) -> list[dict[str, Any]]:
                due = [t for t in s["timers"] if _timer_due(t, now)]
                s["timers"] = [t for t in s["timers"] if t not in due]
                return due

            fired += self.timers.update(pop)
        if reminders:

            def ring(s: dict[str, Any]) -> list[dict[str, Any]]:
                due = [r for r in s["reminders"] if _reminder_due(r, now)]
                for r in due:
                    r["last"] = now.isoformat()
                s["reminders"] = [r for r in s["reminders"] if not (r in due and r["repeat"] == "none")]
                return [r | {"kind": "reminder", "label": r["text"]} for r in due]

            fired += self.reminders.update(ring)
        return fired
