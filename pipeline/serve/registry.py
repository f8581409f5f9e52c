"""The household's devices: `DATA_DIR/devices.json`, written atomically under its lock.

Only devices listed here are served: the hub connects to each Wyoming satellite the user added
(`twin devices add kitchen tcp://192.168.1.20:10700 --profile speaker`) and to nothing else."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from devices.profiles import PROFILES
from models.durable import JsonState, locked

from .errors import DeviceRegistryError, UnknownDeviceError

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Device:
    name: str
    uri: str  # tcp://HOST:PORT of a Wyoming satellite
    profile: str
    kind: str = "wyoming-satellite"  # or "browser" (paired with a one-time code)
    added: str = ""
    token_sha256: str = ""  # a browser's token, stored hashed; never the token itself
    speaker: str = ""  # a browser's person (an enrolled voice's name), set at pairing; "": none said

    @property
    def host_port(self) -> tuple[str, int]:
        u = urlparse(self.uri)
        return u.hostname or "", u.port or 0


def check_uri(uri: str) -> str:
    u = urlparse(uri)
    try:
        port = u.port
    except ValueError:
        port = None
    if u.scheme != "tcp" or not u.hostname or not port:
        raise DeviceRegistryError(
            f"{uri!r} is not a satellite address",
            "give it as tcp://HOST:PORT, e.g. tcp://192.168.1.20:10700 (wyoming-satellite's --uri)",
        )
    return f"tcp://{u.hostname}:{port}"


PAIRING_TTL_S = 600
PAIRING_TRIES = 5


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class PairingError(DeviceRegistryError):
    code = "pairing_refused"


def _damaged(path: Path, why: str) -> Exception:
    return DeviceRegistryError(f"the device list {path} is damaged ({why})", "fix or move the file aside")


class DeviceRegistry:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "devices.json"
        self._state = JsonState(self.path, {"devices": [], "pairings": []}, _damaged)

    def list(self) -> list[Device]:
        out = []
        for row in self._state.read().get("devices", []):
            try:
                out.append(Device(**row))
            except TypeError:
                raise _damaged(self.path, f"an entry has unexpected fields: {row!r}") from None
        return out

    def get(self, name: str) -> Device:
        for d in self.list():
            if d.name == name:
                return d
        raise UnknownDeviceError(f"no device named {name!r}", "see `twin devices list`")

    def add(self, name: str, uri: str, profile: str) -> Device:
        if not NAME.match(name):
            raise DeviceRegistryError(
                f"{name!r} is not a device name", "use 1-32 lower-case letters, digits, - or _, e.g. kitchen"
            )
        if profile not in PROFILES:
            raise DeviceRegistryError(f"no profile {profile!r}", f"choose one of {', '.join(PROFILES)}")
        device = Device(name, check_uri(uri), profile, added=datetime.now(UTC).isoformat(timespec="seconds"))

        def change(state: dict[str, Any]) -> None:
            rows = state.setdefault("devices", [])
            if any(r.get("name") == name for r in rows):
                raise DeviceRegistryError(
                    f"a device named {name!r} is already added",
                    f"remove it first: twin devices remove {name}",
                )
            if any(r.get("uri") == device.uri for r in rows):
                raise DeviceRegistryError(f"{device.uri} is already added under another name", "")
            rows.append(asdict(device))

        with locked(self.path, "the device list"):
            self._state.update(change)
        return device

    def remove(self, name: str) -> Device:
        device = self.get(name)

        def change(state: dict[str, Any]) -> None:
            state["devices"] = [r for r in state.get("devices", []) if r.get("name") != name]

        with locked(self.path, "the device list"):
            self._state.update(change)
        return device

    # -- browsers: a one-time code, then a token stored hashed ---------------------------------------
    def start_pairing(self, name: str, profile: str, speaker: str = "") -> str:
        """A 6-digit one-time code for a browser to become device `name` (valid 10 minutes, 5 tries).
        `speaker`: whose device it is (an enrolled voice's name), for what its page may show."""
        self._check(name, profile)
        code = f"{secrets.randbelow(10**6):06d}"

        def change(state: dict[str, Any]) -> None:
            if any(r.get("name") == name for r in state.get("devices", [])):
                raise DeviceRegistryError(f"a device named {name!r} is already added", "remove it first")
            pairings = [p for p in state.get("pairings", []) if p.get("name") != name]
            pairings.append(
                {
                    "name": name,
                    "profile": profile,
                    "speaker": speaker.strip().lower(),
                    "code_sha256": _sha256(code),
                    "expires": time.time() + PAIRING_TTL_S,
                    "tries": 0,
                }
            )
            state["pairings"] = pairings

        with locked(self.path, "the device list"):
            self._state.update(change)
        return code

    def pair(self, name: str, code: str) -> tuple[Device, str]:
        """The browser's side: the code shown by `twin devices pair` -> the device and its token
        (returned once; only its hash is kept). A wrong code counts against the pairing's tries."""
        token = secrets.token_urlsafe(32)
        result: list[Device] = []

        def change(state: dict[str, Any]) -> None:
            now = time.time()
            pairings = [p for p in state.get("pairings", []) if p.get("expires", 0) > now]
            match = next((p for p in pairings if p.get("name") == name), None)
            if match is None:
                state["pairings"] = pairings
                raise PairingError(f"no pairing under way for {name!r}", f"run: twin devices pair {name}")
            if not hmac.compare_digest(match["code_sha256"], _sha256(code.strip())):
                match["tries"] = match.get("tries", 0) + 1
                state["pairings"] = [p for p in pairings if p.get("tries", 0) < PAIRING_TRIES]
                return  # written, then refused below
            state["pairings"] = [p for p in pairings if p is not match]
            device = Device(
                name,
                "browser",
                match["profile"],
                kind="browser",
                added=datetime.now(UTC).isoformat(timespec="seconds"),
                token_sha256=_sha256(token),
                speaker=str(match.get("speaker", "")),
            )
            state.setdefault("devices", []).append(asdict(device))
            result.append(device)

        with locked(self.path, "the device list"):
            self._state.update(change)
        if not result:
            raise PairingError(
                "that pairing code is wrong", "check the code; after 5 wrong tries start again"
            )
        return result[0], token

    def device_for_token(self, token: str) -> Device | None:
        digest = _sha256(token)
        for d in self.list():
            if d.kind == "browser" and d.token_sha256 and hmac.compare_digest(d.token_sha256, digest):
                return d
        return None

    def _check(self, name: str, profile: str) -> None:
        if not NAME.match(name):
            raise DeviceRegistryError(
                f"{name!r} is not a device name", "use 1-32 lower-case letters, digits, - or _, e.g. kitchen"
            )
        if profile not in PROFILES:
            raise DeviceRegistryError(f"no profile {profile!r}", f"choose one of {', '.join(PROFILES)}")

    def mtime(self) -> float:
        try:
            return self.path.stat().st_mtime
        except FileNotFoundError:
            return 0.0
