"""Twin's own tools, with their state in DATA_DIR/tools (atomic JSON writes, so it survives a
restart or a crash). Messages and orders go to local spools the user's outbox drains."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .base import Tier, Tool, ToolRegistry, ToolResult
from .calc import calculate, convert
from .errors import ToolArgumentError
from .memory_tools import memory_tools
from .outbox import Outbox
from .store import JsonState, spool

S = {"type": "string"}
N = {"type": "number"}


def _fmt(x: float) -> str:
    return f"{x:.6g}" if isinstance(x, float) else str(x)


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


class LocalTools:
    """Builds the registry of local tools over one data directory. `now` is injectable for tests."""

    def __init__(
        self,
        data_dir: Path,
        now: Callable[[], datetime] | None = None,
        outbox: Any | None = None,
        memory: Any | None = None,
    ) -> None:
        """`outbox`: the [tools.outbox] config (None: the local spool); `memory`: a memory.Memory
        for the remember/recall/forget tools (None: those tools are not offered)."""
        self.dir = data_dir / "tools"
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.now = now or (lambda: datetime.now().astimezone())
        self.timers = JsonState(self.dir / "timers.json", {"timers": []})
        self.reminders = JsonState(self.dir / "reminders.json", {"reminders": []})
        self.notes = JsonState(self.dir / "notes.json", {"notes": []})
        self.lists = JsonState(self.dir / "lists.json", {"lists": {}})
        self.device = JsonState(self.dir / "device.json", {"volume": 50, "muted": False, "playing": False})
        self.outbox = Outbox(data_dir, outbox)
        self.memory = memory
        self.orders = data_dir / "orders"
        self.documents = data_dir / "documents"
        self.calendar = data_dir / "calendar.ics"

    # -- timers and alarms -------------------------------------------------------------------------
    def set_timer(self, a: dict[str, Any]) -> ToolResult:
        seconds = float(a.get("minutes", 0)) * 60 + float(a.get("seconds", 0))
        if not 0 < seconds <= 24 * 3600:
            raise ToolArgumentError("a timer runs between 1 second and 24 hours", "e.g. minutes=5")
        label = a.get("label", "") or "timer"
        due = self.now() + timedelta(seconds=seconds)
        item = {"id": uuid.uuid4().hex[:8], "kind": "timer", "label": label, "due": due.isoformat()}
        self.timers.update(lambda s: s["timers"].append(item))
        return ToolResult(
            True, f"{label} set for {_fmt(seconds / 60)} minutes (rings at {due:%H:%M:%S})", item
        )

    def set_alarm(self, a: dict[str, Any]) -> ToolResult:
        h, m = _hhmm(a["time"])
        now = self.now()
        due = now.replace(hour=h, minute=m, second=0, microsecond=0)
        if due <= now:
            due += timedelta(days=1)
        item = {
            "id": uuid.uuid4().hex[:8],
            "kind": "alarm",
            "label": a.get("label", "") or "alarm",
            "due": due.isoformat(),
        }
        self.timers.update(lambda s: s["timers"].append(item))
        return ToolResult(True, f"alarm set for {due:%A %H:%M}", item)

    def list_timers(self, a: dict[str, Any]) -> ToolResult:
        items = self.timers.read()["timers"]
        if not items:
            return ToolResult(True, "no timers or alarms are set", [])
        parts = [f"{t['label']} at {datetime.fromisoformat(t['due']):%H:%M:%S}" for t in items]
        return ToolResult(True, "set: " + "; ".join(parts), items)

    def cancel_timer(self, a: dict[str, Any]) -> ToolResult:
        label = a.get("label", "")
        label = "" if label.lower() in ("all", "every", "everything") else label

        def drop(s: dict[str, Any]) -> list[dict[str, Any]]:
            gone = [t for t in s["timers"] if not label or label in (t["label"], t["id"])]
            s["timers"] = [t for t in s["timers"] if t not in gone]
            return gone

        gone = self.timers.update(drop)
        if not gone:
            return ToolResult(False, f"no timer named '{label}' is set")
        return ToolResult(True, f"cancelled {len(gone)} timer(s)", gone)

    def fire_due(self) -> list[dict[str, Any]]:
        """Timers, alarms and reminders whose time has come, to ring. Timers and one-off reminders
        are removed; a recurring reminder moves to its next time. Called by the live loop's clock
        every second; after a restart, anything that came due meanwhile rings once. Nothing is
        written when nothing is due."""
        now = self.now()
        timers = [t for t in self.timers.read()["timers"] if datetime.fromisoformat(t["due"]) <= now]
        reminders = [r for r in self.reminders.read()["reminders"] if self._reminder_due(r, now)]
        fired: list[dict[str, Any]] = []
        if timers:

            def pop(s: dict[str, Any]) -> list[dict[str, Any]]:
                due = [t for t in s["timers"] if datetime.fromisoformat(t["due"]) <= now]
                s["timers"] = [t for t in s["timers"] if t not in due]
                return due

            fired += self.timers.update(pop)
        if reminders:

            def ring(s: dict[str, Any]) -> list[dict[str, Any]]:
                due = [r for r in s["reminders"] if self._reminder_due(r, now)]
                for r in due:
                    r["last"] = now.isoformat()
                s["reminders"] = [r for r in s["reminders"] if not (r in due and r["repeat"] == "none")]
                return [r | {"kind": "reminder", "label": r["text"]} for r in due]

            fired += self.reminders.update(ring)
        return fired

    @staticmethod
    def _reminder_due(r: dict[str, Any], now: datetime) -> bool:
        """Due when its time of day has passed since it was set (or last rang), on a day its
        repeat allows."""
        since = datetime.fromisoformat(r.get("last") or r.get("created") or now.isoformat())
        h, m = (int(x) for x in r["time"].split(":"))
        step = 7 if r.get("repeat") == "weekly" and r.get("last") else 1  # a week after it last rang
        at = since.replace(hour=h, minute=m, second=0, microsecond=0)
        if at <= since:
            at += timedelta(days=step)
        return at <= now

    # -- reminders ---------------------------------------------------------------------------------
    def add_reminder(self, a: dict[str, Any]) -> ToolResult:
        h, m = _hhmm(a["time"])
        repeat = a.get("repeat", "none")
        item = {
            "id": uuid.uuid4().hex[:8],
            "text": a["text"],
            "time": f"{h:02d}:{m:02d}",
            "repeat": repeat,
            "created": self.now().isoformat(),
        }
        self.reminders.update(lambda s: s["reminders"].append(item))
        every = "" if repeat == "none" else f" ({repeat})"
        return ToolResult(True, f"reminder '{a['text']}' at {h:02d}:{m:02d}{every}", item)

    def list_reminders(self, a: dict[str, Any]) -> ToolResult:
        items = self.reminders.read()["reminders"]
        text = "; ".join(f"{r['time']} {r['text']}" for r in items)
        return ToolResult(True, f"{len(items)} reminder(s)", items, untrusted_text=text)

    # -- notes and lists ---------------------------------------------------------------------------
    def add_note(self, a: dict[str, Any]) -> ToolResult:
        item = {"id": uuid.uuid4().hex[:8], "text": a["text"], "at": self.now().isoformat(timespec="seconds")}
        self.notes.update(lambda s: s["notes"].append(item))
        return ToolResult(True, "note saved", item)

    def list_notes(self, a: dict[str, Any]) -> ToolResult:
        items = self.notes.read()["notes"]
        text = "\n".join(n["text"] for n in items)
        return ToolResult(True, f"{len(items)} note(s)", items, untrusted_text=text)

    def delete_notes(self, a: dict[str, Any]) -> ToolResult:
        target = a.get("id", "all")
        target = "all" if target.lower().startswith("all") else target

        def drop(s: dict[str, Any]) -> int:
            before = len(s["notes"])
            s["notes"] = [] if target == "all" else [n for n in s["notes"] if n["id"] != target]
            return before - len(s["notes"])

        n = self.notes.update(drop)
        return ToolResult(n > 0, f"deleted {n} note(s)")

    def add_to_list(self, a: dict[str, Any]) -> ToolResult:
        name, item = a["list"].lower().strip(), a["item"].strip()
        self.lists.update(lambda s: s["lists"].setdefault(name, []).append(item))
        return ToolResult(True, f"added {item} to the {name} list")

    def get_list(self, a: dict[str, Any]) -> ToolResult:
        name = a["list"].lower().strip()
        items = self.lists.read()["lists"].get(name, [])
        if not items:
            return ToolResult(True, f"the {name} list is empty", [])
        return ToolResult(True, f"the {name} list has {len(items)} item(s)", items, ", ".join(items))

    def remove_from_list(self, a: dict[str, Any]) -> ToolResult:
        name, item = a["list"].lower().strip(), a["item"].strip()

        def drop(s: dict[str, Any]) -> bool:
            items = s["lists"].get(name, [])
            if item in items:
                items.remove(item)
                return True
            return False

        ok = self.lists.update(drop)
        return ToolResult(ok, f"removed {item} from the {name} list" if ok else f"{item} is not on it")

    # -- documents and calendar: their text is data, never instructions ---------------------------
    def read_document(self, a: dict[str, Any]) -> ToolResult:
        name = Path(a["name"]).name  # no path escapes from the documents folder
        path = self.documents / name
        if not path.is_file():
            return ToolResult(False, f"no document named '{name}'")
        text = path.read_text(encoding="utf-8", errors="replace")[:4000]
        return ToolResult(True, f"read {name} ({len(text)} characters)", None, untrusted_text=text)

    def read_calendar(self, a: dict[str, Any]) -> ToolResult:
        if not self.calendar.exists():
            return ToolResult(True, "the calendar is empty", [])
        events, cur = [], {}
        for line in self.calendar.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("BEGIN:VEVENT"):
                cur = {}
            elif line.startswith("END:VEVENT"):
                events.append(cur)
            elif ":" in line:
                k, v = line.split(":", 1)
                cur[k.split(";")[0].lower()] = v
        text = "\n".join(
            f"{e.get('dtstart', '')} {e.get('summary', '')} {e.get('description', '')}" for e in events
        )
        return ToolResult(True, f"{len(events)} event(s)", events, untrusted_text=text)

    # -- date, time, arithmetic --------------------------------------------------------------------
    def get_time(self, a: dict[str, Any]) -> ToolResult:
        return ToolResult(True, f"it is {self.now():%A %d %B %Y, %H:%M}")

    def calculate(self, a: dict[str, Any]) -> ToolResult:
        v = calculate(a["expression"])
        return ToolResult(True, f"{a['expression']} = {_fmt(v)}", v)

    def convert_units(self, a: dict[str, Any]) -> ToolResult:
        v = convert(float(a["value"]), a["from_unit"], a["to_unit"])
        return ToolResult(
            True, f"{_fmt(a['value'])} {a['from_unit']} is {_fmt(round(v, 4))} {a['to_unit']}", v
        )

    # -- device controls ---------------------------------------------------------------------------
    def set_volume(self, a: dict[str, Any]) -> ToolResult:
        level = int(a["level"])
        if not 0 <= level <= 100:
            raise ToolArgumentError("volume is 0 to 100", "e.g. level=40")
        self.device.update(lambda s: s.update(volume=level, muted=False))
        return ToolResult(True, f"volume set to {level}")

    def mute(self, a: dict[str, Any]) -> ToolResult:
        muted = bool(a.get("muted", True))
        self.device.update(lambda s: s.update(muted=muted))
        return ToolResult(True, "muted" if muted else "unmuted")

    def stop(self, a: dict[str, Any]) -> ToolResult:
        self.device.update(lambda s: s.update(playing=False))
        return ToolResult(True, "stopped")

    def device_state(self, a: dict[str, Any]) -> ToolResult:
        s = self.device.read()
        return ToolResult(True, f"volume {s['volume']}, {'muted' if s['muted'] else 'not muted'}", s)

    # -- leaving the device: sensitive -------------------------------------------------------------
    def send_message(self, a: dict[str, Any]) -> ToolResult:
        to, text = a["to"].strip(), a["text"].strip()
        if not to or not text:
            raise ToolArgumentError(
                "a message needs a recipient and text", "e.g. to='Anna', text='running late'"
            )
        summary, data = self.outbox.send(to, text, self.now().isoformat())
        return ToolResult(True, summary, data)

    def place_order(self, a: dict[str, Any]) -> ToolResult:
        path = spool(self.orders, {"item": a["item"], "quantity": a.get("quantity", 1)})
        return ToolResult(True, f"ordered {a.get('quantity', 1)} x {a['item']}", {"file": path.name})

    def registry(self) -> ToolRegistry:
        R, A, X = Tier.READ, Tier.ACT, Tier.SENSITIVE
        rep = {"type": "string", "enum": ["none", "daily", "weekly"]}
        t = [
            Tool("get_time", "current date and time", R, {}, self.get_time),
            Tool(
                "calculate",
                "arithmetic on an expression",
                R,
                {"expression": S},
                self.calculate,
                ("expression",),
            ),
            Tool(
                "convert_units",
                "convert a value between units",
                R,
                {"value": N, "from_unit": S, "to_unit": S},
                self.convert_units,
                ("value", "from_unit", "to_unit"),
            ),
            Tool(
                "set_timer",
                "start a countdown timer",
                A,
                {"minutes": N, "seconds": N, "label": S},
                self.set_timer,
                verb="set a timer",
            ),
            Tool(
                "set_alarm",
                "set an alarm at a time of day (HH:MM)",
                A,
                {"time": S, "label": S},
                self.set_alarm,
                ("time",),
                verb="set an alarm",
            ),
            Tool("list_timers", "the timers and alarms that are set", R, {}, self.list_timers),
            Tool(
                "cancel_timer",
                "cancel a timer or alarm by label (empty: all)",
                A,
                {"label": S},
                self.cancel_timer,
                verb="cancel timers",
            ),
            Tool(
                "add_reminder",
                "remind the user of something at a time (HH:MM)",
                A,
                {"text": S, "time": S, "repeat": rep},
                self.add_reminder,
                ("text", "time"),
                verb="add a reminder",
            ),
            Tool("list_reminders", "the reminders that are set", R, {}, self.list_reminders),
            Tool("add_note", "save a note", A, {"text": S}, self.add_note, ("text",), verb="save a note"),
            Tool("list_notes", "read the saved notes", R, {}, self.list_notes),
            Tool(
                "delete_notes",
                "delete one note by id, or all",
                X,
                {"id": S},
                self.delete_notes,
                verb="delete notes",
                category="delete",
            ),
            Tool(
                "add_to_list",
                "add an item to a named list",
                A,
                {"list": S, "item": S},
                self.add_to_list,
                ("list", "item"),
                verb="add to a list",
            ),
            Tool("get_list", "the items on a named list", R, {"list": S}, self.get_list, ("list",)),
            Tool(
                "remove_from_list",
                "remove an item from a named list",
                A,
                {"list": S, "item": S},
                self.remove_from_list,
                ("list", "item"),
                verb="remove from a list",
            ),
            Tool(
                "read_document",
                "read a document from the documents folder",
                R,
                {"name": S},
                self.read_document,
                ("name",),
            ),
            Tool("read_calendar", "the events in the user's calendar", R, {}, self.read_calendar),
            Tool(
                "set_volume",
                "set the speaker volume 0-100",
                A,
                {"level": {"type": "integer"}},
                self.set_volume,
                ("level",),
                verb="change the volume",
            ),
            Tool(
                "mute",
                "mute or unmute the speaker",
                A,
                {"muted": {"type": "boolean"}},
                self.mute,
                verb="mute",
            ),
            Tool("stop", "stop what is playing", A, {}, self.stop, verb="stop playback"),
            Tool("device_state", "current volume and mute state", R, {}, self.device_state),
            Tool(
                "send_message",
                "send a text message to a contact",
                X,
                {"to": S, "text": S},
                self.send_message,
                ("to", "text"),
                verb="send a message",
                category="message",
                timeout_s=float(getattr(self.outbox.cfg, "timeout_s", 5.0)) + 5.0,
            ),
            Tool(
                "place_order",
                "buy an item",
                X,
                {"item": S, "quantity": {"type": "integer"}},
                self.place_order,
                ("item",),
                verb="buy",
                category="buy",
            ),
        ]
        if self.memory is not None:
            t += memory_tools(self.memory)
        return ToolRegistry(t)
