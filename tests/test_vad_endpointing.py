"""VAD on labelled speech, and the endpointer's decisions on frame probabilities."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import fixture_path
from harness import names, run_stage

from pipeline.events import AudioFrame, SpeechPaused, Utterance
from pipeline.runtime.endpointing import FRAME_S, Endpointer
from voice.audio import load_audio
from voice.vad import FRAME, SileroVad


@pytest.fixture(scope="module")
def vad():
    from models import ModelResolver

    return SileroVad(ModelResolver().resolve("silero-vad-v6").path)


@pytest.mark.parametrize(("wav", "labels"), [("train.wav", "VAD_train.json"), ("valid.wav", "VAD_dev.json")])
def test_vad_finds_labelled_speech(vad, wav, labels):
    clip = load_audio(fixture_path(f"speechbrain_samples/VAD/{wav}"))
    annotation = json.loads(fixture_path(f"speechbrain_samples/annotation/{labels}").read_text())
    probs = vad.probabilities(clip.samples)
    frame_t = (np.arange(len(probs)) + 0.5) * FRAME / 16_000
    truth = np.zeros(len(probs), bool)
    scored = np.zeros(len(probs), bool)
    for window in annotation.values():
        off = window["wav"]["start"] / 16_000
        scored |= (frame_t >= off) & (frame_t < window["wav"]["stop"] / 16_000)
        bounds = [float(x) for x in window["speech"].split()]
        for a, b in zip(bounds[::2], bounds[1::2], strict=True):
            truth |= (frame_t >= off + a) & (frame_t < off + b)
    predicted = probs >= 0.5
    tp = np.sum(predicted & truth & scored)
    precision = tp / max(1, np.sum(predicted & scored))
    recall = tp / max(1, np.sum(truth & scored))
    print(f"\nVAD {wav}: frame precision {precision:.3f} recall {recall:.3f}")
    assert precision >= 0.85 and recall >= 0.85


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_vad_ignores_noise(vad, n):
    clip = load_audio(fixture_path(f"speechbrain_samples/noise/noise{n}.wav"))
    regions = vad.speech_regions(clip.samples)
    assert sum(r.end - r.start for r in regions) < 0.05 * clip.duration


def test_vad_frame_size_is_checked(vad):
    with pytest.raises(ValueError):
        vad.frame_probability(np.zeros(100, np.float32))


def _feed(ep: Endpointer, probs: list[float]):
    frames = (
        AudioFrame(samples=np.full(FRAME, i, np.float32), position=i * FRAME_S, speech_prob=p)
        for i, p in enumerate(probs)
    )
    return run_stage(ep, frames)


def test_endpointer_start_pause_end():
    ep = Endpointer(silence_ms=400, pause_ms=160)
    probs = [0.0] * 10 + [0.9] * 30 + [0.0] * 20
    events = _feed(ep, probs)
    assert names(events) == ["SpeechStarted", "SpeechPaused", "Utterance"]
    start_i, start = events[0]
    assert start_i == 12  # three speech frames are needed
    pause_i, pause = events[1]
    end_i, utt = events[2]
    assert end_i - 39 == ep.silence_frames  # the window counts from the last voiced frame
    assert utt.end == pytest.approx(40 * FRAME_S)
    assert utt.voiced == pause.voiced  # nothing said after the pause: the early ASR is reusable
    assert np.array_equal(utt.audio.samples, pause.audio.samples)
    # the true end is back-computed from audio time when frames are not paced
    assert utt.endpoint_t - utt.speech_end_t == pytest.approx((end_i + 1 - 40) * FRAME_S, abs=1e-6)


def test_endpointer_ignores_blips_and_merges_short_pauses():
    ep = Endpointer(silence_ms=400, min_speech_ms=200)
    assert _feed(ep, [0.0] * 5 + [0.9] * 2 + [0.0] * 30) == []  # 64 ms blip: never starts
    ep = Endpointer(silence_ms=400)
    blip = _feed(ep, [0.9] * 4 + [0.0] * 20)  # starts but too short to be an utterance
    assert names(blip) == ["SpeechStarted", "SpeechPaused"]
    ep = Endpointer(silence_ms=400)
    talk = _feed(ep, [0.9] * 20 + [0.0] * 8 + [0.9] * 20 + [0.0] * 20)  # 256 ms pause inside
    utterances = [r for _, r in talk if isinstance(r, Utterance)]
    assert len(utterances) == 1
    pauses = [r for _, r in talk if isinstance(r, SpeechPaused)]
    assert len(pauses) == 2 and pauses[0].voiced != utterances[0].voiced
    assert names(talk) == ["SpeechStarted", "SpeechPaused", "SpeechResumed", "SpeechPaused", "Utterance"]


def test_endpointer_flush_and_max_length():
    ep = Endpointer(silence_ms=400, max_utterance_s=1.0)
    out = _feed(ep, [0.9] * 60)
    assert any(isinstance(r, Utterance) for _, r in out)  # forced end after 1 s
    ep = Endpointer(silence_ms=400)
    _feed(ep, [0.9] * 20)
    utt = ep.flush(20 * FRAME_S)
    assert isinstance(utt, Utterance) and utt.end == pytest.approx(20 * FRAME_S)
