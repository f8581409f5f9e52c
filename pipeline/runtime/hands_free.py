"""Hands-free rules of the front end: what wakes Twin, how long it stays awake, and what the user's
voice over Twin's own reply means (a backchannel, a false start, "stop", or a real interruption).

The wake gate stands before everything else that hears the microphone. While Twin is asleep a frame
reaches only the wake word detector: it is not endpointed, stored, transcribed or sent. A wake (the
wake word, or a device event the profile allows: a push-to-talk button, a tap) opens the gate for
`listen_s`. A rise of the wake word model's score that stays under its cutoff gets a second look:
the ASR, on the device, is asked how likely the last 2 s say the wake phrase (voice/wake.py); the
audio is dropped after that look, confirmed or not, and no text is made of it. The utterance
begun while the gate is open is taken, and the gate closes behind it. After Twin replies, a
follow-up window lets the user answer without the wake word.

The spoken-name wake ("Twin, what time is it") is the other way to wake: every utterance is
transcribed on the device, and one that does not begin with the name is dropped at once, with no
trace, history or memory of it.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from models.errors import BadInputError
from voice.audio import speech_level_db
from voice.capabilities import WakeWord

if TYPE_CHECKING:
    from pipeline.config import TwinConfig
    from voice.wake import SecondLook

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
        # thanks over the reply let it finish; Whisper also hears "Thank you." in noise and residue
        "thanks",
        "thank you",
        "thank you very much",
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


def is_lone_word(text: str) -> bool:
    """One word and nothing else ("that.", "Hmm?", "嗯"): over Twin's reply, too little to be a
    request. The canceller's residue of Twin's voice, at the user's level for a moment, is heard by
    Whisper as one stray word ("that.", not one of Twin's own) far more often than as a phrase; a
    user who means to interrupt says what they want ("wait, what about Paris?") or a stop word,
    which the front end checks first."""
    said = words_of(text).split()
    if len(said) != 1:
        return False
    word = said[0]
    return not any("\u3400" <= ch <= "\u9fff" for ch in word) or len(word) == 1


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


# Heard over Twin's reply, or begun within this long after it ended (the room's tail and the
# endpointer's onset), words that are mostly Twin's own are the canceller's residue, not the user.
AFTER_REPLY_S = 1.0
OWN_ECHO_SHARE = 0.7  # of the heard words, in runs of Twin's recent words (a single word: all of it)


def is_own_echo(text: str, said: str, at_end: bool = False) -> bool:
    """Whether `text` (what the microphone was heard to say over Twin) is Twin's own recent words
    `said` coming back: its words, in the same order, in runs of two or more (a lone heard word must
    be one of Twin's). A user who answers back shares a word or two, not the run of the sentence.
    With `at_end` (heard as a reply ended) the run must also reach the last words Twin said: its
    echo is the end of the reply, while a user taking up the offer ("yes, set a reminder") repeats
    words from its middle."""
    heard, own = words_of(text).split(), words_of(said).split()
    if not heard or not own:
        return False
    if len(heard) == 1:
        return heard[0] in (own[-2:] if at_end else own)
    blocks = [
        b
        for b in difflib.SequenceMatcher(None, heard, own, autojunk=False).get_matching_blocks()
        if b.size >= 2
    ]
    if at_end and (not blocks or blocks[-1].b + blocks[-1].size < len(own) - 1):
        return False
    return sum(b.size for b in blocks) / len(heard) >= OWN_ECHO_SHARE


# What Whisper is known to write for noise and near-silence (its training subtitles' endings):
# begun in a reply's echo tail, such a phrase is taken for the residue. A user's own "thank you"
# right after a reply goes unanswered: it changes nothing.
SILENCE_PHRASES = frozenset({"thank you", "thanks for watching", "thank you for watching", "you"})

# Heard over Twin (or in its echo tail), speech this far under the level of the user's last turn is
# not the user talking to Twin: the canceller's residue, which Whisper may still hear as words
# ("Thank you for your support."), or a voice across the room. Fixed a priori (15 dB: over five
# times quieter in amplitude), not tuned on a test set.
QUIETER_THAN_USER_DB = 15.0
ONSET_FRAMES = 6  # the last ~0.2 s of frames, whose level decides whether an onset over Twin pauses it


def too_quiet(samples: np.ndarray, user_db: float | None) -> bool:
    """Whether an utterance heard over Twin is far quieter than the user's last turn (no turn yet: no)."""
    return user_db is not None and speech_level_db(samples) < user_db - QUIETER_THAN_USER_DB


# The onset of a barge-in over Twin's reply (pipeline/runtime/front_end.py; `twin bench duplex` runs
# the same rule). A quiet residue of Twin's voice that opened an utterance used to keep the endpointer
# "in speech", so the user's own words, begun during it, only extended it and paused Twin late (the
# bench's slow tail); `too_quiet` was checked only once the utterance had begun. Applied to each
# frame of the onset instead, the residue opens nothing and the user's first syllables start the
# barge-in. `QUIETER_THAN_USER_DB` is the a priori constant above, not tuned.


# While playback settles. The bench's self-interruptions on its DEV split (`twin bench duplex`) came
# 0.5-0.65 s after a reply began to sound following a silence: AEC3 finds the echo path anew and, for
# a moment, passes much of the echo (frames keeping -2 to -9 dB, where its residue is ~25 dB down once
# settled), loud enough for the VAD and for the level gate. In the first `SETTLE_S` of playback an
# onset frame must therefore keep at least -`SETTLE_KEPT_DB` of its energy through the canceller, as
# a user's voice does in most frames (DEV talk-overs: median -2 dB at a moderate echo, -4 dB at a
# loud one). Chosen on DEV among windows of 0.5/0.75/1 s and gates of 3/6/8/10 dB (0.5 s and 10 dB
# left both DEV events; 0.75 s and 8 dB, at DEV's edges, were passed over for a margin). The cost: a
# user who talks over a reply's first second may be paused later (bench with `--at 0.5`, TEST: p50
# 108 -> 140 ms; README, "Echo cancellation and full duplex").
SETTLE_S = 1.0
SETTLE_KEPT_DB = 6.0


@dataclass(frozen=True)
class BargeInOnset:
    """How a barge-in begins while Twin is playing: `start_frames` voiced frames in a row, each (once
    the user has had a turn) no more than `quieter_db` under the level of that turn and, with
    `kept_db`, each keeping at least -`kept_db` of its energy through the echo canceller (a user's
    voice passes it within a few dB even under a loud echo; Twin's residue is 20-50 dB down). In the
    first `settle_s` of playback (the canceller finding the echo path anew), each must keep at least
    -`settle_kept_db`."""

    start_frames: int = 3  # the endpointer's own start rule
    kept_db: float | None = None
    quieter_db: float | None = QUIETER_THAN_USER_DB
    settle_s: float | None = SETTLE_S
    settle_kept_db: float = SETTLE_KEPT_DB

    def prob(
        self,
        prob: float,
        kept_db: float | None,
        samples: np.ndarray | None = None,
        user_db: float | None = None,
        playing_s: float | None = None,
    ) -> float:
        """The speech probability a frame counts with towards the onset (`kept_db`: the echo stage's
        measure of the frame, None while Twin is silent; `user_db`: the level of the user's last
        turn, None before the first; `playing_s`: the echo stage's time since the playback began to
        sound, None while Twin is silent)."""
        if kept_db is not None:
            if self.kept_db is not None and kept_db < -self.kept_db:
                return 0.0
            settling = self.settle_s is not None and playing_s is not None and playing_s < self.settle_s
            if settling and kept_db < -self.settle_kept_db:
                return 0.0
        quiet = self.quieter_db is not None and user_db is not None and samples is not None
        if quiet and speech_level_db(samples) < user_db - self.quieter_db:  # type: ignore[operator]
            return 0.0
        return prob


# A faster onset, chosen on the DEV split of `twin bench duplex` (2 frames, each keeping >= -10 dB
# through the canceller): on the TEST split it paused sooner (p50 112 -> 80 ms) but on Twin's own echo
# twice as often (4 -> 8 events), so it is not the default (README, "Echo cancellation and full duplex").
FAST_ONSET = BargeInOnset(start_frames=2, kept_db=10.0, settle_s=None)
# The default onset before the settling gate (the bench's `aec_prev`, for the before/after).
PREVIOUS_ONSET = BargeInOnset(settle_s=None)


def not_for_twin(
    text: str, voiced_s: float, samples: np.ndarray, said: str, user_db: float | None, after_reply: bool
) -> str | None:
    """Why an utterance heard over Twin's reply (or, `after_reply`, begun in its echo tail) is not a
    turn, or None when it is one. Over the reply: nothing heard, a backchannel or a false start
    let the reply play on. In both: Twin's own words coming back, or speech far quieter than the
    user's last turn. Over the reply, also a lone word (a stop word is checked before this). After the
    reply a short "yes" is an answer, so only the last two apply."""
    if not text:
        return "false start"
    if after_reply and words_of(text) in SILENCE_PHRASES:
        return "own voice"  # what Whisper writes for residue and noise, said in the echo tail
    if not after_reply:
        if is_backchannel(text):
            return "backchannel"
        if voiced_s < FALSE_START_S:
            return "false start"
        if is_lone_word(text):
            return "one word"
    if is_own_echo(text, said, at_end=after_reply):
        return "own voice"
    if too_quiet(samples, user_db):
        return "too quiet"
    return None


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
        second_look: SecondLook | None = None,
    ) -> None:
        if detector is None and not name:
            raise ValueError("a wake gate needs a wake word detector or a name")
        self.detector = detector
        self.second = second_look if detector is not None else None
        self.unsure: np.ndarray | None = None  # audio to look at again (`look_again`), or None
        self._looked_at = -1e9  # where the last wake by a second look was
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
        from voice.wake import MicroWakeWordDetector, SecondLook

        w, detector = cfg.wake, MicroWakeWordDetector(word)
        rest_s = detector.refractory_s  # a confirmed look rests as long as a detection
        look = SecondLook(w.look_from, w.confirm_at, refractory_s=rest_s) if w.second_look else None
        return cls(detector, log=log, second_look=look, **common)

    @property
    def by_name(self) -> bool:
        return self.detector is None

    def reset(self) -> None:
        if self.detector is not None:
            self.detector.reset()
        self.open_until = -1.0
        self._pending.clear()
        self.unsure = None
        self._looked_at = -1e9
        if self.second is not None:
            self.second.reset()

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
        # (not again for the utterance a second look just confirmed: its score may rise later)
        fired = self.detector is not None and self.detector.detect(samples)
        if fired and position - self._looked_at > self.second_look_rest_s:
            woke = True
            self.log.add("wake", position, by=self.detector.descriptor.name)
        if self.second is not None and self.detector is not None:
            d = self.detector
            look = self.second.push(samples, d.peak, fired or d.resting)
            if look is not None:
                self.unsure = look
        while self._pending:
            woke = True
            self.log.add("wake", position, by=self._pending.pop(0))
        if woke:
            self.open_until = position + self.listen_s
        return woke

    async def look_again(self, run: Callable[..., Awaitable[tuple[bool, float]]]) -> bool:
        """The second look at `unsure` (the ASR on its worker: `run(fn, *args)`): True when it
        confirms the wake word, which then wakes Twin as a detection does. The audio is dropped
        either way."""
        assert self.second is not None and self.detector is not None and self.unsure is not None
        audio, self.unsure = self.unsure, None
        try:
            yes, p = await run(self.second.confirms, audio, self.detector.phrase)
        except Exception as exc:  # the ASR failed: the model's cutoff alone decides, and we go on
            self.log.add("second_look_failed", self.position, error=f"{type(exc).__name__}: {exc}"[:200])
            return False
        if not yes:
            return False  # nothing of it is kept
        self.log.add("wake", self.position, by=self.detector.descriptor.name, second_look=round(p, 4))
        self._looked_at = self.position
        self.open_until = self.position + self.listen_s
        return True

    @property
    def second_look_rest_s(self) -> float:
        """After a second look's wake, the detector's own fire is the same utterance this long:
        its refractory time."""
        return self.second.rest_s if self.second is not None else 0.0

    @property
    def replays(self) -> int:
        """After a second look confirms: how many frames before this one came after the wake word's
        peak (they were heard by the detector alone, and the front end hears them again)."""
        return self.second.after_frames if self.second is not None else 0

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
        # "Twin's timer ..." speaks of Twin (or of twins), not to it
        name = r"\W+".join(map(re.escape, self.name.split()))
        said_as = unicodedata.normalize("NFKC", text.strip())
        if re.match(r"^\W*" + name + r"['\u2019]\w", said_as, re.IGNORECASE):
            return None
        # cut the name and what follows it ("Twin, what time" -> "what time") from the original
        rest = re.sub(r"^\W*" + name + r"[\s,.!?;:]*", "", text.strip(), count=1, flags=re.IGNORECASE)
        # "Twin. Twin. Twin.": the name over and over asks nothing (a song; "Twinkle, twinkle" heard
        # through the name-led prompt, `[wake] name_in_prompt`)
        again = words_of(rest)
        if again == self.name or again.startswith(self.name + " "):
            return None
        return rest[:1].upper() + rest[1:] if rest else ""
