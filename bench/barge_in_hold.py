"""The hold on a fast cue, measured by `twin bench duplex` (modes `aec_hold` and `hold_...`) and not
adopted: the live front end pauses a reply only at the endpointer's onset (pipeline/runtime/
hands_free.BargeInOnset). Kept beside the bench that measures it, out of the product's modules."""

from __future__ import annotations

from dataclasses import dataclass

# The hold: Twin's reply is held (paused) at once on a fast cue, before the endpointer's start run,
# and let go (resumed) when the endpointer does not confirm it. `twin bench duplex` traced where the
# three-frame onset's time went: on most talk-overs the user's first syllables pass the canceller
# nearly whole (the cleaned frame keeps -6 to +6 dB of the microphone's energy, at the user's level)
# while the VAD, on far-field reverberant speech, reaches 0.5 on one frame well before it holds it
# for three. A single voiced frame that keeps its energy through the canceller and is at the user's
# level is that cue; the pause it starts becomes the barge-in's when the endpointer's own start
# follows. Without it, the reply plays on after the sound at the user's level has stopped for
# `wait_frames` (a cough, a door, a residue of Twin's voice), or after `max_s` (a sound that goes on);
# a cue that lasts through a let-go does not hold again until it has stopped. Every hold let go is a
# gap in Twin's voice the user hears, so the bench counts them (`holds_resumed`, their length).


@dataclass(frozen=True)
class BargeInHold:
    """When a reply is held before the barge-in's onset is complete: `frames` frames in a row, each
    counting (through `BargeInOnset.prob`: the level and settling gates) at least `prob` and keeping
    at least -`kept_db` of its energy through the canceller."""

    frames: int = 1
    prob: float = 0.5
    kept_db: float | None = 10.0
    wait_frames: int = 4  # frames without sound at the user's level before a hold is let go
    max_s: float = 1.0  # a hold the endpointer has not confirmed by then is let go

    def cue(self, prob: float, kept_db: float | None) -> bool:
        """Whether a frame (its probability already through `BargeInOnset.prob`) is a hold's cue."""
        if kept_db is None:  # Twin is silent: nothing to hold
            return False
        return prob >= self.prob and (self.kept_db is None or kept_db >= -self.kept_db)


class Holder:
    """The hold's state over one stream, frame by frame: `step` says "hold" or "resume" (or None);
    `confirm` hands a hold over to the barge-in (the endpointer started: the pause stays)."""

    def __init__(self, rule: BargeInHold) -> None:
        self.rule = rule
        self.run = 0
        self.held_at: float | None = None  # the stream position of the frame that held the reply
        self.quiet = 0
        self.spent = False  # a cue that lasted through a let-go does not hold again until it stops

    @property
    def held(self) -> bool:
        return self.held_at is not None

    def step(
        self, position: float, cue: bool, level_db: float, user_db: float | None, quieter_db: float
    ) -> str | None:
        """One frame: `cue` from `BargeInHold.cue`; `level_db` the cleaned frame's level, `user_db` the
        level of the user's last turn (None before one: the cue alone keeps a hold)."""
        if self.held_at is None:
            if self.spent:
                self.spent = cue
                return None
            self.run = self.run + 1 if cue else 0
            if self.run >= self.rule.frames:
                self.held_at, self.quiet, self.run = position, 0, 0
                return "hold"
            return None
        loud = cue if user_db is None else level_db >= user_db - quieter_db
        self.quiet = 0 if loud else self.quiet + 1
        if self.quiet >= self.rule.wait_frames or position - self.held_at >= self.rule.max_s - 1e-9:
            self.held_at = None
            self.spent = loud
            return "resume"
        return None

    def confirm(self) -> None:
        self.held_at, self.run = None, 0

    def reset(self) -> None:
        self.run, self.held_at, self.quiet, self.spent = 0, None, 0, False


# The best of the holds measured on DEV (`twin bench duplex`, the `aec_hold` mode; README "Echo
# cancellation and full duplex"). Not the front end's: on DEV it paused 72 of 144 talk-overs within
# 120 ms instead of 21, but Twin's own echo set off 3 events at the moderate level (0 without it) and
# 32 holds that were let go, and its p95 stayed ~630 ms (the VAD's lag on reverberant speech).
HOLD = BargeInHold()
