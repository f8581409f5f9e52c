"""What both sides of the Wyoming adapter read with: the package's `async_read_event` through a
stream with limits, and event parsing that turns a bad event into a typed error."""

from __future__ import annotations

import asyncio
from typing import Any

from wyoming.event import Event, async_read_event

from ..errors import DeviceDisconnectedError, MalformedEventError, OversizedEventError

MAX_LINE = 64 * 1024  # an event's JSON header line
MAX_BODY = 256 * 1024  # its data or payload (a microphone chunk is ~2 KiB; 256 KiB is 8 s of audio)


class GuardedReader:
    """The stream the package's `async_read_event` reads through, with limits: an over-long line or
    body is a typed error, not an unbounded read."""

    def __init__(self, reader: asyncio.StreamReader, device: str) -> None:
        self._r = reader
        self.device = device
        self.last_line = b""

    async def readline(self) -> bytes:
        try:
            self.last_line = await self._r.readline()
        except ValueError:  # asyncio's limit on a line
            raise OversizedEventError(
                f"device {self.device} sent an event header over {MAX_LINE} bytes",
                "check the device's software",
            ) from None
        return self.last_line

    async def readexactly(self, n: int) -> bytes:
        if n > MAX_BODY:
            raise OversizedEventError(
                f"device {self.device} announced an event body of {n} bytes (limit {MAX_BODY})",
                "check the device's software; microphone chunks are a few KiB",
            )
        return await self._r.readexactly(n)

    def at_eof(self) -> bool:
        return self._r.at_eof()


async def read_event(reader: GuardedReader) -> Event:
    """The next event, or a typed error: the device went away, or sent something unreadable."""
    try:
        event = await async_read_event(reader)  # type: ignore[arg-type]
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        raise DeviceDisconnectedError(
            f"device {reader.device} went away in the middle of an event ({exc})", ""
        ) from None
    except (KeyError, TypeError, AttributeError):
        raise MalformedEventError(
            f"device {reader.device} sent an event without a type: {reader.last_line[:120]!r}",
            "check the device's software (it must speak the Wyoming protocol)",
        ) from None
    if event is None:
        if reader.at_eof() and not reader.last_line.strip():
            raise DeviceDisconnectedError(f"device {reader.device} closed the connection", "")
        raise MalformedEventError(
            f"device {reader.device} sent an event that does not parse: {reader.last_line[:120]!r}",
            "check the device's software (it must speak the Wyoming protocol)",
        )
    if not isinstance(event.data, dict):
        raise MalformedEventError(
            f"device {reader.device} sent {event.type!r} with data that is not an object", ""
        )
    return event


def parse_event(device: str, event: Event, kind: Any) -> Any:
    try:
        return kind.from_event(event)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise MalformedEventError(
            f"device {device} sent a {event.type!r} event with missing or wrong fields: {event.data!r}"[:300],
            "check the device's software",
        ) from None
