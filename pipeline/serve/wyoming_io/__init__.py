"""The Wyoming adapter: the only package that imports `wyoming` (the protocol is the package's; no
event is written by hand here).

Two sides, a module each, over `wire.py` (reading events with limits, typed errors):

- **Satellites** (`satellites.py`, `run_satellite_link`): the hub drives an unmodified
  `wyoming-satellite` the way Home Assistant does: connect to it, `describe` -> `info` (it must say
  it is a satellite), `run-satellite`, then take its `run-pipeline` and microphone `audio-chunk`s
  into the device's session, and send back `transcript`, `synthesize` (the reply's text) and the
  reply as `audio-start` / `audio-chunk` / `audio-stop`, and its timers' `timer-started` /
  `timer-cancelled` / `timer-finished`. `ping` is answered with `pong`.
- **Services** (`services.py`, `serve_services`): Twin's ASR (`transcribe` + audio -> `transcript`),
  TTS (`synthesize` -> audio) and conversation (`transcript` -> `handled`, the handle service), with
  a `describe` -> `info` that names the real models, for a Home Assistant installation to add.

A device that sends an event that does not parse, an oversized one, or audio in another format gets
a typed error in the log and its session closed; the other devices are not touched.
"""

from .satellites import SatelliteConnection, outgoing_event, run_satellite_link
from .services import TwinServiceHandler, describe_twin, serve_services
from .wire import MAX_BODY, MAX_LINE, GuardedReader, read_event

__all__ = [
    "MAX_BODY",
    "MAX_LINE",
    "GuardedReader",
    "SatelliteConnection",
    "TwinServiceHandler",
    "describe_twin",
    "outgoing_event",
    "read_event",
    "run_satellite_link",
    "serve_services",
]
