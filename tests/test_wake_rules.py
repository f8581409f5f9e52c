"""The hands-free rules on their own (no models): what counts as a backchannel or a stop, the
spoken-name wake, the gate's windows, and the endpointer forgetting what came before a wake."""

from __future__ import annotations

import numpy as np
import pytest

from models.errors import BadInputError
from pipeline.events import AudioFrame, SpeechStarted
from pipeline.runtime.endpointing import FRAME_S, Endpointer
from pipeline.runtime.hands_free import (
    WakeGate,
    is_backchannel,
    is_own_echo,
    is_stop,
    not_for_twin,
    too_quiet,
)
from voice.audio import speech_level_db
from voice.vad import FRAME


@pytest.mark.parametrize("text", ["Mm-hm.", "Yeah.", "okay", "Right!", "嗯", "对。", "yeah yeah", "Uh-huh."])
def test_backchannels(text):
    assert is_backchannel(text)


@pytest.mark.parametrize(
    "text", ["", "Yeah, but what about Paris?", "Okay, set a timer", "stop", "对不起我想问"]
)
def test_not_backchannels(text):
    assert not is_backchannel(text)


def test_stop_words():
    words = ["stop", "stop it", "be quiet"]
    assert is_stop("Stop.", words) and is_stop("Stop it!", words) and is_stop("be quiet", words)
    assert not is_stop("Stop the timer in the kitchen", words) and not is_stop("", words)


def test_the_spoken_name():
    gate = WakeGate(None, name="Twin")
    assert gate.addressed("Twin, what time is it?") == "What time is it?"
    assert gate.addressed("twin what's the date") == "What's the date"
    assert gate.addressed("What time is it, Twin?") is None
    assert gate.addressed("Twinkle twinkle little star") is None
    assert gate.addressed("") is None


def test_the_gate_opens_on_a_wake_and_for_the_follow_up():
    gate = WakeGate(None, name="Twin", events=("tap",), follow_up_s=5.0, listen_s=6.0)
    assert not gate.hear(np.zeros(FRAME, np.float32), 1.0) and not gate.is_open()
    gate.trigger("tap")
    assert gate.hear(np.zeros(FRAME, np.float32), 2.0) and gate.is_open()
    assert gate.log.events == [{"event": "wake", "position_s": 2.0, "by": "tap"}]
    gate.hear(np.zeros(FRAME, np.float32), 8.5)
    assert not gate.is_open()  # nothing began within listen_s
    gate.follow_up(playing_s=3.0)  # the reply still sounds for 3 s: the window runs from its end
    gate.hear(np.zeros(FRAME, np.float32), 16.0)
    assert gate.is_open()
    gate.taken()
    assert not gate.is_open()
    with pytest.raises(BadInputError) as err:
        gate.trigger("push_to_talk")
    assert "tap" in err.value.hint


def _utterance_after(forget: bool) -> np.ndarray:
    ep = Endpointer(silence_ms=400)
    for i in range(5):  # quiet frames (speech_prob 0) fill the pre-roll
        ep.push(AudioFrame(samples=np.full(FRAME, 7.0, np.float32), position=i * FRAME_S))
    if forget:
        ep.forget()
    events = [
        ep.push(AudioFrame(samples=np.zeros(FRAME, np.float32), position=i * FRAME_S, speech_prob=0.9))
        for i in range(5, 20)
    ]
    assert any(isinstance(e, SpeechStarted) for e in events)
    utt = ep.flush(20 * FRAME_S)
    assert utt is not None
    return utt.audio.samples


def test_forget_drops_the_sound_before_a_wake():
    """Sound just before the wake must not reach the next utterance through the pre-roll."""
    assert np.any(_utterance_after(forget=False) == 7.0)  # the pre-roll would have kept it
    assert not np.any(_utterance_after(forget=True) == 7.0)


# -- what is heard over Twin's own reply: its echo, or the user ----------------------------------------

SAID = "I can't check the weather from here, and I won't guess. I can set a reminder for you to check it."


@pytest.mark.parametrize("heard", ["the weather from here", "Weather.", "I can set a reminder", "check it."])
def test_twins_own_words_coming_back_are_its_echo(heard):
    assert is_own_echo(heard, SAID)


@pytest.mark.parametrize(
    "heard", ["No, I want the weather in Paris", "Thank you for your support.", "Stop.", "what time is it"]
)
def test_the_users_own_words_are_not_echo(heard):
    assert not is_own_echo(heard, SAID)


def test_after_the_reply_only_its_last_words_are_echo():
    """A user taking up Twin's offer repeats words from its middle; the echo tail is its end."""
    assert is_own_echo("to check it", SAID, at_end=True)
    assert not is_own_echo("Yes, set a reminder", SAID, at_end=True)
    assert is_own_echo("Yes, set a reminder", SAID)  # over the reply it would be the echo
    assert not is_own_echo("Weather.", SAID, at_end=True)
    assert not is_own_echo("anything", "")


def _speech(dbfs: float, seconds: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(7)
    x = rng.standard_normal(int(16000 * seconds)).astype(np.float32)
    return (x * 10 ** (dbfs / 20)).astype(np.float32)


def test_speech_far_quieter_than_the_users_last_turn_is_not_a_turn():
    assert speech_level_db(_speech(-26.0)) == pytest.approx(-26.0, abs=0.5)
    assert too_quiet(_speech(-45.0), user_db=-26.0)
    assert not too_quiet(_speech(-35.0), user_db=-26.0)
    assert not too_quiet(_speech(-60.0), user_db=None)  # no turn yet: nothing to compare with


def test_what_is_not_a_turn_over_the_reply_and_after_it():
    loud, quiet = _speech(-26.0), _speech(-50.0)
    assert not_for_twin("", 1.0, loud, SAID, -26.0, after_reply=False) == "false start"
    assert not_for_twin("Mm-hm.", 1.0, loud, SAID, -26.0, after_reply=False) == "backchannel"
    assert not_for_twin("What about Paris", 0.3, loud, SAID, -26.0, after_reply=False) == "false start"
    assert not_for_twin("set a reminder for you", 1.0, loud, SAID, -26.0, False) == "own voice"
    assert not_for_twin("Thank you for your support.", 1.0, quiet, SAID, -26.0, False) == "too quiet"
    assert not_for_twin("What about Paris", 1.0, loud, SAID, -26.0, after_reply=False) is None
    # a lone stray word over the reply (the residue heard as "that.") lets it play on; two words do not
    assert not_for_twin("that.", 0.7, loud, SAID, -26.0, after_reply=False) == "one word"
    assert not_for_twin("巴黎", 0.7, loud, SAID, -26.0, after_reply=False) is None
    assert not_for_twin("No, Paris", 0.7, loud, SAID, -26.0, after_reply=False) is None
    # after the reply a short "yes" is an answer, not a backchannel
    assert not_for_twin("Yes.", 0.3, loud, SAID, -26.0, after_reply=True) is None
    # ... but Whisper's "Thank you." for residue and noise, in the echo tail, is taken for the echo
    assert not_for_twin("Thank you.", 0.6, loud, SAID, -26.0, after_reply=True) == "own voice"
    assert not_for_twin("Thank you, set a timer", 1.2, loud, SAID, -26.0, after_reply=True) is None
    assert not_for_twin("Yes.", 0.3, quiet, SAID, -26.0, after_reply=True) == "too quiet"
