"""`twin enroll / speakers / who / persona` as a user runs them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import fixture_path

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
    assert enrolled["role"] == "owner"  # the first voice enrolled

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
    assert r.returncode == 0 and [(p["name"], p["role"]) for p in json.loads(r.stdout)] == [("Anna", "owner")]
    assert "broken.json" in r.stderr

    r = twin("speakers", "remove", "anna", data_dir=data)
    assert r.returncode == 0 and not (data / "speakers" / "anna.json").exists()
    r = twin("speakers", "remove", "anna", data_dir=data)
    assert r.returncode == 2 and "speaker_unknown" in r.stderr


def _old_profile(directory, name: str, created: float) -> None:
    """A profile file as written before household roles existed (no "role")."""
    directory.mkdir(parents=True, exist_ok=True)
    profile = {
        "name": name,
        "embeddings": [[1.0, 0.0, 0.0], [0.9, 0.1, 0.0]],
        "threshold": 0.8,
        "backend": "resemblyzer-ge2e",
        "created": created,
        "updated": created,
        "baseline": {},
        "version": 1,
    }
    (directory / f"{name.lower()}.json").write_text(json.dumps(profile))


def test_speaker_roles(tmp_path):
    data = tmp_path / "data"
    for name, created in (("Ben", 2000.0), ("Anna", 1000.0), ("Cara", 3000.0)):
        _old_profile(data / "speakers", name, created)

    def roles() -> dict[str, str]:
        listed = json.loads(twin("speakers", "list", "--json", data_dir=data).stdout)
        return {p["name"]: p["role"] for p in listed}

    assert roles() == {"Anna": "owner", "Ben": "adult", "Cara": "adult"}  # the first-created owns
    r = twin("speakers", "list", data_dir=data)
    assert r.returncode == 0 and "owner" in r.stdout.splitlines()[0] and "Anna" in r.stdout.splitlines()[0]

    r = twin("speakers", "role", "cara", "child", data_dir=data)
    assert r.returncode == 0 and "Cara is now a child" in r.stdout
    r = twin("speakers", "role", "Ben", "owner", data_dir=data)
    assert r.returncode == 2 and "speaker_owner_exists" in r.stderr and "--force" in r.stderr
    assert roles() == {"Anna": "owner", "Ben": "adult", "Cara": "child"}
    r = twin("speakers", "role", "Ben", "owner", "--force", "--json", data_dir=data)
    assert r.returncode == 0 and json.loads(r.stdout) == {"name": "Ben", "role": "owner", "demoted": ["Anna"]}
    assert roles() == {"Anna": "adult", "Ben": "owner", "Cara": "child"}
    r = twin("speakers", "role", "Zoe", "adult", data_dir=data)
    assert r.returncode == 2 and "speaker_unknown" in r.stderr
    r = twin("speakers", "role", "Ben", "king", data_dir=data)
    assert r.returncode == 2 and "invalid choice" in r.stderr
    # A second owner by enrolment is refused before any audio is read or model loaded.
    r = twin("enroll", "Dan", str(tmp_path / "not-read.wav"), "--role", "owner", data_dir=data)
    assert r.returncode == 2 and "speaker_owner_exists" in r.stderr and "Traceback" not in r.stderr
    assert "--role" in twin("enroll", "--help", data_dir=data).stdout


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
