"""The car's rule for a sensitive action with others present holds in a plain session too (what
`twin live --profile car` runs, no hub): the session itself tells the permission layer who may hear
the turn (`Twin._run` sets `TURN_COMPANY` from the profile and the voices the turn heard)."""

from __future__ import annotations

import asyncio
import time

import numpy as np
from conftest import fixture_path

REQUEST = "Send a message to Anna saying I am running late."


def _voices(*parts: tuple[int, int]):
    from voice.audio import AudioClip, load_audio

    clips = [load_audio(fixture_path(f"speechbrain_samples/ASR/spk{s}_snt{n}.wav")).samples for s, n in parts]
    return AudioClip(np.concatenate(clips), 16_000, "cabin")


def test_a_car_session_with_a_passenger_refuses_a_sensitive_action(cfg, components, tmp_path):
    from pipeline.acting.audit import AuditLog
    from pipeline.acting.permissions import OTHERS_PRESENT_REFUSED
    from pipeline.acting.session import audit_path
    from pipeline.config import load_config
    from pipeline.events import Utterance
    from pipeline.runtime.components import Components
    from pipeline.runtime.endpointing import Endpoint
    from pipeline.runtime.session import Twin
    from voice.asr import Transcript

    car_cfg = load_config(
        data_dir=tmp_path, overrides={"profile": "car", "tools": {"confirm_timeout_s": 1.0}}
    )
    assert car_cfg.device_profile.others_may_listen
    comps = Components(car_cfg)  # its own listener counts voices, as the car's does
    for shared in ("vad", "asr", "tts", "llm", "speakers"):
        comps.__dict__[shared] = getattr(components, shared)
    twin = Twin(car_cfg, comps)

    async def turn(clip):
        now = time.monotonic()
        utt = Utterance(audio=clip, start=0.0, end=clip.duration, speech_end_t=now, endpoint_t=now)
        words = Transcript(REQUEST, "en", 1.0, clip.duration)
        return await twin.voice_turn(clip, Endpoint(utt), speak=False, transcript=words)

    result = asyncio.run(turn(_voices((1, 1), (2, 2))))  # the driver and a passenger
    entries = [e for e in AuditLog(audit_path(car_cfg)).entries() if e.get("tool") == "send_message"]
    assert len(entries) == 1, entries
    assert entries[0]["decision"] == "denied" and OTHERS_PRESENT_REFUSED in entries[0]["reasons"], entries
    assert "others are in the car" in result.heard.lower(), result.heard
    assert "running late" not in result.heard.lower(), result.heard
