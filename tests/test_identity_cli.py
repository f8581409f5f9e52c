"""`twin enroll / speakers / who / persona` as a user runs them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import fixture_path
from tests.test_cli import _wav, twin

pytestmark = pytest.mark.models


def test_enroll_who_list_remove(tmp_path):
    data = tmp_path / "data"
    asr = "speechbrain_samples/ASR"
    clips = [str(fixture_path(f"{asr}/spk1_snt{n}.wav")) for n in (1, 2, 3)]
    r = twin("enroll", "Anna", *clips, "--json", data_dir=data)
    assert r.returncode == 0, r.stderr
    enrolled = json.loads(r.stdout)
    assert enrolled["name"] == "Anna" and enrolled["recordings"] == 3 and 0.55 < enrolled["threshold"] < 0.95

    r = twin("who", str(fixture_path(f"{asr}/spk1_snt5.wav")), "--json", data_dir=data)
    assert r.returncode == 0, r.stderr
    who = json.loads(r.stdout)
    assert who["speaker"] == "Anna" and who["score"] >= enrolled["threshold"]
    emotion = who["emotion"]
    assert set(emotion) == {"valence", "arousal", "label", "confidence"}
    assert -1 <= emotion["valence"] <= 1 and -1 <= emotion["arousal"] <= 1

    silence = _wav(tmp_path / "silence.wav", np.zeros(48_000))
    r = twin("enroll", "Ben", str(silence), str(fixture_path(f"{asr}/spk2_snt1.wav")), data_dir=data)
    assert r.returncode == 2 and "error [enrol_no_speech]" in r.stderr and "hint:" in r.stderr
    assert "Traceback" not in r.stderr

    (data / "speakers" / "broken.json").write_text("]]")
    r = twin("speakers", "list", "--json", data_dir=data)
    assert r.returncode == 0 and [p["name"] for p in json.loads(r.stdout)] == ["Anna"]
    assert "broken.json" in r.stderr

    r = twin("speakers", "remove", "anna", data_dir=data)
    assert r.returncode == 0 and not (data / "speakers" / "anna.json").exists()
    r = twin("speakers", "remove", "anna", data_dir=data)
    assert r.returncode == 2 and "speaker_unknown" in r.stderr


def test_persona_list_use_show(tmp_path):
    data = tmp_path / "data"
    r = twin("persona", "list", "--json", data_dir=data)
    names = {p["persona"] for p in json.loads(r.stdout)}
    assert {"twin", "calm", "brisk"} <= names
    assert twin("persona", "use", "calm", data_dir=data).returncode == 0
    assert 'persona = "calm"' in (data / "config.toml").read_text()
    shown = json.loads(twin("--profile", "car", "persona", "show", "--json", data_dir=data).stdout)
    assert shown["name"] == "Nora" and shown["max_sentences"] <= 2 and "driving" in shown["style_line"]
    r = twin("persona", "use", "nobody", data_dir=data)
    assert r.returncode == 2 and "persona_invalid" in r.stderr
    assert 'persona = "calm"' in (data / "config.toml").read_text()
