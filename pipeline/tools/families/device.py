"""The speaker: volume, mute, stop, and what state it is in."""

from __future__ import annotations

from typing import Any

from pipeline.tools.base import Tier, ToolResult
from pipeline.tools.errors import ToolArgumentError
from pipeline.tools.family import Context, Family, tool
from pipeline.tools.store import JsonState

DEVICE = r"\b(volume|louder|quieter|mute|muted|unmute|stop|pause|resume|music|playing)\b"
DEVICE_CUE = r"\b(?:volume|louder|quieter|mute|muted|unmute)\b|^(?:please\s+)?(?:stop|pause|resume)\b"


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
        cue=DEVICE_CUE,
        topic=DEVICE,
        verbs=r"^(is|are|what)\b.*\b(volume|muted|playing)\b",
    )
    def device_state(self, a: dict[str, Any]) -> ToolResult:
        s = self.device.read()
        return ToolResult(True, f"volume {s['volume']}, {'muted' if s['muted'] else 'not muted'}", s)

    @tool(
        "mute",
        "mute or unmute the speaker",
        Tier.ACT,
        {"muted": {"type": "boolean"}},
        verb="mute",
        cue=DEVICE_CUE,
        topic=DEVICE,
        verbs=r"\b(un)?mute\b",
        example=("unmute", {"muted": False}),
    )
    def mute(self, a: dict[str, Any]) -> ToolResult:
        muted = bool(a.get("muted", True))
        self.device.update(lambda s: s.update(muted=muted))
        return ToolResult(True, "muted" if muted else "unmuted")

    @tool(
        "set_volume",
        "set the speaker volume 0-100",
        Tier.ACT,
        {"level": {"type": "integer"}},
        ("level",),
        verb="change the volume",
        cue=DEVICE_CUE,
        topic=DEVICE,
        verbs=r"\b(volume|louder|quieter)\b",
        example=("turn it up to 70", {"level": 70}),
    )
    def set_volume(self, a: dict[str, Any]) -> ToolResult:
        level = int(a["level"])
        if not 0 <= level <= 100:
            raise ToolArgumentError("volume is 0 to 100", "e.g. level=40")
        self.device.update(lambda s: s.update(volume=level, muted=False))
        return ToolResult(True, f"volume set to {level}")

    @tool(
        "stop",
        "stop what is playing",
        Tier.ACT,
        verb="stop playback",
        cue=DEVICE_CUE,
        topic=DEVICE,
        verbs=r"\b(stop|pause)\b",
    )
    def stop(self, a: dict[str, Any]) -> ToolResult:
        self.device.update(lambda s: s.update(playing=False))
        return ToolResult(True, "stopped")
