"""The speaker: volume, mute, stop, and what state it is in."""

from __future__ import annotations

import re
from typing import Any

from pipeline.tools.base import Tier, ToolResult, unchanged
from pipeline.tools.errors import ToolArgumentError
from pipeline.tools.family import Context, Family, tool
from pipeline.tools.store import JsonState

# What people say when they want it louder, quieter or silent without naming the volume: the
# sound's direction ("turn it up", "bring the music down"), how it is ("too loud", "I can't hear
# it"), or a one-word order ("hush", "silence"). A comparison is no order ("louder than words").
_IT = r"(?:it|this|that|the\s+(?:sound|music|radio|speaker|song|volume|telly|tv))"
LOUDER = (
    rf"\b(?:louder(?!\s+than)|turn\s+{_IT}\s+up|turn\s+up\s+{_IT}|bring\s+{_IT}\s+up|pump\s+{_IT}\s+up|"
    r"can'?t\s+hear|cannot\s+hear|too\s+(?:quiet|soft|low))\b"
)
QUIETER = (
    rf"\b(?:(?:quieter|softer)(?!\s+than)|turn\s+{_IT}\s+down|turn\s+down\s+{_IT}|bring\s+{_IT}\s+down|"
    r"keep\s+it\s+down|too\s+loud|so\s+loud|(?:hurting|hurts)\s+my\s+ears)\b"
)
SILENCE = (
    r"^(?:please\s+)?(?:silence|hush|shush)\b|^(?:please\s+)?quiet(?:\s+(?:down|now|please))?\W*$|\b(?:silence|quiet)\s+please\b|\bbe\s+quiet\b|"
    r"\bturn\s+(?:the\s+sound|the\s+speaker|the\s+volume)\s+off\b"
)
DEVICE = (
    r"\b(volume|(?:louder|quieter)(?!\s+than)|mute|muted|unmute|stop|pause|music|playing)\b"
    rf"|{LOUDER}|{QUIETER}|{SILENCE}"
)
DEVICE_CUE = (
    r"\b(?:volume|(?:louder|quieter)(?!\s+than)|mute|muted|unmute)\b|^(?:please\s+)?(?:stop|pause)\b"
    r"|^(?:is|are)\b.*\b(?:playing|muted)\b"
    rf"|{LOUDER}|{QUIETER}|{SILENCE}"
)
_STEP, _BIG = 10, 25
# What the speaker tools act on, in the words people use (pipeline/acting/reach.py): Twin's own sound,
# never a light, a lock or a TV it is not connected to.
_SOUND = "speaker volume sound music radio song loudness"


def plain_volume(text: str) -> dict[str, Any] | None:
    """The volume as the words state it: a level ("volume to 40", "turn it up to 70") or a change
    ("turn it up a bit": +10, "much louder": +25, "down by 20": -20)."""
    level = re.search(r"\b(?:to|at)\s+(\d{1,3})(?:\s*(?:percent|%))?\b", text, re.I)
    if level and re.search(rf"\bvolume\b|{LOUDER}|{QUIETER}", text, re.I):
        return {"level": int(level.group(1))}
    down = re.search(QUIETER, text, re.I) or re.search(
        r"\bvolume\s+down\b|\blower\b|\bdecrease\b", text, re.I
    )
    up = re.search(LOUDER, text, re.I) or re.search(r"\bvolume\s+up\b|\braise\b|\bincrease\b", text, re.I)
    if bool(up) == bool(down):
        return None
    by = re.search(r"\bby\s+(\d{1,3})\b", text, re.I)
    size = int(by.group(1)) if by else _BIG if re.search(r"\b(?:a lot|much|way)\b", text, re.I) else _STEP
    return {"change": size if up else -size}


def plain_mute(text: str) -> dict[str, Any] | None:
    """Mute or unmute as the words state it ("unmute", "mute the speaker", "hush", "silence please")."""
    if re.search(r"\bunmute\b", text, re.I):
        return {"muted": False}
    if re.search(rf"\bmute\b|{SILENCE}", text, re.I):
        return {"muted": True}
    return None


def plain_stop(text: str) -> dict[str, Any] | None:
    """A bare "stop" or "pause" ("pause the music", "stop playing please"): it takes no arguments."""
    said = re.fullmatch(
        r"(?:please\s+)?(?:stop|pause)(?:\s+(?:it|that|the\s+music|the\s+song|playing|playback))?"
        r"(?:\s+please)?\W*",
        text.strip(),
        re.IGNORECASE,
    )
    return {} if said else None


class Device(Family):
    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.device = JsonState(
            ctx.state_dir / "device.json", {"volume": 50, "muted": False, "playing": False}
        )

    @tool(
        "device_state",
        "current volume and mute state",
        Tier.READ,
        answers=True,
        cue=DEVICE_CUE,
        topic=DEVICE,
        verbs=r"^(is|are|what)\b.*\b(volume|muted|playing)\b|^(?:is|are)\b.*\btoo\s+(?:loud|quiet)\b",
        objects=_SOUND,
    )
    def device_state(self, a: dict[str, Any]) -> ToolResult:
        s = self.device.read()
        return ToolResult(True, f"volume {s['volume']}, {'muted' if s['muted'] else 'not muted'}", s)

    @tool(
        "mute",
        "mute or unmute the speaker: silence it, make it quiet",
        Tier.ACT,
        {"muted": {"type": "boolean"}},
        verb="mute",
        cue=DEVICE_CUE,
        topic=DEVICE,
        verbs=rf"\b(un)?mute\b|{SILENCE}",
        example=("unmute", {"muted": False}),
        plain=plain_mute,
        objects=_SOUND,
    )
    def mute(self, a: dict[str, Any]) -> ToolResult:
        muted = bool(a.get("muted", True))

        def set_muted(s: dict[str, Any]) -> bool:
            was = bool(s["muted"])
            s["muted"] = muted
            return was

        before = self.device.update(set_muted)
        if before == muted:
            return ToolResult(True, "muted" if muted else "unmuted", undo=unchanged)
        return ToolResult(True, "muted" if muted else "unmuted", undo=lambda: self._put_back(muted, before))

    def _put_back(self, muted: bool, before: bool) -> ToolResult:
        def back(s: dict[str, Any]) -> bool:
            if bool(s["muted"]) != muted:
                return False  # changed since: left as it is
            s["muted"] = before
            return True

        if not self.device.update(back):
            return ToolResult(False, f"the speaker is {'muted' if not muted else 'not muted'} already")
        return ToolResult(True, "muted again" if before else "unmuted again")

    @tool(
        "set_volume",
        "set the speaker volume 0-100, or turn it up or down by a step: louder, quieter, too loud",
        Tier.ACT,
        {"level": {"type": "integer"}, "change": {"type": "integer"}},
        verb="change the volume",
        cue=DEVICE_CUE,
        topic=DEVICE,
        verbs=rf"\b(volume|louder|quieter)\b|{LOUDER}|{QUIETER}",
        example=("turn it up to 70", {"level": 70}),
        plain=plain_volume,
        objects=_SOUND,
    )
    def set_volume(self, a: dict[str, Any]) -> ToolResult:
        if "level" not in a and "change" not in a:
            raise ToolArgumentError(
                "say a volume level or how much to change it", "e.g. level=40 or change=-10"
            )
        if "level" in a:
            level = int(a["level"])
        else:
            level = max(0, min(100, int(self.device.read()["volume"]) + int(a["change"])))
        if not 0 <= level <= 100:
            raise ToolArgumentError("volume is 0 to 100", "e.g. level=40")

        def set_level(s: dict[str, Any]) -> tuple[int, bool]:
            was = (int(s["volume"]), bool(s["muted"]))
            s.update(volume=level, muted=False)
            return was

        before = self.device.update(set_level)
        summary = f"volume set to {level}"
        if before == (level, False):
            return ToolResult(True, summary, undo=unchanged)
        return ToolResult(True, summary, undo=lambda: self._volume_back(level, *before))

    def _volume_back(self, level: int, volume: int, muted: bool) -> ToolResult:
        def back(s: dict[str, Any]) -> bool:
            if (int(s["volume"]), bool(s["muted"])) != (level, False):
                return False  # someone changed it since: theirs stands
            s.update(volume=volume, muted=muted)
            return True

        if not self.device.update(back):
            return ToolResult(False, "the volume was changed again since, so I left it")
        return ToolResult(True, f"set the volume back to {volume}" + (", muted" if muted else ""))

    @tool(
        "stop",
        "stop what is playing",
        Tier.ACT,
        verb="stop playback",
        cue=DEVICE_CUE,
        topic=DEVICE,
        verbs=r"\b(stop|pause)\b",
        objects=_SOUND,
        plain=plain_stop,
    )
    def stop(self, a: dict[str, Any]) -> ToolResult:
        def halt(s: dict[str, Any]) -> bool:
            was = bool(s.get("playing"))
            s["playing"] = False
            return was

        # what was playing cannot be started again (no tool plays): no undo, unless nothing was
        return ToolResult(True, "stopped", undo=None if self.device.update(halt) else unchanged)
