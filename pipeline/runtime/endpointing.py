"""Endpointing: from audio frames (with the VAD's speech probability) to speech events and
utterances. A stage of the front end: AudioFrame in, SpeechStarted / SpeechPaused / SpeechResumed /
Utterance out (pipeline/events.py).

An utterance starts after a short run of speech frames and ends after the profile's silence window.
With a semantic end of turn (pipeline/runtime/turn_end.py) the window of each pause adapts to the
words so far: the front end says a verdict is coming (`expect_verdict`) and then gives the window the
words call for (`verdict`): short when the user is clearly done, long when they stopped mid-phrase.
The bound: while the verdict is pending the pause keeps the profile's own window, so a verdict that
comes after that window has passed finds the turn ended and changes nothing (a slow CPU never holds
a finished turn open); only a verdict that arrives in time may hold the pause, up to its window. A
verdict is for one pause of one utterance: after the user speaks on, or once the turn has ended, it is
dropped (its words are stale). Without a verdict every pause gets the profile's window, as before.
The true end of speech (last voiced frame) is kept apart from the moment the endpoint is decided, so
voice-to-voice latency counts the silence Twin waited for.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import numpy as np

from pipeline.events import AudioFrame, SpeechPaused, SpeechResumed, SpeechStarted, Utterance, now
from voice.audio import SAMPLE_RATE, AudioClip
from voice.vad import FRAME

FRAME_S = FRAME / SAMPLE_RATE


class Endpoint:
    """The end of the user's turn, possibly not decided yet. A turn started speculatively at a
    pause waits on it before releasing any reply; one started after the endpoint gets it decided."""

    def __init__(self, utterance: Utterance | None = None) -> None:
        self._event = asyncio.Event()
        self.utterance: Utterance | None = None
        self._listeners: list[Callable[[Utterance], None]] = []
        if utterance is not None:
            self.confirm(utterance)

    @property
    def confirmed(self) -> bool:
        return self.utterance is not None

    def on_confirm(self, callback: Callable[[Utterance], None]) -> None:
        if self.utterance is not None:
            callback(self.utterance)
        else:
            self._listeners.append(callback)

    def confirm(self, utterance: Utterance) -> None:
        self.utterance = utterance
        self._event.set()
        for callback in self._listeners:
            callback(utterance)
        self._listeners.clear()

    async def wait(self) -> Utterance:
        await self._event.wait()
        assert self.utterance is not None
        return self.utterance


class Endpointer:
    def __init__(
        self,
        silence_ms: int,
        threshold: float = 0.5,
        start_frames: int = 3,
        min_speech_ms: int = 200,
        preroll_ms: int = 300,
        tail_ms: int = 150,
        max_utterance_s: float = 30.0,
        pause_ms: int = 160,
    ) -> None:
        self.pause_frames = max(1, round(pause_ms / 1000 / FRAME_S))
        self.silence_frames = max(1, round(silence_ms / 1000 / FRAME_S))
        self._window = self.silence_frames  # this pause's window (the verdict on its words may change it)
        self.position = 0.0
        self.threshold = threshold
        self.neg_threshold = max(0.05, threshold - 0.15)
        self.start_frames = start_frames
        self.min_speech_frames = round(min_speech_ms / 1000 / FRAME_S)
        self.tail_frames = round(tail_ms / 1000 / FRAME_S)
        self.max_frames = round(max_utterance_s / FRAME_S)
        self._preroll: deque[np.ndarray] = deque(maxlen=round(preroll_ms / 1000 / FRAME_S))
        self._serial = 0
        self.reset()

    @property
    def in_speech(self) -> bool:
        """The user is speaking (an utterance is open)."""
        return self._in_speech

    @property
    def serial(self) -> int:
        """Which utterance is open (it changes at every reset): words heard of an earlier one are stale."""
        return self._serial

    @property
    def voiced(self) -> int:
        """Speech frames of the open utterance so far (what `SpeechPaused.voiced` counts)."""
        return self._voiced

    @property
    def silence(self) -> int:
        """Silent frames since the open utterance's last speech frame (0 while the user speaks)."""
        return self._silence

    def heard_so_far(self) -> np.ndarray:
        """Every frame of the open utterance so far, pre-roll included (empty when none is open):
        what a partial transcript re-decodes (pipeline/runtime/partials.py)."""
        if not self._in_speech or not self._frames:
            return np.zeros(0, np.float32)
        return np.concatenate(self._frames).astype(np.float32)

    def forget(self) -> None:
        """Reset and drop the pre-roll too: nothing heard before this moment reaches an utterance
        (a wake: sound before the wake word is never kept)."""
        self._preroll.clear()
        self.reset()

    def reset(self) -> None:
        self._frames: list[np.ndarray] = []
        self._in_speech = False
        self._run = 0
        self._silence = 0
        self._voiced = 0
        self._start_pos = 0.0
        self._last_voiced_pos = 0.0
        self._last_voiced_t = 0.0
        self._last_voiced_index = 0
        self._window = self.silence_frames
        self._serial += 1  # a new utterance: a verdict on an earlier one's words is stale
        self._pending: tuple[int, int] | None = None  # (utterance, voiced) of the pause awaiting a verdict
        self._end_now = False  # the device said the user is done: the next frame ends the utterance

    def end_now(self) -> None:
        """The device says the user has finished (push-to-talk released, a satellite stopped
        streaming): the next frame pushed ends the open utterance at once, whatever the silence so far
        and whatever verdict is pending; with no utterance open it changes nothing."""
        self._end_now = True

    @staticmethod
    def frames_for(ms: int) -> int:
        return max(1, round(ms / 1000 / FRAME_S))

    @property
    def window_ms(self) -> int:
        """The silence that ends the current pause (the profile's window unless a verdict set it)."""
        return round(self._window * FRAME_S * 1000)

    def _at_pause(self, voiced: int) -> bool:
        return self._in_speech and self._silence > 0 and self._voiced == voiced

    @property
    def awaiting_verdict(self) -> bool:
        """A verdict on the current pause's words has been announced and has not arrived."""
        return self._pending is not None

    def expect_verdict(self, voiced: int) -> bool:
        """A verdict on the words before this pause (after `voiced` speech frames) is coming. The
        pause keeps the profile's window meanwhile: if the silence reaches it first, the turn ends
        as it would without a verdict, and the verdict, when it comes, changes nothing."""
        if not self._at_pause(voiced):
            return False
        self._pending = (self._serial, voiced)
        return True

    def verdict(self, voiced: int, window_ms: int | None) -> bool:
        """The silence window for the pause after `voiced` speech frames (None: the profile's), in
        answer to `expect_verdict`. Ignored (False) unless that pause is still open and its verdict
        still awaited: the user has spoken since (a later pause gets its own verdict), or the turn has
        ended (the profile's window passed first, or this is another utterance's pause). A window
        the silence has already passed ends the turn at the next frame."""
        if self._pending != (self._serial, voiced) or not self._at_pause(voiced):
            return False
        self._pending = None
        self._window = self.silence_frames if window_ms is None else self.frames_for(window_ms)
        return True

    def push(self, audio: AudioFrame) -> SpeechStarted | SpeechPaused | SpeechResumed | Utterance | None:
        """Feed one frame; at most one event comes out."""
        prob, frame, position, arrival_t = audio.speech_prob, audio.samples, audio.position, audio.arrival_t
        self.position = position  # the stream time of the latest frame
        end_now, self._end_now = self._end_now, False
        if not self._in_speech:
            self._preroll.append(frame)
            self._run = self._run + 1 if prob >= self.threshold else 0
            if self._run >= self.start_frames:
                self._in_speech = True
                self._frames = list(self._preroll)
                self._start_pos = position - (len(self._frames) - 1) * FRAME_S
                self._voiced = self._run
                self._mark_voiced(position, arrival_t)
                self._preroll.clear()
                return SpeechStarted(position=self._start_pos)
            return None
        self._frames.append(frame)
        resumed = False
        if prob >= self.threshold:
            resumed = self.pause_frames < self.silence_frames and self._silence >= self.pause_frames
            self._silence = 0
            self._window = self.silence_frames  # a new pause waits for its own verdict
            self._pending = None  # the words judged at the last pause are no longer all the words
            self._voiced += 1
            self._mark_voiced(position, arrival_t)
        elif prob < self.neg_threshold or self._silence:
            self._silence += 1
        if end_now or self._silence >= self._window or len(self._frames) >= self.max_frames:
            return self._finish(position)
        if self._silence == self.pause_frames and self.pause_frames < self.silence_frames:
            return SpeechPaused(audio=AudioClip(self._speech_samples()), voiced=self._voiced)
        return SpeechResumed(position=position) if resumed else None

    def _speech_samples(self) -> np.ndarray:
        keep = min(len(self._frames), self._last_voiced_index + self.tail_frames)
        return np.concatenate(self._frames[:keep]).astype(np.float32) if keep else np.zeros(0, np.float32)

    def flush(self, position: float) -> Utterance | None:
        """End of input: close an open utterance as if the silence window had passed."""
        if not self._in_speech:
            return None
        return self._finish(position + (self.silence_frames - self._silence) * FRAME_S)

    def _mark_voiced(self, position: float, arrival_t: float | None) -> None:
        self._last_voiced_pos = position + FRAME_S
        self._last_voiced_t = arrival_t if arrival_t is not None else -1.0
        self._last_voiced_index = len(self._frames)

    def _finish(self, position: float) -> Utterance | None:
        t = now()
        samples = self._speech_samples()
        enough = self._voiced >= self.min_speech_frames
        hangover = max(0.0, position + FRAME_S - self._last_voiced_pos)
        speech_end_t = self._last_voiced_t if self._last_voiced_t >= 0 else t - hangover
        utt = Utterance(
            audio=AudioClip(samples),
            start=self._start_pos,
            end=self._last_voiced_pos,
            speech_end_t=speech_end_t,
            endpoint_t=t,
            voiced=self._voiced,
        )
        self.reset()
        return utt if enough else None
