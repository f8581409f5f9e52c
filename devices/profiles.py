"""Device profiles: how Twin listens and speaks on a smart speaker, glasses, in a car, or as a
companion for someone living alone. Every rule that depends on the device lives here, so the rest
of Twin asks the profile instead of checking its name."""

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
    max_reply_words: int = 70  # the spoken reply's word allowance (scaled by the persona's verbosity)
    # Piper rounds phoneme durations, so a length_scale step under ~10% is barely audible: the
    # companion slows a further 10% on top of its profile rate when a turn style applies.
    turn_slowing: float = 1.0
    turn_line: str = ""  # per-turn instruction (never the system prompt, whose cache must hold)
    # Others may be in earshot (a car's cabin): count the voices present, and while more than one is
    # heard recall nothing private and say nothing private aloud.
    others_may_listen: bool = False
    # The longest wait for a reply's first words this device tolerates: a remote model whose measured
    # first-token time is over it answers only requests complex enough to be worth the wait.
    reply_budget_ms: int = 1500
    # What wakes Twin besides the wake word (always on): a push-to-talk button in the car, a tap on
    # the glasses' frame. Sound before a wake is never stored, transcribed or sent.
    wake_events: tuple[str, ...] = ()
    follow_up_s: float = 5.0  # after Twin speaks, the user may answer without the wake word
    # Full duplex: Twin keeps listening while it speaks, through the echo canceller, so the user can
    # interrupt it (barge-in decided on the echo-cancelled microphone). `barge_in` in config overrides.
    full_duplex: bool = False
    # The semantic end of turn (pipeline/runtime/turn_end.py): each pause's window from the words so
    # far. `[endpointing] semantic` in config overrides (false: the fixed window alone).
    semantic_turn_end: bool = True


PROFILES: dict[str, DeviceProfile] = {
    p.name: p
    for p in (
        DeviceProfile("speaker", 400, 3, 110, 1.0, "You speak through a home speaker.", 70, full_duplex=True),
        DeviceProfile(
            "glasses",
            350,
            2,
            70,
            0.95,
            "You speak through smart glasses: be terse.",
            25,
            turn_line="Be terse: a few words.",
            reply_budget_ms=1000,
            wake_events=("tap",),
        ),
        DeviceProfile(
            "car",
            450,
            2,
            70,
            1.0,
            "You speak to a driver: at most two short sentences, never lists, defer what is not urgent.",
            30,
            turn_line="The user is driving: at most two short sentences, no lists.",
            others_may_listen=True,
            reply_budget_ms=1200,
            wake_events=("push_to_talk",),
        ),
        DeviceProfile(
            "companion",
            700,
            3,
            110,
            1.15,
            "You are a patient companion for an older person: speak warmly and simply, "
            "and never mind repeated questions.",
            70,
            turn_slowing=1.1,
            turn_line="Be patient and warm; repeat gladly if asked again.",
            reply_budget_ms=2500,
            follow_up_s=8.0,  # an older person may take longer to answer
        ),
    )
}
