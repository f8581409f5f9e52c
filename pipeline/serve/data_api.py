"""The user's own data, seen from a paired device: what Twin remembers, the audit log, the enrolled
voices and the settings; exported as one JSON document, and memories erased.

No web framework here (`http.py` maps these calls to routes): each call takes the device a token
belongs to and returns plain data or raises a typed error. The same code paths as the CLI:
`Memory.list` (`twin memory list`), `memory.portable.write_export` (`twin memory export`), the
audit log's `entries` (`twin audit`), the voice profiles as `twin speakers list` reads them, and
forgetting's single path (memory/forgetting.py): a plan shown first, an explicit yes in the page,
then `carry_out` (the receipt in DATA_DIR/receipts/) and an audit entry, the decision recorded
either way (`pipeline.conversation.recall.audit_forget`).

Who may see what follows the household rules the voice path uses:
- identification off, or no voice enrolled: the device's user is the owner (as `Household.speaker`
  makes every voice then); they see the owner's memories and the household's;
- voices enrolled: a device paired for an enrolled person (`twin devices pair NAME --speaker anna`)
  sees that person's memories and the household's; any other device is a guest's and sees only the
  household's. Erasing follows `may_delete`: with an owner enrolled, only the owner erases the
  household's memories.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memory import HOUSEHOLD, ForgetPlan
from memory.portable import write_export
from models.errors import BadInputError, TwinError
from pipeline.acting.audit import AuditLog
from pipeline.acting.session import audit_path
from pipeline.conversation.recall import audit_forget, may_delete

from .registry import Device

if TYPE_CHECKING:
    from .hub import Hub

CONFIRM_TTL_S = 300.0  # a plan shown in the page may be confirmed this long
MAX_IDS = 500
MAX_PENDING = 64  # plans awaiting a yes, across devices (the oldest is dropped past this)


# -- typed errors: each has the HTTP status the page gets ------------------------------------------
class DataApiError(TwinError):
    code = "data_error"
    status = 400


class TokenMissingError(DataApiError):
    code = "token_missing"
    status = 401


class TokenRevokedError(DataApiError):
    code = "device_unpaired"
    status = 401


class BadRequestError(DataApiError, BadInputError):
    code = "bad_request"
    status = 400


class UnknownItemError(DataApiError):
    code = "memory_unknown_item"
    status = 404


class NotAllowedError(DataApiError):
    code = "not_allowed"
    status = 403


class ConfirmationError(DataApiError):
    code = "confirmation_unknown"
    status = 409


class MemoryOffError(DataApiError):
    code = "memory_off"
    status = 409


@dataclass(frozen=True)
class Viewer:
    """Who a device is, for what its page may show: `speaker` is the memory scope its person acts
    as ("owner", an enrolled name, or "unknown" for a guest), `scopes` the memories it may see."""

    device: Device
    speaker: str
    role: str
    scopes: tuple[str, ...]
    owners: tuple[str, ...]

    @property
    def guest(self) -> bool:
        return self.role == "guest"

    @property
    def who(self) -> str:
        """The receipt's and the audit entry's `who`."""
        return f"{self.speaker} (browser {self.device.name})"


def _voices(data_dir: Path) -> Any:
    """The enrolled voices as `twin speakers list` reads them: no speaker model needed, re-read on
    every call (so `twin speakers role|remove` in another process counts at once)."""
    from voice.speakers import SpeakerRegistry

    class _NoEmbedder:
        descriptor = None

        def embed(self, audio: Any) -> Any:  # pragma: no cover - never called when listing
            raise RuntimeError("no embedder loaded")

    return SpeakerRegistry(data_dir / "speakers", _NoEmbedder())  # type: ignore[arg-type]


def enrolled_names(data_dir: Path) -> set[str]:
    """The enrolled voices' names, lower-cased (none enrolled: a personal hub)."""
    return {n.lower() for n in _voices(data_dir).names()}


@dataclass(frozen=True)
class VoicePlan:
    """Erasing one enrolled voice (`twin speakers remove`), as shown before the yes."""

    name: str
    recordings: int

    def question(self) -> str:
        return (
            f"Erase {self.name}'s voice profile ({self.recordings} recordings)? Twin will no longer "
            f"recognise {self.name} by voice until they enrol again."
        )


@dataclass
class _Pending:
    viewer: Viewer
    plan: ForgetPlan | VoicePlan
    expires: float


class DataApi:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.cfg = hub.cfg
        self.audit = AuditLog(audit_path(hub.cfg))
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()

    # -- who is asking --------------------------------------------------------------------------------
    def viewer(self, token: str | None) -> Viewer:
        if not token:
            raise TokenMissingError(
                "this request carries no device token",
                "pair this browser first: twin devices pair NAME on the hub, then open its page",
            )
        device = self.hub.registry.device_for_token(token)
        if device is None:
            raise TokenRevokedError(
                "no paired device has this token (it was removed, or never paired)",
                "pair the browser again: twin devices pair NAME",
            )
        reg = _voices(self.cfg.data_path)
        enrolled = {n.lower(): n for n in reg.names()} if self.cfg.identity.speakers else {}
        owners = tuple(reg.owner_names()) if enrolled else ()
        if not enrolled:  # a personal hub: every voice is its owner's (Household.speaker)
            return Viewer(device, "owner", "owner", ("owner", HOUSEHOLD), owners)
        name = enrolled.get(device.speaker.lower()) if device.speaker else None
        if name is None:
            return Viewer(device, "unknown", "guest", (HOUSEHOLD,), owners)
        return Viewer(device, name.lower(), reg.role_of(name), (name.lower(), HOUSEHOLD), owners)

    # -- seeing ---------------------------------------------------------------------------------------
    def _memory(self) -> Any:
        mem = self.hub.c.memory
        if mem is None:
            raise MemoryOffError("memory is turned off on this hub", "set memory.enabled = true")
        return mem

    def memories(self, v: Viewer, history: bool = False) -> list[dict[str, Any]]:
        mem = self._memory()
        items = [it for scope in v.scopes for it in mem.list(scope, include_history=history)]
        return [it.to_payload() for it in sorted(items, key=lambda it: it.created)]

    def audit_entries(self, v: Viewer, last: int = 200) -> list[dict[str, Any]]:
        """`twin audit`'s rows. The owner sees the whole log; anyone else only the entries that name
        them (their own calls and deletions)."""
        entries = self.audit.entries()
        if v.role != "owner":
            mine = {v.speaker, v.who}
            entries = [e for e in entries if str(e.get("who", "")) in mine]
        return entries[-last:]

    def voices(self, v: Viewer) -> list[dict[str, Any]]:
        """`twin speakers list`'s rows (never the voice vectors). The owner sees every enrolled voice,
        anyone else only their own."""
        reg = _voices(self.cfg.data_path)
        rows = []
        for p in reg.profiles.values():
            if v.role != "owner" and p.name.lower() != v.speaker:
                continue
            rows.append(
                {
                    "name": p.name,
                    "role": p.role,
                    "recordings": len(p.embeddings),
                    "enrolled": datetime.fromtimestamp(p.created).isoformat(timespec="seconds"),
                    "updated": datetime.fromtimestamp(p.updated).isoformat(timespec="seconds"),
                }
            )
        return rows

    def settings(self, v: Viewer) -> dict[str, Any]:
        """What this device is and the hub's settings that decide what happens to the user's words
        (read-only here; changed in the hub's config file). Never a secret."""
        c = self.cfg
        return {
            "device": {
                "name": v.device.name,
                "profile": v.device.profile,
                "paired": v.device.added,
                "speaker": v.speaker,
                "role": v.role,
                "sees": list(v.scopes),
            },
            "memory": {
                "enabled": c.memory.enabled,
                "store": "a qdrant server" if c.memory.url else "on this hub",
            },
            "identity": {"speakers": c.identity.speakers, "emotion": c.identity.emotion},
            "remote_model": {
                "enabled": c.remote.enabled,
                "policy": c.routing.policy,
                "pseudonymise": c.remote.pseudonymise,
            },
            "tools": {"enabled": c.tools.enabled},
            "language": c.asr.language or "detect",
            "wake_word": c.wake.word,
            "traces_kept": c.trace_turns,
        }

    def export(self, v: Viewer) -> dict[str, Any]:
        """Everything this device may see, as one document. `memories` is `twin memory export`'s
        format (written by the same function), so `twin memory import` reads it back."""
        mem = self._memory()
        items = [it for scope in v.scopes for it in mem.list(scope, include_history=True)]
        folder = Path(tempfile.mkdtemp(prefix=".export-", dir=self.cfg.data_path))  # 0700, user data stays
        try:
            path = folder / "memories.json"
            write_export(path, sorted(items, key=lambda it: it.created), mem.embedder.name)
            memories = json.loads(path.read_text(encoding="utf-8"))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return {
            "format": "twin-device-export",
            "version": 1,
            "exported": datetime.now().astimezone().isoformat(timespec="seconds"),
            "settings": self.settings(v),
            "memories": memories,
            "voices": self.voices(v),
            "audit": self.audit_entries(v, last=10_000),
        }

    # -- erasing: plan -> an explicit yes in the page -> carry out, audited ---------------------------
    def plan_forget(self, v: Viewer, body: Any) -> dict[str, Any]:
        """What an erase would delete, deleting nothing. `{"ids": [...]}`: those memories (each one
        this device may see, all of one scope); `{"everything": true}`: all of this person's own."""
        mem = self._memory()
        if not isinstance(body, dict):
            raise BadRequestError("send a JSON object", '{"ids": ["..."]} or {"everything": true}')
        ids, everything = body.get("ids"), body.get("everything") is True
        if everything == (ids is not None):
            raise BadRequestError("say what to erase, one way", '{"ids": ["..."]} or {"everything": true}')
        if everything:
            if v.guest:
                raise NotAllowedError(
                    "a guest's device has no memories of its own to erase",
                    "pair the device for an enrolled person: twin devices pair NAME --speaker PERSON",
                )
            plan = mem.plan_forget(v.speaker, everything=True)
        else:
            if not isinstance(ids, list) or not ids or len(ids) > MAX_IDS:
                raise BadRequestError(f"'ids' must be a list of 1 to {MAX_IDS} ids", '{"ids": ["..."]}')
            found = []
            for i in ids:
                it = mem.items.get(i) if isinstance(i, str) else None
                if it is None or it.speaker not in v.scopes:  # another's memory is as unknown as none
                    raise UnknownItemError(
                        f"no memory {str(i)[:40]!r} that this device may see",
                        "reload the list: it may have been erased already",
                    )
                found.append(it)
            scopes = {it.speaker for it in found}
            if len(scopes) != 1:
                raise BadRequestError(
                    "these memories belong to different people (yours and the household's)",
                    "erase them in two steps",
                )
            plan = mem.plan_forget(scopes.pop(), ids=[it.id for it in found])
        if not plan.items:
            return {"count": 0, "preview": plan.nothing()}
        if not may_delete(plan, v.speaker, list(v.owners)):
            audit_forget(self.audit, plan, "denied", v.who, ["only the owner may delete these"])
            raise NotAllowedError(
                plan.not_allowed(v.owners[0] if v.owners else "the owner"),
                "ask the owner to erase them from their device, or `twin memory forget` on the hub",
            )
        return {
            "kind": "memories",
            "confirmation": self._hold(v, plan),
            "count": plan.count,
            "ids": plan.ids,
            "scope": plan.scope,
            "preview": plan.preview(),
            "question": plan.question(),
            "expires_s": CONFIRM_TTL_S,
        }

    def _hold(self, v: Viewer, plan: ForgetPlan | VoicePlan) -> str:
        """Keep a plan shown in the page until its yes or no (at most CONFIRM_TTL_S)."""
        confirmation = secrets.token_urlsafe(16)
        now = time.monotonic()
        with self._lock:
            self._pending = {k: p for k, p in self._pending.items() if p.expires > now}
            while len(self._pending) >= MAX_PENDING:
                self._pending.pop(next(iter(self._pending)))
            self._pending[confirmation] = _Pending(v, plan, now + CONFIRM_TTL_S)
        return confirmation

    def plan_forget_voice(self, v: Viewer, body: Any) -> dict[str, Any]:
        """`{"name": NAME}`: erase an enrolled voice. The owner may erase any voice, anyone else only
        their own; nothing is removed before the page's yes."""
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise BadRequestError("say whose voice to erase", '{"name": "anna"}')
        reg = _voices(self.cfg.data_path)
        profile = next((p for n, p in reg.profiles.items() if n.lower() == name.strip().lower()), None)
        if profile is None or (v.role != "owner" and profile.name.lower() != v.speaker):
            raise UnknownItemError(
                f"no enrolled voice {name[:40]!r} that this device may see", "reload the list"
            )
        plan = VoicePlan(profile.name, len(profile.embeddings))
        return {
            "kind": "voice",
            "confirmation": self._hold(v, plan),
            "count": 1,
            "name": plan.name,
            "preview": f"{plan.name}'s voice profile ({plan.recordings} recordings)",
            "question": plan.question(),
            "expires_s": CONFIRM_TTL_S,
        }

    def _take(self, v: Viewer, confirmation: Any) -> _Pending:
        with self._lock:
            pending = self._pending.get(confirmation) if isinstance(confirmation, str) else None
            if pending is None or pending.expires < time.monotonic() or pending.viewer.device != v.device:
                raise ConfirmationError(
                    "no erase is waiting for this confirmation (it expired, was answered, or is "
                    "another device's)",
                    "press Erase again to see what would be deleted",
                )
            del self._pending[confirmation]
        return pending

    def confirm_forget(self, v: Viewer, body: Any) -> dict[str, Any]:
        """The page's yes: delete what the plan showed (items already gone are skipped), write the
        receipt and the audit entry."""
        confirmation = body.get("confirmation") if isinstance(body, dict) else None
        pending = self._take(v, confirmation)
        if isinstance(pending.plan, VoicePlan):
            return self._erase_voice(v, pending.plan)
        mem = self._memory()
        plan = pending.plan
        receipt = mem.carry_out(plan, v.who)
        problem = audit_forget(
            self.audit, plan, "confirmed", v.who, [f"confirmed in the page of {v.device.name}"], receipt
        )
        erased = 0
        if plan.action == "everything":  # what was said lives on in traces and reply audio too
            from pipeline.conversation.recall import erase_records

            erased = erase_records(self.cfg.data_path)
        self.hub.log.event("memories_erased", device=v.device.name, deleted=receipt.deleted, scope=plan.scope)
        return {
            "deleted": receipt.deleted,
            "ids": receipt.ids,
            "receipt": receipt.path.name if receipt.path else None,
            "receipt_error": receipt.error or None,
            "audit_error": problem or None,
            "conversation_records_erased": erased,
            "said": plan.done(receipt),
        }

    def cancel_forget(self, v: Viewer, body: Any) -> dict[str, Any]:
        """The page's no: nothing deleted, the decision audited (as the CLI's 'no' is)."""
        confirmation = body.get("confirmation") if isinstance(body, dict) else None
        pending = self._take(v, confirmation)
        if isinstance(pending.plan, VoicePlan):
            self._audit_voice(v, pending.plan, "denied", "not_run", ["cancelled in the page"])
            return {"deleted": 0, "said": "All right, the voice profile stays."}
        audit_forget(self.audit, pending.plan, "denied", v.who, ["cancelled in the page"])
        return {"deleted": 0, "said": pending.plan.cancelled()}

    def _erase_voice(self, v: Viewer, plan: VoicePlan) -> dict[str, Any]:
        """`twin speakers remove`'s path (the profile's file); through the hub's own registry when
        it is loaded, so the voice stops being recognised at once, not at the next start."""
        reg = _voices(self.cfg.data_path)
        with contextlib.suppress(TwinError):  # gone meanwhile (`twin speakers remove`): nothing left
            reg.remove(plan.name)
        live = vars(self.hub.c).get("speakers")  # a cached_property: loaded by the first voice turn
        if live is not None and Path(live.dir) == Path(reg.dir):
            with contextlib.suppress(TwinError):
                live.remove(plan.name)
        problem = self._audit_voice(
            v, plan, "confirmed", "done", [f"confirmed in the page of {v.device.name}"]
        )
        self.hub.log.event("voice_erased", device=v.device.name, name=plan.name)
        return {
            "deleted": 1,
            "ids": [plan.name],
            "audit_error": problem or None,
            "said": f"Erased {plan.name}'s voice.",
        }

    def _audit_voice(self, v: Viewer, plan: VoicePlan, decision: str, status: str, reasons: list[str]) -> str:
        try:
            self.audit.append(
                tool="voice.forget",
                args={"name": plan.name},
                tier="sensitive",
                decision=decision,
                status=status,
                who=v.who,
                result={"recordings": plan.recordings},
                reasons=reasons,
                turn="",
                key="",
            )
        except (OSError, TwinError) as exc:  # erasing must work on a full disk; the failure is reported
            return f"{type(exc).__name__}: {exc}"[:120]
        return ""
