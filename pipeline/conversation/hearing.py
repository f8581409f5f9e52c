"""Hearing: from the voice of one utterance to who spoke (a typed identity) and how this turn should
be answered (its style). The voice is heard on its own worker beside ASR; the transcript finishes
the estimate. A failure here costs the turn only the hint: the reply goes on in the default style.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from persona.style import StylePolicy, TurnStyle
from pipeline.config import TwinConfig
from voice.audio import SAMPLE_RATE, AudioClip
from voice.capabilities import EmotionEstimate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpeakerIdentity:
    """Who spoke, as far as the voice tells. No magic strings: `name` is an enrolled person or None,
    and `enrolled` says whether this device knows any voices at all. So three cases:
    nobody enrolled (a personal device: its user), an enrolled person, or a guest (voices are
    enrolled and this is none of them)."""

    name: str | None = None
    enrolled: bool = False

    @property
    def guest(self) -> bool:
        return self.enrolled and self.name is None

    @property
    def scope(self) -> str | None:
        """Memory's speaker scope: the name; "unknown" for a guest; None for a device's only user."""
        if self.name:
            return self.name
        return "unknown" if self.enrolled else None


NOBODY_ENROLLED = SpeakerIdentity()


@dataclass(frozen=True)
class HeardVoice:
    identity: SpeakerIdentity = NOBODY_ENROLLED
    style: TurnStyle | None = None  # None: the voice was not heard (identity and emotion off)
    emotion: EmotionEstimate | None = None
    voices: int = 1  # voices heard lately (others may be listening)
    # the pitch movement at the utterance's end (semitones; None: not measured): a spoken question
    final_rise_st: float | None = None
    # the utterance's voice embedding (voice.capabilities.SpeechEmbedding), for adapt(); None: not heard
    embedding: Any = None


class Hearing:
    def __init__(self, cfg: TwinConfig, components: Any, style: StylePolicy) -> None:
        self.cfg = cfg
        self.c = components
        self.style = style
        # Who has spoken lately: where others may listen, nothing private is said aloud.
        self.presence = None
        if cfg.device_profile.others_may_listen and cfg.identity.speakers:
            from voice.listener import PresenceTracker

            self.presence = PresenceTracker(registry=self.c.speakers)

    def warm_up(self) -> None:
        """Before the first turn: hear a second of a voiced hum (150 Hz, four "syllables"), so the
        first voice turn does not pay for what the voice path loads on its first real speech
        (scipy.signal for the syllable count: ~0.5-1.1 s of the first command on 2 cores). Nothing
        is kept of it."""
        ident = self.cfg.identity
        if ident.speakers or ident.emotion:
            t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
            hum = 0.1 * np.sin(2 * np.pi * 150 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
            self.c.listener.hear(AudioClip(hum.astype(np.float32)))

    def start(self, audio: AudioClip) -> asyncio.Future | None:
        """Speaker and prosody of `audio`, on the identity worker beside ASR."""
        ident = self.cfg.identity
        if not (ident.speakers or ident.emotion):
            return None
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self.c.pools.identity, self.c.listener.hear, audio)

    def expected_style(self) -> TurnStyle | None:
        """The style the next turn most likely gets before its voice is heard: no emotion (a
        neutral voice), the voices present lately. None when no voice is heard (`start` is None):
        what a prompt prefilled ahead of the turn is built with (pipeline/runtime/prefill.py)."""
        ident = self.cfg.identity
        if not (ident.speakers or ident.emotion):
            return None
        return self.style.for_turn(None, self._voices())

    def _voices(self, heard: int = 1) -> int:
        """Voices present: those heard lately where others may listen, at least `heard`."""
        if self.presence is None:
            return heard
        return max(self.presence.voices_present(time.monotonic()), heard)

    async def conclude(
        self, pending: asyncio.Future | None, text: str, language: str, notify: Callable[[str, str], Any]
    ) -> HeardVoice:
        if pending is None:
            return HeardVoice()
        try:
            signals = await pending
            emotion = self.c.listener.conclude(signals, text, language)
        except Exception as exc:  # identity is a hint, never a reason to fail a turn
            notify("voice_signals_failed", str(exc)[:200])
            return HeardVoice()
        voices = 1
        if self.presence is not None:
            self.presence.observe_signals(signals, time.monotonic())
            voices = self._voices(signals.voices)
        name = signals.speaker.name
        known = name != "unknown"
        identity = SpeakerIdentity(name if known else None, known or bool(self.c.speakers.names()))
        rise = getattr(signals.features, "final_rise_st", math.nan)
        rise = float(rise) if math.isfinite(rise) else None
        style = self.style.for_turn(emotion, voices)
        return HeardVoice(identity, style, emotion, voices, rise, signals.embedding)

    def adapt(self, heard: HeardVoice, audio: AudioClip) -> None:
        """Once the turn is completed (its reply done): let the named speaker's profile learn from this turn,
        on the identity worker, if it passes every guard (SpeakerRegistry.adapt_from_turn: the
        strict check included). The session never calls it for a turn begun over Twin's playback or
        in its echo tail. Never fails a turn: a failure is only logged."""
        name = heard.identity.name
        ident = self.cfg.identity
        if not (name and heard.embedding is not None and ident.speakers and ident.adapt):
            return
        registry = self.c.speakers
        # A thread future, not the loop's: it may finish after a one-turn command's loop has closed.
        job = self.c.pools.identity.submit(registry.adapt_from_turn, name, heard.embedding, audio)

        def done(f: concurrent.futures.Future) -> None:
            if f.cancelled():
                return
            if (exc := f.exception()) is not None:
                log.warning("learning %s's voice from a turn failed: %s", name, exc)
            elif f.result().added:
                log.info("learned from a confirmed turn of %s's: %s", name, f.result().to_json())

        job.add_done_callback(done)
