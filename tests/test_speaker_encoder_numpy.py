"""Resemblyzer's encoder without torch in the Twin process: its mel front end in numpy and its network
in onnxruntime give Resemblyzer's own torch embedding on real speech; a fresh process that embeds a
clip never imports torch (or numba); the exported file is checked on load, and a damaged one is
rebuilt; a missing torch at export time is a typed error naming what to install.

This file imports torch itself (Resemblyzer's VoiceEncoder is the reference)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, fixture_path

pytestmark = pytest.mark.models

CLIPS = [f"speechbrain_samples/ASR/spk{s}_snt{n}.wav" for s in (1, 2) for n in (1, 2, 3, 4, 5, 6)]


def _clip(rel: str):
    from voice.audio import load_audio

    return load_audio(fixture_path(rel))


@pytest.fixture(scope="module")
def embedder():
    from voice.speakers import ResemblyzerEmbedder

    return ResemblyzerEmbedder()


@pytest.fixture(scope="module")
def reference():
    """Resemblyzer's own torch encoder, as the old ResemblyzerEmbedder ran it."""
    from resemblyzer import VoiceEncoder

    return VoiceEncoder("cpu", verbose=False)


def test_embedding_equals_resemblyzers_torch_embedding(embedder, reference):
    from resemblyzer import preprocess_wav

    for rel in CLIPS:
        clip = _clip(rel)
        ours = embedder.embed(clip)
        # Resemblyzer end to end: its preprocessing, its windows, its torch network.
        wav = preprocess_wav(clip.samples, source_sr=clip.sample_rate)
        vector, partials, _ = reference.embed_utterance(
            wav, return_partials=True, rate=2.5, min_coverage=0.75
        )
        assert ours.speech_seconds == len(wav) / 16_000, rel
        assert ours.partials.shape == partials.shape, rel
        assert float(ours.vector @ vector) >= 0.9999, rel
        assert np.max(np.abs(ours.vector - vector)) < 1e-5, rel
        assert np.max(np.abs(ours.partials - partials)) < 1e-5, rel


def test_mel_spectrogram_equals_resemblyzers(embedder):
    from resemblyzer import audio as ra

    from voice.speakers.resemblyzer_encoder import trim_speech

    for rel in CLIPS[:3]:
        wav = trim_speech(_clip(rel))
        theirs = ra.wav_to_mel_spectrogram(wav)
        ours = embedder.model.mel_spectrogram(wav)
        assert ours.shape == theirs.shape
        assert np.max(np.abs(ours - theirs)) <= 1e-5 * np.max(theirs)


def test_windows_equal_resemblyzers_partial_slices():
    from resemblyzer import VoiceEncoder

    from voice.speakers.ge2e import partial_slices

    for rate in (2.5, 1.3):
        for n in [*range(0, 90_000, 997), 25_600, 25_599, 32_000, 38_400]:
            _, theirs = VoiceEncoder.compute_partial_slices(n, rate=rate, min_coverage=0.75)
            assert partial_slices(n, rate=rate, min_coverage=0.75) == theirs, (rate, n)


def test_a_window_embeds_the_same_alone_or_in_any_batch(embedder):
    """The exported LSTM has a free batch size: no state leaks between windows of one batch."""
    from voice.speakers.resemblyzer_encoder import trim_speech

    wav = np.concatenate([trim_speech(_clip(rel)) for rel in CLIPS[:4]])
    mel = embedder.model.mel_spectrogram(wav)
    mels = np.stack([mel[i : i + 160] for i in range(0, len(mel) - 160, 40)][:9])
    batched = embedder.model.embed_windows(mels)
    for i in range(len(mels)):
        alone = embedder.model.embed_windows(mels[i : i + 1])[0]
        assert np.max(np.abs(alone - batched[i])) < 1e-5
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_a_fresh_process_embeds_without_torch(embedder):
    code = (
        "import json, sys\n"
        "from voice.audio import load_audio\n"
        "from voice.speakers import ResemblyzerEmbedder\n"
        f"e = ResemblyzerEmbedder().embed(load_audio({str(fixture_path(CLIPS[0]))!r}))\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'numba': 'numba' in sys.modules,\n"
        "                  'vector': [float(x) for x in e.vector]}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["torch"] is False
    assert out["numba"] is False
    expected = embedder.embed(_clip(CLIPS[0])).vector
    assert np.max(np.abs(np.array(out["vector"]) - expected)) < 1e-6


def _cached_file() -> Path:
    from models.resolver import default_cache_dir, sha256_file
    from voice.speakers.resemblyzer_encoder import resemblyzer_dir

    sha = sha256_file(resemblyzer_dir() / "pretrained.pt")
    return default_cache_dir() / "resemblyzer" / f"ge2e-{sha[:16]}.npz"


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


def test_a_damaged_file_is_refused_on_load(embedder, tmp_path):
    """Each kind of damage fails the load with a reason; the good file loads."""
    from models.resolver import sha256_file
    from voice.speakers.ge2e import Ge2eModel
    from voice.speakers.resemblyzer_encoder import resemblyzer_dir

    good = _cached_file()  # the embedder fixture made (or checked) it
    sha = sha256_file(resemblyzer_dir() / "pretrained.pt")
    Ge2eModel.load(good, sha)
    arrays = _arrays(good)
    graph = arrays["onnx"].copy()
    graph[len(graph) // 2 : len(graph) // 2 + 4096] ^= 0x5A  # inside the weights: loads, wrong numbers
    damaged = {
        "truncated": None,
        "other checkpoint": {**arrays, "source_sha256": np.array("0" * 64)},
        "mel filters' shape": {**arrays, "mel_basis": arrays["mel_basis"][:, :200]},
        "probe": {**arrays, "probe_out": arrays["probe_out"] + np.float32(0.01)},
        "graph bytes": {**arrays, "onnx": graph},
        "no graph": {k: v for k, v in arrays.items() if k != "onnx"},
    }
    for what, content in damaged.items():
        path = tmp_path / f"{what}.npz"
        if content is None:
            path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
        else:
            _save(path, content)
        with pytest.raises((ValueError, OSError, EOFError)):
            Ge2eModel.load(path, sha)


def test_a_damaged_cache_is_rebuilt_not_trusted(embedder, tmp_path, caplog):
    from voice.speakers.resemblyzer_encoder import ge2e_model

    target = tmp_path / "resemblyzer" / _cached_file().name
    target.parent.mkdir()
    arrays = _arrays(_cached_file())
    _save(target, {**arrays, "probe_out": arrays["probe_out"] * 0})
    with caplog.at_level("WARNING"):
        model = ge2e_model(tmp_path)  # exported again, in a subprocess
    assert "rebuilding the damaged speaker-encoder file" in caplog.text
    mels = arrays["probe_in"]
    assert np.max(np.abs(model.embed_windows(mels) - arrays["probe_out"])) < 1e-5
    assert np.array_equal(_arrays(target)["probe_out"], arrays["probe_out"])
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary file left


def test_a_missing_torch_at_export_is_a_typed_error(tmp_path, monkeypatch):
    from models.errors import ModelLoadError
    from voice.speakers.resemblyzer_encoder import convert_checkpoint, resemblyzer_dir

    fake = tmp_path / "shadow" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('torch is not installed here')\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(fake.parent), os.environ.get("PYTHONPATH", "")]))
    target = tmp_path / "cache" / "ge2e.npz"
    with pytest.raises(ModelLoadError) as err:
        convert_checkpoint(resemblyzer_dir() / "pretrained.pt", "0" * 64, target)
    assert "torch" in str(err.value)
    assert "pip install torch" in err.value.hint
    assert not target.exists()
