"""Hands-free rules of the front end: what wakes Twin, how long it stays awake, and what the user's
voice over Twin's own reply means (a backchannel, a false start, "stop", or a real interruption).

The wake gate stands before everything else that hears the microphone. While Twin is asleep a frame
reaches only the wake word detector: it is not endpointed, stored, transcribed or sent. A wake (the
wake word, or a device event the profile allows: a push-to-talk button, a tap) opens the gate for
`listen_s`; the utterance begun in that time is taken, and the gate closes behind it. After Twin
replies, a follow-up window lets the user answer without the wake word.

The spoken-name wake ("Twin, what time is it") is the other way to wake: every utterance is
transcribed on the device, and one that does not begin with the name is dropped at once, with no
trace, history or memory of it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from models.errors import BadInputError
from voice.capabilities import WakeWord

if TYPE_CHECKING:
    from pipeline.config import TwinConfig

# Said while Twin speaks, these keep it speaking: the user is listening, not taking the turn.
BACKCHANNELS = frozenset(
    {
        "mm",
        "mhm",
        "mm hm",
        "mm hmm",
        "uh huh",
        "hmm",
        "yeah",
        "yes",
        "yep",
        "ok",
        "okay",
        "right",
        "sure",
        "i see",
        "got it",
        "oh",
        "ah",
        "uh",
        "um",
        "嗯",
        "对",
        "对对",
        "是",
        "好",
    }
)
FALSE_START_S = 0.5  # voiced speech shorter than this over Twin's reply (a cough, a door) resumes it


def words_of(text: str) -> str:
    """Lower-case words only: punctuation and the model's hyphens dropped ("Mm-hm." -> "mm hm")."""
    text = unicodedata.normalize("NFKC", text).lower().replace("-", " ")
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def is_backchannel(text: str) -> bool:
    said = words_of(text)
    if not said:
        return False
    if said in BACKCHANNELS:
        return True
    # "yeah yeah", "okay okay", "对对对": repeats of one backchannel
    parts = said.split()
    if len(parts) > 1 and len(set(parts)) == 1 and parts[0] in BACKCHANNELS:
        return True
    return len(said) <= 3 and all(ch in "嗯对是好啊哦" for ch in said.replace(" ", ""))


def is_stop(text: str, stop_words: list[str] | tuple[str, ...]) -> bool:
    said = words_of(text)
    return bool(said) and said in {words_of(w) for w in stop_words}


@dataclass
class HandsFreeLog:
    """What the front end decided, in stream time, for `twin live --json` and the tests. Never the
    words of an utterance that did not wake Twin."""

    events: list[dict] = field(default_factory=list)

    def add(self, kind: str, position: float, **detail: object) -> None:
        self.events.append({"event": kind, "position_s": round(position, 3), **detail})

    def kinds(self) -> list[str]:
        return [e["event"] for e in self.events]


class WakeGate:
    """Which frames the front end may hear. `detector` None with `name` set: the spoken-name wake."""

    def __init__(
        self,
        detector: WakeWord | None,
        *,
        name: str | None = None,
        events: tuple[str, ...] = (),
        follow_up_s: float = 5.0,
        listen_s: float = 6.0,
        log: HandsFreeLog | None = None,
    ) -> None:
        if detector is None and not name:
            raise ValueError("a wake gate needs a wake word detector or a name")
        self.detector = detector
        self.name = words_of(name) if name else None
        self.events = events
        self.follow_up_s = follow_up_s
        self.listen_s = listen_s
        self.log = log or HandsFreeLog()
        self.position = 0.0
        self.open_until = -1.0
        self._pending: list[str] = []

    @classmethod
    def from_config(cls, cfg: TwinConfig, word: str | None = None, log: HandsFreeLog | None = None):
        """The gate `twin live` uses: the profile's wake events and follow-up window, the configured
        wake word (or `word`); None for "none" (every utterance is heard)."""
        word = word or cfg.wake.word
        profile = cfg.device_profile
        follow = cfg.wake.follow_up_s if cfg.wake.follow_up_s is not None else profile.follow_up_s
        common = {"events": profile.wake_events, "follow_up_s": follow, "listen_s": cfg.wake.listen_s}
        if word == "none":
            return None
        if word == "name":
            return cls(None, name=cfg.wake.name, log=log, **common)
        from voice.wake import MicroWakeWordDetector

        return cls(MicroWakeWordDetector(word), log=log, **common)

    @property
    def by_name(self) -> bool:
        return self.detector is None

    def reset(self) -> None:
        if self.detector is not None:
            self.detector.reset()
        self.open_until = -1.0
        self._pending.clear()

    def trigger(self, kind: str) -> None:
        """A device event (push_to_talk, tap): wakes Twin at the next frame, where the profile
        allows that event."""
        if kind not in self.events:
            allowed = ", ".join(self.events) or "only the wake word"
            raise BadInputError(
                f"this device profile does not wake on '{kind}'", f"this profile wakes on: {allowed}"
            )
        self._pending.append(kind)

    def hear(self, samples, position: float) -> bool:
        """Every frame, first of all: True when this frame woke Twin."""
        self.position = position
        woke = False
        if self.detector is not None and self.detector.detect(samples):
            woke = True
            self.log.add("wake", position, by=self.detector.descriptor.name)
        while self._pending:
            woke = True
            self.log.add("wake", position, by=self._pending.pop(0))
        if woke:
            self.open_until = position + self.listen_s
        return woke

    def is_open(self) -> bool:
        """A new utterance may begin now (just woken, or in the follow-up window)."""
        return self.position <= self.open_until

    def taken(self) -> None:
        """The utterance was taken: the gate closes until the next wake or follow-up."""
        self.open_until = -1.0

    def follow_up(self, playing_s: float = 0.0) -> None:
        """Twin has replied (its reply sounds `playing_s` more seconds): the user may answer
        without waking it again."""
        if self.follow_up_s > 0:
            self.open_until = self.position + playing_s + self.follow_up_s
            self.log.add("follow_up", self.position, until_s=round(self.open_until, 3))

    def addressed(self, text: str) -> str | None:
        """The spoken-name wake: the text without the name when it begins with it, else None."""
        assert self.name is not None
        said = words_of(text)
        if said != self.name and not said.startswith(self.name + " "):
            return None
        # cut the name and what follows it ("Twin, what time" -> "what time") from the original
        pattern = r"^\W*" + r"\W+".join(map(re.escape, self.name.split())) + r"[\s,.!?;:]*"
        rest = re.sub(pattern, "", text.strip(), count=1, flags=re.IGNORECASE)
        return rest[:1].upper() + rest[1:] if rest else ""
