"""Device profiles: how Twin listens and speaks on a smart speaker, glasses, in a car, or as a
companion for someone living alone."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    endpoint_silence_ms: int  # silence that ends the user's turn
    max_reply_sentences: int
    max_reply_tokens: int
    speech_rate: float  # piper length_scale: >1 is slower
    style: str  # one line for the system prompt


PROFILES: dict[str, DeviceProfile] = {
    p.name: p
    for p in (
        DeviceProfile("speaker", 400, 3, 110, 1.0, "You speak through a home speaker."),
        DeviceProfile("glasses", 350, 2, 70, 0.95, "You speak through smart glasses: be terse."),
        DeviceProfile(
            "car",
            450,
            2,
            70,
            1.0,
            "You speak to a driver: at most two short sentences, never lists, defer what is not urgent.",
        ),
        DeviceProfile(
            "companion",
            700,
            3,
            110,
            1.15,
            "You are a patient companion for an older person: speak warmly and simply, "
            "and never mind repeated questions.",
        ),
    )
}
