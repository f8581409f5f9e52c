"""A sensitive action asked from a car with others present follows the car's rule, in a real hub
device session (the car profile's own, with its own voice count) and the real permission layer:

- the request is voiced by two people (two speechbrain voices in one utterance: the car's listener
  counts 2); no owner's voice is enrolled, so nobody's yes can be told apart: "send a message" is
  not done, the user hears why, and the decision is in the audit log with that reason; no message
  leaves;
- the same words in one voice in the car (before anyone else spoke: the car counts the voices of
  the last minutes), and in two voices on a home speaker (no rule for others present), are not
  refused by the car's rule: they go to the ordinary confirmation (unanswered
  here, so not done either, for another reason);
- with an owner enrolled the rule asks instead: the owner's voice is required and the question says
  why and reads none of the message aloud.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from conftest import fixture_path

REQUEST = "Send a message to Anna saying I am running late."


@pytest.fixture()
def hub_cfg(cfg, tmp_path):
    c = cfg.model_copy(
        update={
            "data_dir": tmp_path / "hub",
            "tools": cfg.tools.model_copy(update={"confirm_timeout_s": 1.0}),  # nobody answers here
        }
    )
    c.data_path.mkdir(parents=True)
    return c


def _voices(*parts: tuple[int, int]):
    from voice.audio import AudioClip, load_audio

    clips = [load_audio(fixture_path(f"speechbrain_samples/ASR/spk{s}_snt{n}.wav")).samples for s, n in parts]
    return AudioClip(np.concatenate(clips), 16_000, "cabin")


def test_sensitive_action_with_others_in_the_car(hub_cfg, components):
    from pipeline.acting.audit import AuditLog
    from pipeline.acting.permissions import OTHERS_PRESENT_REFUSED
    from pipeline.acting.session import audit_path
    from pipeline.events import Utterance, VoiceHeard
    from pipeline.runtime.endpointing import Endpoint
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog
    from pipeline.serve.registry import Device
    from voice.asr import Transcript

    hub = Hub(hub_cfg, components, log=HubLog(None, stream=None), poll_s=0.2)
    results: dict[str, object] = {}

    async def turn(session, clip, key: str) -> None:
        """A voice turn on the device's session, its words as the front end's transcript."""
        heard: list[VoiceHeard] = []
        watch = type(
            "Watch", (), {"put": lambda self, e: heard.append(e) if isinstance(e, VoiceHeard) else 0}
        )()
        session.twin.observers.append(watch)
        now = time.monotonic()
        utt = Utterance(audio=clip, start=0.0, end=clip.duration, speech_end_t=now, endpoint_t=now)
        words = Transcript(REQUEST, "en", 1.0, clip.duration)
        result = await session.twin.voice_turn(clip, Endpoint(utt), speak=False, transcript=words)
        session.twin.observers.remove(watch)
        results[key] = (result, [e.voices for e in heard])

    async def scenario() -> None:
        car = await hub.open_session(Device("car", "browser", "car", kind="browser"))
        home = await hub.open_session(Device("kitchen", "browser", "speaker", kind="browser"))
        try:
            await turn(car, _voices((1, 3)), "car_one")  # the driver alone, so far
            await turn(car, _voices((1, 1), (2, 2)), "car_two")  # then a passenger speaks too
            await turn(home, _voices((1, 1), (2, 2)), "home_two")
        finally:
            await hub.shutdown()

    asyncio.run(scenario())

    entries = [e for e in AuditLog(audit_path(hub_cfg)).entries() if e.get("tool") == "send_message"]
    assert len(entries) == 3, entries
    car_one, car_two, home_two = entries

    result, voices = results["car_two"]  # type: ignore[misc]
    assert voices == [2], voices  # the car's own listener heard two people
    assert car_two["decision"] == "denied" and car_two["status"] == "blocked", car_two
    assert OTHERS_PRESENT_REFUSED in car_two["reasons"], car_two
    assert "others are in the car" in result.heard.lower(), result.heard  # said, in words
    assert "running late" not in result.heard.lower(), result.heard

    _, voices = results["car_one"]  # type: ignore[misc]
    assert voices == [1], voices
    assert car_one["status"] == "blocked" and OTHERS_PRESENT_REFUSED not in car_one["reasons"], car_one
    _, voices = results["home_two"]  # type: ignore[misc]
    assert home_two["status"] == "blocked" and OTHERS_PRESENT_REFUSED not in home_two["reasons"], home_two
    # the ordinary rule: a sensitive action waits for a spoken yes, which nobody gave here
    assert any("sensitive action" in r for r in car_one["reasons"] + home_two["reasons"])
    assert not (hub_cfg.data_path / "outbox").exists() or not any((hub_cfg.data_path / "outbox").iterdir())


def test_with_an_owner_enrolled_the_car_asks_the_owner_without_the_details(tmp_path):
    from pipeline.acting.permissions import TURN_COMPANY, Company, PermissionGate, Provenance, Speaker
    from pipeline.tools.base import Tier
    from pipeline.tools.local import LocalTools

    registry = LocalTools(tmp_path).registry()
    tool = registry.get("send_message")
    assert tool.tier == Tier.SENSITIVE
    args = {"to": "Anna", "text": "I am running late"}
    gate = PermissionGate()
    alone = gate.assess(tool, args, Speaker(), Provenance(REQUEST))
    token = TURN_COMPANY.set(Company(others_may_listen=True, voices=2, owner_enrolled=True))
    try:
        crowded = gate.assess(tool, args, Speaker(), Provenance(REQUEST))
        question = gate.question(tool, args)
    finally:
        TURN_COMPANY.reset(token)
    assert crowded.allowed and crowded.needs_owner_voice and crowded.needs_confirmation
    assert "others present: 2 voices heard" in crowded.reasons, crowded.reasons
    assert question.startswith("Others can hear you") and "running late" not in question, question
    assert "running late" in gate.question(tool, args)  # alone, the details are read back as before
    assert alone.allowed and "others present" not in " ".join(alone.reasons)
    # a device without the rule (a home speaker) is unchanged with two voices
    token = TURN_COMPANY.set(Company(others_may_listen=False, voices=2, owner_enrolled=False))
    try:
        assert gate.assess(tool, args, Speaker(), Provenance(REQUEST)).allowed
    finally:
        TURN_COMPANY.reset(token)
