"""Configuration, the data directory, and the model resolver's order and checks."""

from __future__ import annotations

import stat

import pytest

from models import MANIFEST, ModelResolver, get_spec
from models.errors import ModelChecksumError, ModelNotFoundError, UnknownModelError
from models.manifest import ModelSpec, PackageSource
from pipeline.config import ConfigError, ensure_data_dir, load_config


def test_defaults_and_profile(tmp_path):
    cfg = load_config(data_dir=tmp_path)
    assert cfg.profile == "speaker" and cfg.models.llm in MANIFEST
    assert cfg.models.dir == tmp_path / "models"
    assert cfg.device_profile.endpoint_silence_ms > 0


def test_file_env_and_flags_layer(tmp_path, monkeypatch):
    (tmp_path / "config.toml").write_text('profile = "car"\n[llm]\nthreads = 1\n')
    assert load_config(data_dir=tmp_path).profile == "car"
    monkeypatch.setenv("TWIN_LLM__THREADS", "2")
    assert load_config(data_dir=tmp_path).llm.threads == 2
    cfg = load_config(data_dir=tmp_path, overrides={"profile": "glasses"})
    assert cfg.profile == "glasses" and cfg.llm.threads == 2


def test_empty_language_means_detect(tmp_path):
    (tmp_path / "config.toml").write_text('[models]\nasr = "whisper-base"\n[asr]\nlanguage = ""\n')
    cfg = load_config(data_dir=tmp_path)
    assert cfg.asr.language is None and cfg.models.asr == "whisper-base"


def test_config_typo_names_the_key_and_suggests(tmp_path):
    (tmp_path / "config.toml").write_text("[llm]\ntemprature = 0.2\n")
    with pytest.raises(ConfigError) as err:
        load_config(data_dir=tmp_path)
    assert "llm.temprature" in err.value.message and "temperature" in err.value.hint


def test_bad_values_and_bad_toml(tmp_path, monkeypatch):
    (tmp_path / "config.toml").write_text('profile = "boat"\n')
    with pytest.raises(ConfigError) as err:
        load_config(data_dir=tmp_path)
    assert "profile" in err.value.message
    (tmp_path / "config.toml").write_text("profile = \n")
    with pytest.raises(ConfigError):
        load_config(data_dir=tmp_path)
    (tmp_path / "config.toml").unlink()
    monkeypatch.setenv("TWIN_MODELZ__LLM", "x")
    with pytest.raises(ConfigError) as err:
        load_config(data_dir=tmp_path)
    assert "models" in err.value.hint


def test_data_dir_is_private(tmp_path):
    d = ensure_data_dir(tmp_path / "twin")
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    d.chmod(0o755)
    ensure_data_dir(d)
    assert stat.S_IMODE(d.stat().st_mode) == 0o700


def test_unknown_model_suggests_a_name():
    with pytest.raises(UnknownModelError) as err:
        get_spec("whisper-tiny")
    assert "whisper-tiny.en" in err.value.hint


def test_package_models_resolve_and_verify(tmp_path):
    r = ModelResolver(user_model_dir=tmp_path, cache_dir=tmp_path / "cache").resolve("silero-vad-v6")
    assert r.source == "package" and r.verified and r.sha256 == MANIFEST["silero-vad-v6"].sha256


def test_user_dir_wins_over_package_and_is_verified(tmp_path):
    src = ModelResolver(cache_dir=tmp_path / "c").resolve("silero-vad-v6").path
    (tmp_path / "models").mkdir()
    mine = tmp_path / "models" / "silero-vad-v6.onnx"
    mine.write_bytes(src.read_bytes())
    r = ModelResolver(user_model_dir=tmp_path / "models", cache_dir=tmp_path / "c").resolve("silero-vad-v6")
    assert r.source == "user-dir" and r.path == mine
    mine.write_bytes(src.read_bytes()[:-10] + b"0123456789")  # corrupt copy
    with pytest.raises(ModelChecksumError) as err:
        ModelResolver(user_model_dir=tmp_path / "models", cache_dir=tmp_path / "c").resolve("silero-vad-v6")
    assert str(mine) in err.value.message


def test_explicit_path_first_and_missing_path_is_clear(tmp_path):
    with pytest.raises(ModelNotFoundError) as err:
        ModelResolver({"silero-vad-v6": str(tmp_path / "nope.onnx")}, cache_dir=tmp_path).resolve(
            "silero-vad-v6"
        )
    assert "nope.onnx" in err.value.message


def test_missing_model_says_where_it_looked_and_how_to_fix(tmp_path, monkeypatch):
    spec = ModelSpec(
        name="absent-model",
        role="vad",
        format="onnx",
        license="MIT",
        size_bytes=1,
        sha256="0" * 64,
        package=PackageSource("no_such_package_xyz", "m.onnx", "no-such-package-xyz==1.0"),
        hub=None,
    )
    monkeypatch.setitem(MANIFEST, "absent-model", spec)
    with pytest.raises(ModelNotFoundError) as err:
        ModelResolver(user_model_dir=tmp_path, cache_dir=tmp_path).resolve("absent-model")
    assert (
        "no-such-package-xyz" in err.value.message
        and "pip install no-such-package-xyz==1.0" in err.value.hint
    )


def test_split_gguf_join_detects_a_bad_part(tmp_path, monkeypatch):
    spec = MANIFEST["qwen2.5-0.5b-instruct-q4_k_m"]
    bad = ModelSpec(**{**spec.__dict__, "name": "qwen-bad-sum", "sha256": "f" * 64})
    monkeypatch.setitem(MANIFEST, "qwen-bad-sum", bad)
    with pytest.raises(ModelChecksumError):
        ModelResolver(cache_dir=tmp_path).resolve("qwen-bad-sum")
    assert not list((tmp_path / "models").glob("*"))  # no half-joined file left behind


def test_a_missing_companion_file_is_named(tmp_path):
    src = ModelResolver(cache_dir=tmp_path / "c").resolve("piper-en_US-joe-medium").path
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "piper-en_US-joe-medium.onnx").write_bytes(src.read_bytes())  # no .onnx.json
    with pytest.raises(ModelNotFoundError) as err:
        ModelResolver(user_model_dir=tmp_path / "models", cache_dir=tmp_path / "c").resolve(
            "piper-en_US-joe-medium"
        )
    assert "piper-en_US-joe-medium.onnx.json" in err.value.message
