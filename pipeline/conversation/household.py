"""Who may do what in this household, from enrolled voices: the permission layer's view of the
turn's speaker, and whether the turn's voice is the owner's. Facts the model cannot forge."""

from __future__ import annotations

from typing import Any

from pipeline.acting.permissions import GUEST, Speaker
from pipeline.config import TwinConfig
from pipeline.conversation.hearing import SpeakerIdentity


class Household:
    def __init__(self, cfg: TwinConfig, components: Any) -> None:
        self.cfg = cfg
        self.c = components

    def owners(self) -> list[str]:
        return self.c.speakers.owner_names() if self.cfg.identity.speakers else []

    def speaker(self, identity: SpeakerIdentity) -> Speaker:
        """An enrolled voice's role, a guest for a voice that is none of them, the owner when no
        voices are enrolled (a personal device)."""
        if identity.guest:
            return Speaker(GUEST, "guest")
        if identity.name is None:
            return Speaker("owner", "owner")
        role = self.c.speakers.role_of(identity.name) if self.cfg.identity.speakers else "guest"
        return Speaker(identity.name, role)  # role_of: "guest" for anyone not enrolled

    def owner_score(self, identity: SpeakerIdentity, voiced: bool) -> float | None:
        """1.0 when the turn's voice is an enrolled owner's, 0.0 when it is anyone else's; None when
        nothing can be checked (a typed command at the device, or no owner enrolled)."""
        owners = self.owners()
        if not voiced or not owners:
            return None
        return 1.0 if identity.scope in owners else 0.0
