"""Emotion: prosody features follow the speech, text valence follows the words, and the fused
estimate is a hint with a confidence."""

from __future__ import annotations

import numpy as np
import pytest

SENTENCE = "I was wondering whether you could help me plan the trip for next weekend."


@pytest.fixture(scope="module")
def say(components):
    from voice.audio import SAMPLE_RATE, AudioClip, resample
    from voice.tts import Prosody

    def make(text: str, length_scale: float = 1.0) -> AudioClip:
        p = Prosody(length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0)
        audio = components.tts.synthesize_all(text, p)
        return AudioClip(resample(audio, components.tts.sample_rate, SAMPLE_RATE), SAMPLE_RATE, text)

    return make


def _shift_pitch(clip, median_hz: float):
    import parselmouth
    from parselmouth.praat import call

    from voice.audio import AudioClip

    snd = parselmouth.Sound(clip.samples.astype(np.float64), clip.sample_rate)
    out = call(snd, "Change gender", 75, 600, 1.0, median_hz, 1.0, 1.0)
    return AudioClip(out.values[0].astype(np.float32), clip.sample_rate)


@pytest.mark.models
def test_rate_and_pitch_move_the_features(say):
    from voice.emotion import prosody_features

    fast = prosody_features(say(SENTENCE, 0.7), SENTENCE)
    normal = prosody_features(say(SENTENCE, 1.0), SENTENCE)
    slow = prosody_features(say(SENTENCE, 1.4), SENTENCE)
    assert fast.rate_sps > normal.rate_sps > slow.rate_sps
    assert slow.speech_seconds > fast.speech_seconds * 1.3
    assert abs(fast.f0_median_st - slow.f0_median_st) < 1.5  # rate alone leaves the pitch
    clip = say(SENTENCE)
    high = prosody_features(_shift_pitch(clip, 180), SENTENCE)
    mid = prosody_features(_shift_pitch(clip, 120), SENTENCE)
    assert high.f0_median_st > mid.f0_median_st + 4  # 120 -> 180 Hz is ~7 semitones
    assert high.f0_median_st > normal.f0_median_st + 6
    # without a transcript, the rate comes from intensity peaks and still orders fast over slow
    assert prosody_features(say(SENTENCE, 0.7)).rate_sps > prosody_features(say(SENTENCE, 1.4)).rate_sps


@pytest.mark.models
def test_arousal_is_relative_to_the_speakers_baseline(say):
    from voice.emotion import ProsodyEmotionEstimator, baseline_from, prosody_features

    clip = say(SENTENCE)
    usual = baseline_from([prosody_features(say(SENTENCE, s), SENTENCE) for s in (0.95, 1.0, 1.05)])
    est = ProsodyEmotionEstimator({"Sam": usual})
    excited = _shift_pitch(say(SENTENCE, 0.75), 150)
    assert est.estimate(excited, SENTENCE, "Sam").arousal > est.estimate(clip, SENTENCE, "Sam").arousal + 0.3
    slow = say(SENTENCE, 1.5)
    assert est.estimate(slow, SENTENCE, "Sam").arousal < est.estimate(clip, SENTENCE, "Sam").arousal - 0.2


def test_text_valence_on_own_sentences():
    from voice.emotion import text_valence

    assert text_valence("This is wonderful news, thank you so much!") > 0.5
    assert text_valence("I feel awful, everything went wrong today.") < -0.4
    assert abs(text_valence("Set a timer for ten minutes.")) < 0.2
    assert text_valence("Il fait beau aujourd'hui", "fr") is None  # no lexicon for French


def test_chinese_feelings_from_the_words():
    import math

    from voice.emotion import ProsodyEmotionEstimator, ProsodyFeatures, syllable_count, text_valence

    assert text_valence("我今天很开心", "zh") > 0.5
    assert text_valence("我好难过，什么都不想做", "zh") < -0.5
    assert text_valence("我不开心", "zh") < 0  # negation turns it around
    assert text_valence("我不累", "zh") > 0
    assert text_valence("帮我设一个十分钟的计时器", "zh") == 0.0
    assert syllable_count("我今天很开心") == 6 and syllable_count("hello 你好") == 4
    flat = ProsodyFeatures(math.nan, math.nan, math.nan, math.nan, math.nan, 2.0)  # no prosody hint
    est = ProsodyEmotionEstimator()
    for text, label in [
        ("我很担心明天的考试", "anxious"),
        ("我累死了", "tired"),
        ("这太让人生气了", "angry"),
        ("我一个人好孤单", "sad"),
        ("太好了，我好开心", "happy"),
        ("我不累，也不担心", "neutral"),
        ("帮我设一个十分钟的计时器", "neutral"),
    ]:
        assert est.estimate_from(flat, text, None, "zh").label == label, text


@pytest.mark.models
@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("This is wonderful, thank you so much!", "happy"),
        ("I'm so worried about the results tomorrow.", "anxious"),
        ("I'm really tired today.", "tired"),
        ("This is useless, I hate it.", "angry"),
        ("My dog died and I feel so sad.", "sad"),
        ("Set a timer for ten minutes.", "neutral"),
    ],
)
def test_fused_labels(say, text, label):
    from voice.emotion import ProsodyEmotionEstimator

    e = ProsodyEmotionEstimator().estimate(say(text), text, None)
    assert e.label == label, e
    assert -1 <= e.valence <= 1 and -1 <= e.arousal <= 1 and 0 < e.confidence <= 0.95


def test_user_model_hook_is_fused():
    """A fake user model (unit test of the fusion only) moves the estimate toward its label."""
    from voice.emotion import ProsodyEmotionEstimator, ProsodyFeatures

    class FakeAngryModel:
        def predict(self, audio):
            return {"angry": 0.9, "neutral": 0.1}

    features = ProsodyFeatures(0.0, 2.5, 60.0, 5.5, 0.15, 2.0)
    plain = ProsodyEmotionEstimator().estimate_from(features, "Okay.", None)
    fused = ProsodyEmotionEstimator(model=FakeAngryModel()).estimate_from(
        features, "Okay.", None, model_probs=FakeAngryModel().predict(None)
    )
    assert plain.label == "neutral" and fused.label == "angry" and fused.valence < plain.valence


def test_missing_user_model_is_a_clear_error(tmp_path):
    from models.errors import ModelLoadError
    from voice.emotion import load_emotion_model

    with pytest.raises(ModelLoadError) as err:
        load_emotion_model(tmp_path / "nothing.onnx")
    assert err.value.hint


def test_silence_and_noise_give_no_hint():
    from voice.audio import AudioClip
    from voice.emotion import ProsodyEmotionEstimator, prosody_features

    rng = np.random.default_rng(0)
    for samples in (np.zeros(32_000, np.float32), (1e-3 * rng.standard_normal(32_000)).astype(np.float32)):
        features = prosody_features(AudioClip(samples))
        assert features.speech_seconds == 0.0
        e = ProsodyEmotionEstimator().estimate_from(features, "", None)
        assert e.label == "neutral" and e.confidence == 0.0
