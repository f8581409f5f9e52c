"""Real ASR and TTS on real recordings: word error rates, no phantom text, TTS round trip."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fixture_path, wer

from voice.audio import SAMPLE_RATE, AudioClip, load_audio

pytestmark = pytest.mark.models


def _command_clips(sub: str) -> list[tuple[str, AudioClip]]:
    folder = fixture_path(f"speech_to_phrase_en/wav{sub}")
    return [(p.stem, load_audio(p)) for p in sorted(folder.glob("*.wav")) if not p.stem.startswith("oov_")]


@pytest.mark.parametrize(("sub", "bound"), [("", 0.32), ("/generated", 0.1)])
@pytest.mark.parametrize("short_window", [True, False], ids=["15s-window", "30s-window"])
def test_command_word_error_rate(components, sub, bound, short_window):
    clips = _command_clips(sub)
    components.asr.short_window = short_window
    try:
        hyps = [components.asr.transcribe(c).text for _, c in clips]
    finally:
        components.asr.short_window = components.cfg.asr.short_window
    score = wer([r for r, _ in clips], hyps)
    window = "15 s" if short_window else "30 s"
    print(f"\nASR WER on speech_to_phrase_en/wav{sub} ({len(clips)} clips, {window} window): {score:.3f}")
    assert score <= bound


def test_speechbrain_sentences_word_error_rate(components):
    """Two real speakers reading Harvard-style sentences (labels for snt1-5; a few are sloppy)."""
    import json

    refs, hyps = [], []
    for name in ("ASR_train.json", "ASR_dev.json"):
        for item in json.loads(fixture_path(f"speechbrain_samples/annotation/{name}").read_text()).values():
            wav = fixture_path("speechbrain_samples/ASR/" + item["wav"].split("/")[-1])
            refs.append(item["words"])
            hyps.append(components.asr.transcribe(load_audio(wav)).text)
    score = wer(refs, hyps)
    print(f"\nASR WER on speechbrain_samples/ASR ({len(refs)} clips): {score:.3f}")
    assert score <= 0.3


def test_jfk_and_two_speakers(components):
    jfk = components.asr.transcribe(load_audio(fixture_path("faster_whisper_tests/jfk.flac"))).text
    ref = (
        "And so my fellow Americans, ask not what your country can do for you, "
        "ask what you can do for your country."
    )
    score = wer([ref], [jfk])
    print(f"\nASR WER jfk.flac: {score:.3f}")
    assert score <= 0.1
    import soundfile as sf

    stereo, rate = sf.read(fixture_path("faster_whisper_tests/stereo_diarization.wav"), dtype="float32")
    assert rate == SAMPLE_RATE
    right = components.asr.transcribe(AudioClip(stereo[:, 1].copy())).text
    assert wer(["The horizon seems extremely distant."], [right]) <= 0.34


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_noise_gives_no_phantom_text(components, n):
    clip = load_audio(fixture_path(f"speechbrain_samples/noise/noise{n}.wav"))
    assert components.asr.transcribe(clip).text == ""


def test_silence_and_hum_give_no_text(components):
    t = np.arange(SAMPLE_RATE * 3) / SAMPLE_RATE
    for samples in (
        np.zeros(SAMPLE_RATE * 3, np.float32),
        (0.1 * np.sin(2 * np.pi * 50 * t)).astype(np.float32),
    ):
        assert components.asr.transcribe(AudioClip(samples)).text == ""
        assert components.asr.transcribe(AudioClip(samples), vad_filter=False).text == ""


def test_out_of_vocabulary_clips_are_not_invented(components):
    """oov clips hold speech outside a command grammar: Twin must transcribe what was said (or
    nothing), never a command it did not hear."""
    for path in sorted(fixture_path("speech_to_phrase_en/wav").glob("oov_*.wav")):
        text = components.asr.transcribe(load_audio(path)).text.lower()
        assert not any(w in text for w in ("timer", "light", "door", "brightness")), (path.name, text)


def test_tts_round_trip(components):
    lines = [
        ln.strip()
        for ln in fixture_path("piper_test_sentences/en.txt").read_text().splitlines()
        if ln.strip()
    ]
    from voice.audio import resample

    hyps = []
    for line in lines[:6]:
        audio = components.tts.synthesize_all(line)
        assert audio.dtype == np.float32 and 0.05 < np.abs(audio).max() <= 1.0
        hyps.append(components.asr.transcribe(AudioClip(resample(audio, components.tts.sample_rate))).text)
    score = wer(lines[:6], hyps)
    print(f"\nTTS->ASR round-trip WER (piper joe -> whisper tiny.en): {score:.3f}")
    assert score <= 0.25


def test_tts_streams_one_chunk_per_sentence_and_rate_changes_duration(components):
    from voice.tts import Prosody

    chunks = list(components.tts.synthesize("The first sentence. And a second one! A third?"))
    assert len(chunks) == 3
    # Piper's duration noise off, so the two renderings differ only by their rate
    steady = Prosody(noise_scale=0.0, noise_w_scale=0.0)
    normal = components.tts.synthesize_all("Take your time, there is no hurry at all.", steady)
    slow = components.tts.synthesize_all(
        "Take your time, there is no hurry at all.",
        Prosody(length_scale=1.5, noise_scale=0.0, noise_w_scale=0.0),
    )
    assert 1.15 < len(slow) / len(normal) < 1.45
