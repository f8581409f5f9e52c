"""Who sees and erases what from a paired device (pipeline/serve/data_api.py), under the household
rules the voice path uses, without a browser: the data API over the hub's real memory store and
audit log."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest


def _enrol(data_dir: Path, name: str, role: str) -> None:
    from voice.speakers.profiles import ProfileStore, SpeakerProfile
    from voice.speakers.resemblyzer_encoder import RESEMBLYZER_BACKEND

    vec = np.random.default_rng(len(name)).normal(size=256)
    now = time.time()
    profile = SpeakerProfile(
        name, [list(vec / np.linalg.norm(vec))], 0.7, RESEMBLYZER_BACKEND, now, now, role=role
    )
    ProfileStore(data_dir / "speakers", None).write(profile)


def _paired(hub, name: str, speaker: str = "") -> str:
    code = hub.registry.start_pairing(name, "companion", speaker)
    return hub.registry.pair(name, code)[1]


def test_household_rules_for_a_devices_data(hub_cfg, components):
    from pipeline.acting.audit import AuditLog
    from pipeline.acting.session import audit_path
    from pipeline.serve.data_api import (
        ConfirmationError,
        DataApi,
        NotAllowedError,
        TokenMissingError,
        TokenRevokedError,
    )
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog

    mem = components.memory
    hub = Hub(hub_cfg, components, log=HubLog(None, stream=None))
    api = DataApi(hub)
    mine = _paired(hub, "mina-phone", "mina")
    other = _paired(hub, "kids-tablet", "jo")

    # nobody enrolled: a personal hub, every device is its owner's (as every voice is)
    v = api.viewer(mine)
    assert (v.speaker, v.role, v.scopes) == ("owner", "owner", ("owner", "household"))
    off = DataApi(
        Hub(
            hub_cfg.model_copy(update={"identity": hub_cfg.identity.model_copy(update={"speakers": False})}),
            components,
            log=HubLog(None, stream=None),
        )
    )
    _enrol(hub_cfg.data_path, "mina", "owner")
    _enrol(hub_cfg.data_path, "jo", "child")
    assert off.viewer(other).speaker == "owner"  # identification off: voices enrolled or not

    # voices enrolled: the device's person, else a guest
    owner, child = api.viewer(mine), api.viewer(other)
    assert (owner.speaker, owner.role, owner.scopes) == ("mina", "owner", ("mina", "household"))
    assert (child.speaker, child.role, child.scopes) == ("jo", "child", ("jo", "household"))
    guest = api.viewer(_paired(hub, "visitor"))
    assert guest.guest and guest.scopes == ("household",)
    stranger = api.viewer(_paired(hub, "old-phone", "nobody-enrolled"))
    assert stranger.guest

    jo_item = mem.remember(
        "Jo's football practice is on Tuesdays.", "jo", "fact", importance=0.8, source="test"
    )
    shared = mem.remember(
        "The bins go out on Thursday night.", "household", "fact", importance=0.8, source="test"
    )
    try:
        assert {m["id"] for m in api.memories(child)} >= {jo_item.id, shared.id}
        assert jo_item.id not in {m["id"] for m in api.memories(owner)}  # not even the owner's to read
        assert {m["speaker"] for m in api.memories(guest)} == {"household"}
        # voices: the owner sees every one, others only their own
        assert {r["name"] for r in api.voices(owner)} == {"mina", "jo"}
        assert [r["name"] for r in api.voices(child)] == ["jo"]
        assert api.voices(guest) == []
        # the child may not erase the household's memories (an owner is enrolled): refused, audited
        with pytest.raises(NotAllowedError):
            api.plan_forget(child, {"ids": [shared.id]})
        with pytest.raises(NotAllowedError):
            api.plan_forget(guest, {"everything": True})
        # their own: a plan; "cancel" deletes nothing and is audited
        plan = api.plan_forget(child, {"everything": True})
        assert plan["count"] >= 1 and jo_item.id in plan["ids"]
        with pytest.raises(ConfirmationError):  # another device cannot answer it
            api.confirm_forget(owner, {"confirmation": plan["confirmation"]})
        assert api.cancel_forget(child, {"confirmation": plan["confirmation"]})["deleted"] == 0
        assert jo_item.id in mem.items
        with pytest.raises(ConfirmationError):  # answered once: gone
            api.confirm_forget(child, {"confirmation": plan["confirmation"]})
        # the owner erases a household memory: done, receipted, audited
        plan = api.plan_forget(owner, {"ids": [shared.id]})
        done = api.confirm_forget(owner, {"confirmation": plan["confirmation"]})
        assert done["deleted"] == 1 and shared.id not in mem.items and done["receipt"]
        entries = AuditLog(audit_path(hub_cfg)).entries()
        decisions = [(e["decision"], e["who"]) for e in entries if e.get("tool") == "memory.forget"]
        assert ("denied", child.who) in decisions and ("confirmed", owner.who) in decisions, decisions
        # the audit log: the owner reads all of it, the child only the entries that name them
        assert len(api.audit_entries(owner)) == len(entries)
        assert {e["who"] for e in api.audit_entries(child)} == {child.who}
        assert api.audit_entries(guest) == []
        settings = api.settings(child)
        assert settings["device"] == {
            "name": "kids-tablet",
            "profile": "companion",
            "paired": settings["device"]["paired"],
            "speaker": "jo",
            "role": "child",
            "sees": ["jo", "household"],
        }
        assert "api_key" not in str(settings) and "password" not in str(settings)
    finally:
        mem.forget([i for i in (jo_item.id, shared.id) if i in mem.items])

    # voices: a child may not erase another's, may erase their own after the yes (then a guest)
    from pipeline.serve.data_api import UnknownItemError

    with pytest.raises(UnknownItemError):
        api.plan_forget_voice(child, {"name": "mina"})
    plan = api.plan_forget_voice(child, {"name": "Jo"})
    assert (hub_cfg.data_path / "speakers" / "jo.json").exists()  # nothing removed before the yes
    assert api.confirm_forget(child, {"confirmation": plan["confirmation"]})["deleted"] == 1
    assert not (hub_cfg.data_path / "speakers" / "jo.json").exists()
    assert api.viewer(other).guest
    voice = [e for e in AuditLog(audit_path(hub_cfg)).entries() if e.get("tool") == "voice.forget"]
    assert voice and voice[-1]["decision"] == "confirmed" and voice[-1]["args"] == {"name": "jo"}

    with pytest.raises(TokenMissingError):
        api.viewer("")
    hub.registry.remove("kids-tablet")
    with pytest.raises(TokenRevokedError):
        api.viewer(other)
