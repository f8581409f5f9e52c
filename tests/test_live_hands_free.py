"""Hands-free on real audio through the live front end: a recording is the microphone (`twin live
--input`), the wake word is said by a voice other than Twin's own (espeak-ng), and the requests and the
speech that must not be heard are real recordings from the fixtures."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import espeak_samples as espeak
from conftest import fixture_path

from voice.audio import SAMPLE_RATE, load_audio, write_wav

pytestmark = pytest.mark.models

PHRASES = "speech_to_phrase_en/wav"


def real(name: str) -> np.ndarray:
    return load_audio(fixture_path(f"{PHRASES}/{name}.wav")).samples


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), np.float32)


def recording(folder: Path, *parts: np.ndarray) -> Path:
    path = folder / "mic.wav"
    write_wav(path, np.concatenate([silence(0.5), *parts]), SAMPLE_RATE)
    return path


def args_for(path: Path, output: Path | None = None, realtime: bool = False, events=()) -> argparse.Namespace:
    return argparse.Namespace(input=path, realtime=realtime, output=output, json=True, event=list(events))


def run_file(cfg, components, path: Path, wake: str, **kw):
    from pipeline.cli.talk import live_file
    from pipeline.runtime.hands_free import WakeGate
    from pipeline.runtime.session import Twin

    twin = Twin(cfg, components)
    gate = WakeGate.from_config(cfg, wake)
    report = live_file(twin, args_for(path, **kw), gate)
    json.dumps(report)  # the report is JSON as printed by --json
    return twin, report


def test_only_the_request_after_the_wake_word_is_heard(cfg, components, tmp_path):
    """Speech before the wake word is never transcribed, kept or answered; the request after it is."""
    before, wake = real("set a timer for 5 minutes"), espeak("okay nabu", tmp_path)
    mic = recording(
        tmp_path,
        before,  # before the wake word: must go nowhere
        silence(1.0),
        wake,
        silence(0.4),
        real("what's the date"),
        silence(1.0),
    )
    out = tmp_path / "twin.wav"
    twin, report = run_file(cfg, components, mic, "okay_nabu", output=out)
    print("\n", json.dumps(report, indent=1)[:1500])
    assert [t["status"] for t in report["turns"]] == ["completed"]
    said = report["turns"][0]["transcript"].lower()
    assert "date" in said and "timer" not in said
    assert [e["event"] for e in report["events"]][:1] == ["wake"]
    wake_at = report["events"][0]["position_s"]
    wake_end = 0.5 + (len(before) + len(wake)) / SAMPLE_RATE + 1.0
    assert wake_end - 0.8 < wake_at < wake_end + 0.4  # at the wake word's end, before the request
    # nothing of the speech before the wake word was kept anywhere
    assert all("timer" not in m["content"].lower() for m in twin.dialogue)
    twin.c.pools.memory.submit(lambda: None).result()  # the trace is written on the memory thread
    traces = (cfg.data_path / "traces.jsonl").read_text()
    assert "set a timer for 5" not in traces.lower()
    # the output is what Twin played, on the input's timeline: silent until the reply begins
    played = load_audio(out)
    assert played.duration >= report["duration_s"] - 0.1
    first_sound = np.flatnonzero(np.abs(played.samples) > 0.01)[0] / SAMPLE_RATE
    assert first_sound > wake_at


def test_a_wake_word_the_model_was_unsure_of_wakes_twin_after_a_second_look(cfg, components, tmp_path):
    """In this voice the wake word model peaks under its cutoff (0.69 against 0.85) for "okay
    nabu", and under it too for the near miss "okay, now": the second look (the session's Whisper,
    asked how likely the audio says "Okay Nabu") wakes Twin for the first and not the second. The
    request begins 0.15 s after the wake word, before the look is taken: the frames the detector
    alone heard meanwhile are heard again, so its first word is not lost."""
    from voice.wake import MicroWakeWordDetector

    near = espeak("okay, now", tmp_path, "en-us+f3", 150)
    wake = espeak("okay nabu", tmp_path, "en-gb-x-gbclan+f2", 150)
    detector = MicroWakeWordDetector("okay_nabu")
    for said in (near, wake):  # the model alone would not wake on either
        detector.reset()
        stream = np.concatenate([said, silence(1.0)])
        usable = len(stream) // 512 * 512
        assert not any(detector.detect(f) for f in stream[:usable].reshape(-1, 512))
    mic = recording(tmp_path, near, silence(1.5), wake, silence(0.15), real("what's the date"), silence(1.5))
    twin, report = run_file(cfg, components, mic, "okay_nabu")
    print("\n", json.dumps(report, indent=1)[:1500])
    wakes = [e for e in report["events"] if e["event"] == "wake"]
    assert len(wakes) == 1 and wakes[0]["second_look"] >= cfg.wake.confirm_at
    wake_end = 0.5 + (len(near) + len(wake)) / SAMPLE_RATE + 1.5
    assert wake_end - 0.5 < wakes[0]["position_s"] < wake_end + 0.8
    assert [t["status"] for t in report["turns"]] == ["completed"]
    assert report["turns"][0]["transcript"].lower().startswith("what")
    # the request's audio begins where it was said, not where the look was taken (frames heard again)
    heard = [p for p in report["partials"] if p["at_pause"] and p["text"]][-1]
    request_at = wake_end + 0.15
    assert heard["position_s"] - heard["audio_s"] <= request_at + 0.05 < wakes[0]["position_s"]


def test_without_the_second_look_that_wake_word_goes_unheard(cfg, components, tmp_path):
    """The same wake word with `wake.second_look = false`: the model's cutoff alone, nothing heard."""
    wake = espeak("okay nabu", tmp_path, "en-gb-x-gbclan+f2", 150)
    mic = recording(tmp_path, wake, silence(0.4), real("what's the date"), silence(1.5))
    plain = cfg.model_copy(update={"wake": cfg.wake.model_copy(update={"second_look": False})})
    _, report = run_file(plain, components, mic, "okay_nabu")
    assert report["turns"] == [] and not any(e["event"] == "wake" for e in report["events"])


def test_follow_up_needs_no_wake_word_until_the_window_closes(cfg, components, tmp_path):
    mic = recording(
        tmp_path,
        espeak("okay nabu", tmp_path),
        silence(0.4),
        real("what's the date"),
        silence(2.0),  # inside the follow-up window (5 s on the speaker, after the reply)
        real("set Bed Light brightness to 50 percent"),
        silence(20.0),  # the reply and the window after it are over
        real("cancel all timers"),
        silence(1.0),
    )
    # Half duplex: without --realtime a reply is taken as played at once, so a user who answers
    # 2 s later would be talking over it, which the echo canceller's double-talk handling is not for.
    half = cfg.model_copy(update={"barge_in": False})
    twin, report = run_file(half, components, mic, "okay_nabu")
    heard = [t["transcript"].lower() for t in report["turns"]]
    print("\n", heard, [e["event"] for e in report["events"]])
    assert len(heard) == 2 and "date" in heard[0] and "brightness" in heard[1]
    assert [e["event"] for e in report["events"]].count("follow_up") == 2


def test_push_to_talk_wakes_the_car_but_a_tap_does_not(cfg, components, tmp_path):
    from models.errors import BadInputError

    car = cfg.model_copy(update={"profile": "car"})
    first = real("lock the Front Door")  # no wake: not heard
    mic = recording(tmp_path, first, silence(1.5), real("what's the date"), silence(1.0))
    start_of_second = 0.5 + len(first) / SAMPLE_RATE + 1.0
    _, report = run_file(car, components, mic, "okay_nabu", events=[f"push_to_talk@{start_of_second:.2f}"])
    assert len(report["turns"]) == 1 and "date" in report["turns"][0]["transcript"].lower()
    assert report["events"][0] == {
        "event": "wake",
        "position_s": pytest.approx(start_of_second, abs=0.05),
        "by": "push_to_talk",
    }
    with pytest.raises(BadInputError) as err:
        run_file(car, components, mic, "okay_nabu", events=["tap@1.0"])
    assert "push_to_talk" in err.value.hint


def test_without_a_wake_nothing_is_heard(cfg, components, tmp_path):
    mic = recording(
        tmp_path, real("lock the Front Door"), silence(1.0), real("cancel all timers"), silence(1.0)
    )
    twin, report = run_file(cfg, components, mic, "hey_jarvis")
    assert report["turns"] == [] and report["events"] == []
    assert twin.dialogue == []


# Requests at 160 words a minute in which tiny.en writes the name as another word or drops it for
# some of these espeak-ng voices ("When what is the date today?"; which ones differs by CPU)
NAME_MISSED = [
    ("Twin, what time is it?", "en-us+m3", "time"),
    ("Twin, what is the date today?", "en-gb-scotland", "date"),
    ("Twin, what is the date today?", "en-us+m3", "date"),
    ("Twin, what is the date today?", "en-gb-x-rp", "date"),
]


def test_a_name_the_words_missed_is_heard_again_when_asked(cfg, components, tmp_path, monkeypatch):
    """`wake.hear_name_again`: at 160 words a minute tiny.en writes "When what is the date today?" or
    "win what ..." for some espeak-ng voices (measured: python -m bench.name_wake); read again with
    the name in front, the audio supports it and the request is Twin's. Off (the default), the words
    alone decide and nothing of those is kept."""
    monkeypatch.setattr(components.asr, "vocabulary", None)
    heard_again = 0
    for text, voice, word in NAME_MISSED:
        mic = recording(tmp_path, silence(0.5), espeak(text, tmp_path, voice, 160), silence(1.5))
        runs = {}
        for again in (True, False):
            wake = cfg.wake.model_copy(update={"hear_name_again": again})
            half = cfg.model_copy(update={"barge_in": False, "wake": wake})
            runs[again] = run_file(half, components, mic, "name")
        (_, on), (twin_off, off) = runs[True], runs[False]
        woke = on["events"][0]
        assert woke["event"] == "wake", (voice, on["events"])  # by its words or heard again
        said = on["turns"][0]["transcript"].lower()
        assert word in said and not said.startswith("twin"), (voice, said)
        if "heard_again" in woke:
            heard_again += 1
            assert not woke["heard_again"].lower().startswith("twin") and woke["below"] >= -1.0
            # the words alone: not addressed, and nothing of it kept
            assert [e["event"] for e in off["events"]] == ["not_addressed"] and off["turns"] == []
            assert twin_off.dialogue == []
        else:
            assert off["turns"][0]["transcript"] == on["turns"][0]["transcript"]
    # espeak-ng and tiny.en are deterministic on one CPU: at least one rendering must be heard
    # again, else this test proves nothing (measured on one CPU: three of the four)
    assert heard_again >= 1


def test_the_name_leading_the_prompt_wakes_more_and_is_put_away_after(cfg, components, tmp_path, monkeypatch):
    """`wake.name_in_prompt`: while the spoken-name wake listens, "Twin." leads Whisper's prompt, and
    requests whose name tiny.en dropped or misspelled unprompted are woken (measured: python -m
    bench.name_wake --prompt); speech not for Twin is still not addressed, and the prompt is the
    household's own again once the loop ends."""
    monkeypatch.setattr(components.asr, "vocabulary", None)
    woken = {True: 0, False: 0}
    for text, voice, word in NAME_MISSED:
        mic = recording(tmp_path, silence(0.5), espeak(text, tmp_path, voice, 160), silence(1.5))
        for lead in (True, False):
            wake = cfg.wake.model_copy(update={"name_in_prompt": lead, "hear_name_again": False})
            twin, report = run_file(
                cfg.model_copy(update={"barge_in": False, "wake": wake}), components, mic, "name"
            )
            assert twin.asr_lead == ""  # put away when the loop ended
            assert not hasattr(components.asr, "prompt_lead")  # never on the shared model
            if report["events"][0]["event"] == "wake":
                woken[lead] += 1
                assert word in report["turns"][0]["transcript"].lower(), (voice, lead, report["turns"])
            else:
                assert report["turns"] == [], (voice, lead, report["turns"])
    assert woken[True] > woken[False], woken
    # a household's words still not addressed to Twin
    mic = recording(tmp_path, real("lock the Front Door"), silence(1.5))
    wake = cfg.wake.model_copy(update={"name_in_prompt": True})
    twin, report = run_file(cfg.model_copy(update={"barge_in": False, "wake": wake}), components, mic, "name")
    assert [e["event"] for e in report["events"]] == ["not_addressed"] and twin.dialogue == []


def test_the_spoken_name_wakes_it_and_other_speech_leaves_no_trace(cfg, components, tmp_path, monkeypatch):
    from voice.vocabulary import VocabularyPrompt

    # a household of its own: the list items, contacts and names other tests stored in the session's
    # data directory bias Whisper's reading (with them, "Twin, what is the date today?" was once
    # heard without its "Twin")
    monkeypatch.setattr(components.asr, "vocabulary", VocabularyPrompt(tmp_path / "household"))
    mic = recording(
        tmp_path,
        real("lock the Front Door"),  # not addressed to Twin: transcribed on the device, then dropped
        silence(1.5),
        # tiny.en hears the name in this voice at 120-150 words a minute; in espeak-ng's default
        # (en-us, 150) it wrote "win what is ..." on one CPU (python -m bench.name_wake measures)
        espeak("Twin, what is the date today?", tmp_path, "en-gb-x-rp", 140),
        silence(1.5),
    )
    half = cfg.model_copy(update={"barge_in": False})
    twin, report = run_file(half, components, mic, "name")
    print("\n", report["turns"], report["events"])
    assert len(report["turns"]) == 1
    said = report["turns"][0]["transcript"]
    assert "date" in said.lower() and not said.lower().startswith("twin")
    assert [e["event"] for e in report["events"]] == ["not_addressed", "wake", "follow_up"]
    assert report["events"][1]["by"] == "name"
    assert all("door" not in m["content"].lower() for m in twin.dialogue)
