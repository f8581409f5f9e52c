"""Contacts and the outbox: how a message leaves the device.

Contacts live in DATA_DIR/contacts.json (`twin contacts add NAME --email ADDR`). The outbox is
what the user configures under `[tools.outbox]`:

- `spool` (default): each message is written to DATA_DIR/outbox/ as JSON for the user's own
  tooling to deliver; nothing leaves the device.
- `smtp`: sent through the user's mail server (STARTTLS or SSL, password from an environment
  variable, never from the config file). A message that cannot be sent is kept in
  DATA_DIR/outbox/unsent/ with the reason, so nothing the user dictated is lost.

Sending is a sensitive action: the permission gate asks before any of this runs.
"""

from __future__ import annotations

import difflib
import os
import re
import smtplib
import ssl
import unicodedata
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from pipeline.tools.errors import ToolArgumentError, ToolFailedError
from pipeline.tools.store import JsonState, spool

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Characters that steer a terminal or reorder what it shows: C0/C1 controls (ESC starts escape
# sequences), DEL, and the bidi overrides and isolates (a name that displays as another).
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


# Whole escape sequences go, not just their ESC: "\x1b[31m" would otherwise leave "[31m" behind.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, clearing the screen
    r"|\x9b[0-?]*[ -/]*[@-~]"  # the same, as one C1 character
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, hyperlinks, clipboard
    r"|\x1b[@-Z\\-_]"  # the other two-character sequences
)


def printable(text: str) -> str:
    """`text` without terminal escape sequences or control characters: used on the way in and again
    on the way out, because contacts.json can be edited by hand or by anything that writes the data
    directory."""
    text = _ESCAPES.sub("", text)
    return "".join(c for c in text if unicodedata.category(c) != "Cc" and c not in _BIDI)


class Contacts:
    def __init__(self, data_dir: Path) -> None:
        self.state = JsonState(data_dir / "contacts.json", {"contacts": {}})

    def all(self) -> dict[str, dict[str, str]]:
        return dict(sorted(self.state.read()["contacts"].items(), key=lambda kv: kv[0].lower()))

    def add(self, name: str, email: str = "", phone: str = "") -> dict[str, str]:
        given = name
        name = " ".join(printable(name).split())
        if not name and given.strip():
            raise ToolArgumentError(
                "a contact's name cannot be made of control characters only",
                "give a name with letters, e.g. twin contacts add Anna --email anna@example.org",
            )
        if not name:
            raise ToolArgumentError(
                "a contact needs a name", "e.g. twin contacts add Anna --email anna@example.org"
            )
        if email and (printable(email) != email or not _EMAIL.match(email)):
            raise ToolArgumentError(
                f"{printable(email)!r} is not an email address", "use the form name@example.org"
            )
        phone = " ".join(printable(phone).split())
        if not (email or phone):
            raise ToolArgumentError(f"no address given for {name}", "give --email (or --phone)")
        entry = {k: v for k, v in (("email", email), ("phone", phone)) if v}

        def put(s: dict[str, Any]) -> None:
            for old in [k for k in s["contacts"] if k.lower() == name.lower()]:
                del s["contacts"][old]  # re-adding replaces, whatever the case it was saved in
            s["contacts"][name] = entry

        self.state.update(put)
        return entry

    def remove(self, name: str) -> bool:
        def drop(s: dict[str, Any]) -> bool:
            keys = [k for k in s["contacts"] if k.lower() == name.strip().lower()]
            for k in keys:
                del s["contacts"][k]
            return bool(keys)

        return self.state.update(drop)

    def find(self, name: str) -> tuple[str, dict[str, str]] | None:
        """The contact the user meant: exact name (any case), then first name, never a guess."""
        wanted = " ".join(name.lower().split())
        contacts = self.all()
        for key, entry in contacts.items():
            if key.lower() == wanted:
                return key, entry
        firsts = [(k, e) for k, e in contacts.items() if k.lower().split()[0] == wanted]
        return firsts[0] if len(firsts) == 1 else None

    def suggestion(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self.all()), n=1, cutoff=0.6)
        return f"did you mean {close[0]}?" if close else "add them with `twin contacts add NAME --email ADDR`"


class Outbox:
    def __init__(self, data_dir: Path, config: Any | None = None) -> None:
        self.dir = data_dir / "outbox"
        self.contacts = Contacts(data_dir)
        self.cfg = config  # pipeline.config.OutboxConfig, or None for the local spool

    @property
    def kind(self) -> str:
        return getattr(self.cfg, "kind", "spool")

    def send(self, to: str, text: str, at: str) -> tuple[str, dict[str, Any]]:
        """Deliver or queue one message; returns (summary, data). Raises a ToolError a user can act on."""
        found = self.contacts.find(to)
        if self.kind == "smtp":
            if found is None or "email" not in found[1]:
                why = f"I have no email address for {to}" if found else f"I have no contact named {to}"
                raise ToolArgumentError(why, self.contacts.suggestion(to))
            name, entry = found
            record = {"to": name, "address": entry["email"], "text": text, "at": at}
            try:
                self._smtp(entry["email"], name, text)
            except (OSError, smtplib.SMTPException) as exc:
                path = spool(self.dir / "unsent", record | {"error": str(exc)[:300]})
                host = f"{self.cfg.host}:{self.cfg.port}"
                raise ToolFailedError(
                    f"could not send to {name}: the mail server {host} failed ({type(exc).__name__}: {exc})",
                    f"the message is kept in {path}; check [tools.outbox] and the network",
                ) from None
            spool(self.dir / "sent", record)
            return f"message sent to {name}", {"address": entry["email"]}
        name = found[0] if found else to
        record = {"to": name, "text": text, "at": at} | ({"contact": found[1]} if found else {})
        path = spool(self.dir, record)
        return f"message to {name} queued in the outbox", {"file": path.name}

    def _smtp(self, address: str, name: str, text: str) -> None:
        cfg = self.cfg
        msg = EmailMessage()
        msg["From"] = cfg.sender
        msg["To"] = f"{name} <{address}>"
        msg["Subject"] = cfg.subject
        msg.set_content(text)
        password = os.environ.get(cfg.password_env, "") if cfg.password_env else ""
        context = ssl.create_default_context()
        if cfg.security == "ssl":
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                cfg.host, cfg.port, timeout=cfg.timeout_s, context=context
            )
        else:
            server = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
        with server:
            if cfg.security == "starttls":
                server.starttls(context=context)
            if cfg.username:
                server.login(cfg.username, password)
            server.send_message(msg)
