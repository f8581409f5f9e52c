"""Configuration, the data directory, and the model resolver's order and checks."""

from __future__ import annotations

import os
import stat
import time

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


# -- issue 10: secrets in the environment, wrong shapes, private data, in-place corruption ---------


def test_documented_secret_variables_are_not_config_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN_SMTP_PASSWORD", "hunter2")
    monkeypatch.setenv("TWIN_SOMETHING_API_KEY", "sk-123")
    assert load_config(data_dir=tmp_path).tools.outbox.password_env == "TWIN_SMTP_PASSWORD"
    # a config file may name its own password variable, whatever its spelling
    (tmp_path / "config.toml").write_text('[tools.outbox]\npassword_env = "TWIN_MAILPW"\n')
    monkeypatch.setenv("TWIN_MAILPW", "hunter2")
    assert load_config(data_dir=tmp_path).tools.outbox.password_env == "TWIN_MAILPW"
    monkeypatch.setenv("TWIN_PROFIL", "car")  # a typo is still an error
    with pytest.raises(ConfigError) as err:
        load_config(data_dir=tmp_path)
    assert "profil" in err.value.message and "hunter2" not in err.value.user_message()


def test_a_setting_that_ends_like_a_secret_is_still_a_setting(tmp_path, monkeypatch):
    """TWIN_ASR__SECOND_PASS ends in "_PASS" but names `asr.second_pass`: it used to be skipped
    as a secret, silently; a secret-like name that is no setting still is."""
    monkeypatch.setenv("TWIN_ASR__SECOND_PASS", "whisper-base")
    monkeypatch.setenv("TWIN_HOME_WIFI_PASS", "hunter2")
    assert load_config(data_dir=tmp_path).asr.second_pass == "whisper-base"


@pytest.mark.parametrize(
    "env",
    [
        {"TWIN_LLM": "5"},
        {"TWIN_LLM": "5", "TWIN_LLM__THREADS": "2"},
        {"TWIN_LLM__THREADS": "2", "TWIN_LLM": "5"},
        {"TWIN_TRACE_TURNS": "5", "TWIN_TRACE_TURNS__X": "2"},
    ],
)
def test_env_value_of_the_wrong_shape_is_a_typed_error(tmp_path, monkeypatch, env):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError) as err:
        load_config(data_dir=tmp_path)
    assert err.value.hint


def test_a_directory_as_config_file_is_a_typed_error(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(config_file=tmp_path, data_dir=tmp_path / "d")
    assert "is a directory" in err.value.message and err.value.hint


def test_data_dir_contents_are_made_private(tmp_path):
    d = tmp_path / "twin"
    d.mkdir(mode=0o755)
    (d / "traces.jsonl").write_text("{}\n")
    (d / "traces.jsonl").chmod(0o644)
    (d / "replies").mkdir(mode=0o755)
    ensure_data_dir(d)
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert stat.S_IMODE((d / "traces.jsonl").stat().st_mode) == 0o600
    assert stat.S_IMODE((d / "replies").stat().st_mode) == 0o700


def _corrupted(data: bytes) -> bytes:
    mid = len(data) // 2
    return data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1 :]


def _corrupt_in_place(path, keep_mtime_ns: int, data: bytes | None = None) -> None:
    with open(path, "r+b") as fh:  # the same inode, the same size
        data = data if data is not None else _corrupted(fh.read())
        fh.seek(0)
        fh.write(data)
    os.utime(path, ns=(keep_mtime_ns, keep_mtime_ns))


def test_in_place_corruption_with_mtime_restored_is_caught(tmp_path):
    src = ModelResolver(cache_dir=tmp_path / "c").resolve("silero-vad-v6").path
    models = tmp_path / "models"
    models.mkdir()
    mine = models / "silero-vad-v6.onnx"
    mine.write_bytes(src.read_bytes())
    before = mine.stat()
    resolver = ModelResolver(user_model_dir=models, cache_dir=tmp_path / "c")
    assert resolver.resolve("silero-vad-v6").verified
    _corrupt_in_place(mine, before.st_mtime_ns)
    after = mine.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )
    with pytest.raises(ModelChecksumError):
        ModelResolver(user_model_dir=models, cache_dir=tmp_path / "c").resolve("silero-vad-v6")


def test_verification_cache_keys_on_ctime_and_still_saves_work(tmp_path, monkeypatch):
    import models.resolver as resolver_mod
    from models.resolver import VerificationCache, sha256_file

    f = tmp_path / "weights.bin"
    f.write_bytes(b"a" * 4096)
    hashed: list[str] = []
    monkeypatch.setattr(resolver_mod, "sha256_file", lambda p: hashed.append(str(p)) or sha256_file(p))
    # a clock well past the file's last change: the entry is trusted, so only ctime can tell
    cache = VerificationCache(tmp_path / "v.json", clock=lambda: time.time_ns() + 60 * 10**9)
    first = cache.sha256(f)
    assert cache.sha256(f) == first and len(hashed) == 1  # a stable file is hashed once
    cached_ctime = f.stat().st_ctime_ns
    mtime = f.stat().st_mtime_ns
    bad = _corrupted(f.read_bytes())
    deadline = time.monotonic() + 10
    while True:  # rewrite until the kernel's coarse clock has moved ctime on: no timing luck
        _corrupt_in_place(f, mtime, bad)
        if f.stat().st_ctime_ns != cached_ctime or time.monotonic() > deadline:
            break
    assert f.stat().st_ctime_ns != cached_ctime and f.stat().st_mtime_ns == mtime
    assert cache.sha256(f) != first and len(hashed) == 2


def test_a_file_hashed_just_after_a_change_is_never_trusted(tmp_path):
    from models.resolver import VerificationCache

    f = tmp_path / "weights.bin"
    f.write_bytes(b"a" * 4096)
    st = f.stat()
    cache = VerificationCache(tmp_path / "v.json")  # the real clock: the file changed a moment ago
    first = cache.sha256(f)
    _corrupt_in_place(f, st.st_mtime_ns)  # may land in the same ctime tick as the first write
    assert cache.sha256(f) != first
