"""Announcements: a message said aloud on the household's other devices (the intercom), from any
device or from `twin announce`.

An announcement is stored, one item per target device, in DATA_DIR/tools/announcements.json before
anything is said (so a hub killed meanwhile says it after its restart), and the hub's one clock
(pipeline/serve/ringing.py) says each item on its device once that device is connected and idle,
then drops it. A device named that is not connected keeps its item until it connects, for at most
`KEEP_FOR` — "dinner is ready" an hour later is wrong, so an item older than that is dropped unsaid
and the hub's log says so. The family is offered only to a hub device's session (where the other
devices exist); `twin announce` uses the same state.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from pipeline.tools.base import Tier, ToolResult
from pipeline.tools.errors import ToolArgumentError
from pipeline.tools.family import Context, Family, S, tool
from pipeline.tools.store import JsonState

KEEP_FOR = timedelta(minutes=10)
MAX_CHARS = 300  # an announcement is a sentence or two, said on every target device
EVERYONE = frozenset({"", "all", "everyone", "everybody", "every room", "all rooms", "the house", "house"})
ANNOUNCE = r"\b(announce|announcement|intercom|broadcast)\b|\bin every room\b|\bover the speakers\b"


class AnnouncementError(ToolArgumentError):
    code = "announcement_bad"


def device_names(ctx: Context) -> list[str]:
    """The household's devices, as the hub's registry (DATA_DIR/devices.json) lists them. Read here
    as plain JSON: the tools layer does not import the hub."""
    path = ctx.data_dir / "devices.json"
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return sorted(str(d.get("name")) for d in state.get("devices", []) if d.get("name"))


def _target_key(text: str) -> str:
    t = re.sub(r"^(?:the|in the|to the|on the)\s+", "", text.strip().lower())
    return t.strip(" .!?")


class Intercom(Family):
    origin_device = ""  # the hub's device whose session this is (set by the ToolDesk); "" elsewhere

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.announcements = JsonState(ctx.state_dir / "announcements.json", {"announcements": []})

    @property
    def offered(self) -> bool:
        return bool(self.origin_device)  # only a hub device has other devices to speak on

    @tool(
        "announce",
        "say a message aloud on the household's other devices (an announcement over the intercom, "
        "to one room's device or to every room)",
        Tier.ACT,
        {"message": S, "to": S},
        ("message",),
        verb="make an announcement",
        cue=ANNOUNCE,
        topic=ANNOUNCE,
        verbs=ANNOUNCE,
        example=("announce that dinner is ready", {"message": "dinner is ready", "to": "everyone"}),
        needs_speaker=True,
    )
    def announce(self, a: dict[str, Any], speaker: str = "") -> ToolResult:
        items = self.queue(str(a.get("message", "")), str(a.get("to", "")), speaker)
        where = ", ".join(i["device"] for i in items)
        return ToolResult(True, f"announcing '{items[0]['label']}' on {where}", items)

    def queue(self, message: str, to: str, speaker: str = "") -> list[dict[str, Any]]:
        """Store the announcement for each target device and return the items. A message that is
        empty or too long, or a target that is no device of the household, is a typed error that
        says which devices there are."""
        message = " ".join(message.split()).strip(" \"'")
        if not message:
            raise AnnouncementError("an announcement needs the words to say", "e.g. announce dinner is ready")
        if len(message) > MAX_CHARS:
            raise AnnouncementError(
                f"an announcement is at most {MAX_CHARS} characters ({len(message)} given)",
                "say it in a sentence or two",
            )
        names = device_names(self.ctx)
        others = [n for n in names if n != self.origin_device]
        if not others:
            raise AnnouncementError(
                "there is no other device to announce on",
                "add one with `twin devices add NAME tcp://HOST:10700` or pair a phone "
                "(`twin devices pair NAME`)",
            )
        key = _target_key(to)
        if key in EVERYONE:
            targets = others
        else:
            targets = [n for n in names if n.lower() == key or n.lower() in key.split()]
            if not targets:
                raise AnnouncementError(
                    f"no device is called '{to}'", f"the devices are: {', '.join(names)}; or say everyone"
                )
        now = self.ctx.now()
        group = uuid.uuid4().hex[:8]
        items = [
            {
                "id": f"{group}-{n}",
                "kind": "announcement",
                "label": message,
                "device": n,
                "from": self.origin_device,
                "speaker": speaker,
                "created": now.isoformat(),
            }
            for n in targets
        ]
        self.announcements.update(lambda s: s["announcements"].extend(items))
        return items

    # -- said by the hub's clock -------------------------------------------------------------------
    def pending(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(items to say, items expired unsaid), without changing anything."""
        now = self.ctx.now()
        items = self.announcements.read()["announcements"]
        fresh = [i for i in items if now - datetime.fromisoformat(i["created"]) <= KEEP_FOR]
        return fresh, [i for i in items if i not in fresh]

    def done(self, item: dict[str, Any]) -> bool:
        """`item` was said (or expired): it is removed. False when it was no longer there."""
        return self.announcements.remove("announcements", item["id"])


def announcement_text(item: dict[str, Any]) -> str:
    """What a device says: who it is from when another device sent it, then the words."""
    message = str(item.get("label", "")).strip()
    if not message.endswith((".", "!", "?")):
        message += "."
    source = str(item.get("from") or "")
    return f"An announcement from {source}: {message}" if source else f"An announcement: {message}"
