"""speechbrain on the CPU-only torch: it imports with the torchaudio that scripts/setup.sh installs
without its CUDA extension, and no CUDA package came with it; its speaker-verification metrics (EER,
minDCF) agree with a plain numpy computation on real cosine scores; its ECAPA speaker encoder loads
from a local folder without the network: always with random weights (the loading path), and with the
real spkrec-ecapa-voxceleb weights when they are on disk (skipped with the reason otherwise)."""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import fixture_path

from voice.speakers import ECAPA_FILES


def _utt_path(speaker: int, n: int) -> Path:
    return fixture_path(f"speechbrain_samples/ASR/spk{speaker}_snt{n}.wav")


def test_imports_on_cpu_torch_without_cuda_packages():
    import speechbrain
    import torch
    import torchaudio
    from speechbrain.inference.speaker import EncoderClassifier  # noqa: F401
    from speechbrain.utils.metric_stats import EER, minDCF  # noqa: F401

    assert speechbrain.__version__ == metadata.version("speechbrain")
    assert torch.version.cuda is None, f"torch {torch.__version__} is a CUDA build"
    cuda = sorted(
        d.metadata["Name"]
        for d in metadata.distributions()
        if (d.metadata["Name"] or "").lower().startswith(("nvidia-", "cuda-", "triton"))
    )
    assert not cuda, f"CUDA packages installed: {cuda}"
    # torchaudio's pure-torch code, which speechbrain calls (Fbank's mel filters, resampling), works.
    assert torchaudio.functional.melscale_fbanks(201, 0.0, 8000.0, 80, 16_000).shape == (201, 80)
    tone = torch.sin(2 * torch.pi * 440 * torch.arange(8000) / 8000).unsqueeze(0)
    up = torchaudio.transforms.Resample(8000, 16_000)(tone)
    assert up.shape == (1, 16_000)
    spectrum = torch.fft.rfft(up[0]).abs()
    assert int(spectrum.argmax()) == 440  # 1 Hz bins over one second at 16 kHz


# ---- EER / minDCF on real scores ----------------------------------------------------------------


def _rates(pos: np.ndarray, neg: np.ndarray):
    """False rejection and false acceptance at every distinct score used as threshold (accept when
    score > threshold): every operating point a threshold between the scores can reach."""
    thresholds = np.unique(np.concatenate([pos, neg]))
    frr = (pos[:, None] <= thresholds).mean(0)
    far = (neg[:, None] > thresholds).mean(0)
    return thresholds, frr, far


def _np_eer(pos, neg):
    thresholds, frr, far = _rates(pos, neg)
    i = int(np.argmin(np.abs(far - frr)))
    return (far[i] + frr[i]) / 2, thresholds[i]


def _np_min_dcf(pos, neg, c_miss=1.0, c_fa=1.0, p_target=0.01):
    thresholds, frr, far = _rates(pos, neg)
    cost = c_miss * frr * p_target + c_fa * far * (1 - p_target)
    i = int(np.argmin(cost))
    return cost[i], thresholds[i]


@pytest.fixture(scope="module")
def noisy_trials():
    """Cosine scores of every pair of the 12 fixture utterances (2 speakers x 6), each mixed with
    a fixture noise at 0 dB SNR so that genuine and impostor scores overlap: 30 genuine, 36 impostor
    trials, embedded with Twin's own speaker encoder (Resemblyzer, weights in its wheel)."""
    from voice.audio import AudioClip, load_audio
    from voice.speakers import ResemblyzerEmbedder

    embedder = ResemblyzerEmbedder()
    vectors = {}
    for speaker in (1, 2):
        for n in range(1, 7):
            clip = load_audio(_utt_path(speaker, n))
            noise, rate = sf.read(
                fixture_path(f"speechbrain_samples/noise/noise{1 + (n - 1) % 5}.wav"), dtype="float32"
            )
            assert rate == clip.sample_rate
            noise = np.resize(noise if noise.ndim == 1 else noise[:, 0], len(clip.samples))
            gain = np.sqrt(np.mean(clip.samples**2) / np.mean(noise**2))
            noisy = AudioClip((clip.samples + gain * noise).astype(np.float32), clip.sample_rate, "noisy")
            vectors[(speaker, n)] = embedder.embed(noisy).vector
    keys = sorted(vectors)
    pos, neg = [], []
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            (pos if a[0] == b[0] else neg).append(float(vectors[a] @ vectors[b]))
    return np.array(pos, np.float32), np.array(neg, np.float32)


@pytest.mark.models
def test_eer_and_min_dcf_match_numpy_on_real_scores(noisy_trials):
    import torch
    from speechbrain.utils.metric_stats import EER, minDCF

    pos, neg = noisy_trials
    assert (len(pos), len(neg)) == (30, 36)
    assert neg.max() > pos.min(), "the noisy trials should overlap, or the metrics test nothing"
    tp, tn = torch.from_numpy(pos), torch.from_numpy(neg)

    eer, eer_threshold = EER(tp, tn)
    ref_eer, ref_threshold = _np_eer(pos, neg)
    assert eer == pytest.approx(ref_eer, abs=1e-6)
    assert eer_threshold == pytest.approx(float(ref_threshold), abs=1e-6)
    # the encoder still tells the two voices apart far better than chance at 0 dB SNR
    assert 0.0 < eer < 0.3

    for c_miss, c_fa, p_target in ((1.0, 1.0, 0.01), (1.0, 1.0, 0.05), (10.0, 1.0, 0.01)):
        dcf, dcf_threshold = minDCF(tp, tn, c_miss=c_miss, c_fa=c_fa, p_target=p_target)
        ref_dcf, _ = _np_min_dcf(pos, neg, c_miss=c_miss, c_fa=c_fa, p_target=p_target)
        assert dcf == pytest.approx(ref_dcf, abs=1e-6), (c_miss, c_fa, p_target)
        # overlapping scores cost something; rejecting everyone costs c_miss * p_target
        assert 0.0 < dcf <= c_miss * p_target + 1e-6
        # the threshold it reports reaches that cost
        miss, fa = float((pos <= dcf_threshold).mean()), float((neg > dcf_threshold).mean())
        assert c_miss * miss * p_target + c_fa * fa * (1 - p_target) == pytest.approx(dcf, abs=1e-6)


def test_eer_and_min_dcf_on_separable_and_tied_scores():
    import torch
    from speechbrain.utils.metric_stats import EER, minDCF

    eer, threshold = EER(torch.tensor([0.9, 0.8, 0.7]), torch.tensor([0.2, 0.1, 0.3]))
    assert eer == 0.0 and 0.3 <= threshold < 0.7
    assert minDCF(torch.tensor([0.9, 0.8, 0.7]), torch.tensor([0.2, 0.1, 0.3]))[0] == 0.0
    # identical genuine and impostor scores: a coin toss
    same = torch.tensor([0.5, 0.5, 0.5, 0.5])
    assert EER(same, same)[0] == pytest.approx(0.5)


# ---- ECAPA from a local folder ----------------------------------------------------------------------

_TINY_ECAPA_YAML = """\
pretrained_path: speechbrain/spkrec-ecapa-voxceleb
n_mels: 80
compute_features: !new:speechbrain.lobes.features.Fbank
    n_mels: !ref <n_mels>
mean_var_norm: !new:speechbrain.processing.features.InputNormalization
    norm_type: sentence
    std_norm: False
embedding_model: !new:speechbrain.lobes.models.ECAPA_TDNN.ECAPA_TDNN
    input_size: !ref <n_mels>
    channels: [32, 32, 32, 32, 96]
    kernel_sizes: [5, 3, 3, 3, 1]
    dilations: [1, 2, 3, 4, 1]
    attention_channels: 16
    lin_neurons: {dim}
classifier: !new:speechbrain.lobes.models.ECAPA_TDNN.Classifier
    input_size: {dim}
    out_neurons: 2
mean_var_norm_emb: !new:speechbrain.processing.features.InputNormalization
    norm_type: global
    std_norm: False
modules:
    compute_features: !ref <compute_features>
    mean_var_norm: !ref <mean_var_norm>
    embedding_model: !ref <embedding_model>
    mean_var_norm_emb: !ref <mean_var_norm_emb>
    classifier: !ref <classifier>
label_encoder: !new:speechbrain.dataio.encoder.CategoricalEncoder
pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer
    loadables:
        embedding_model: !ref <embedding_model>
        mean_var_norm_emb: !ref <mean_var_norm_emb>
        classifier: !ref <classifier>
        label_encoder: !ref <label_encoder>
    paths:
        embedding_model: !ref <pretrained_path>/embedding_model.ckpt
        mean_var_norm_emb: !ref <pretrained_path>/mean_var_norm_emb.ckpt
        classifier: !ref <pretrained_path>/classifier.ckpt
        label_encoder: !ref <pretrained_path>/label_encoder.txt
"""


def _tiny_ecapa(model_dir: Path, dim: int = 24):
    """A folder laid out like speechbrain/spkrec-ecapa-voxceleb holding a tiny ECAPA-TDNN with
    random weights (`dim`-d embeddings). Answers the hyperparameters whose weights were written."""
    import torch
    from hyperpyyaml import load_hyperpyyaml
    from speechbrain.dataio.encoder import CategoricalEncoder

    model_dir.mkdir(parents=True)
    text = _TINY_ECAPA_YAML.format(dim=dim)
    (model_dir / "hyperparams.yaml").write_text(text)
    torch.manual_seed(0)
    hp = load_hyperpyyaml(text)
    torch.save(hp["embedding_model"].state_dict(), model_dir / "embedding_model.ckpt")
    torch.save(hp["classifier"].state_dict(), model_dir / "classifier.ckpt")
    norm = hp["mean_var_norm_emb"]
    norm.count, norm.glob_mean, norm.glob_std = 7, 0.1 * torch.randn(dim), torch.ones(dim)
    norm._save(model_dir / "mean_var_norm_emb.ckpt")
    labels = CategoricalEncoder()
    labels.update_from_iterable(["spk1", "spk2"])
    labels.save(model_dir / "label_encoder.txt")
    return hp


def _load_ecapa(model_dir: Path, savedir: Path):
    """Load an EncoderClassifier from a folder laid out like speechbrain/spkrec-ecapa-voxceleb. Its
    hyperparams.yaml names the hub repo as `pretrained_path`; overriding it keeps every checkpoint
    local, so nothing is fetched."""
    from speechbrain.inference.speaker import EncoderClassifier

    return EncoderClassifier.from_hparams(
        source=str(model_dir),
        savedir=str(savedir),
        overrides={"pretrained_path": str(model_dir)},
        run_opts={"device": "cpu"},
    )


def test_ecapa_loads_from_a_local_folder_offline(tmp_path, monkeypatch):
    """The loading path with random weights (no download): the checkpoints written here are the
    ones the classifier ends up with, and it embeds a real utterance."""
    import torch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model_dir = tmp_path / "tiny-ecapa"
    hp = _tiny_ecapa(model_dir)

    ecapa = _load_ecapa(model_dir, tmp_path / "saved")
    loaded = ecapa.mods.embedding_model.state_dict()
    for name, tensor in hp["embedding_model"].state_dict().items():
        assert torch.equal(loaded[name], tensor), name
    assert torch.equal(ecapa.mods.mean_var_norm_emb.glob_mean, hp["mean_var_norm_emb"].glob_mean)
    assert ecapa.hparams.label_encoder.decode_ndim(1) == "spk2"

    wav, rate = sf.read(_utt_path(1, 1), dtype="float32")
    assert rate == 16_000
    emb = ecapa.encode_batch(torch.from_numpy(wav).unsqueeze(0))
    assert emb.shape == (1, 1, 24) and torch.isfinite(emb).all()


# ---- EcapaEmbedder: Twin's second speaker encoder, behind the SpeakerEmbedder Protocol ------------


@pytest.fixture(scope="module")
def tiny_ecapa_dir(tmp_path_factory) -> Path:
    """A random ECAPA the size of the real one's output (192-d), in the spkrec-ecapa-voxceleb layout."""
    model_dir = tmp_path_factory.mktemp("ecapa") / "spkrec-ecapa-voxceleb"
    _tiny_ecapa(model_dir, dim=192)
    return model_dir


@pytest.fixture(scope="module")
def tiny_ecapa(tiny_ecapa_dir):
    from voice.speakers import EcapaEmbedder

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        return EcapaEmbedder(tiny_ecapa_dir)


def _utt(speaker: int, n: int):
    from voice.audio import load_audio

    return load_audio(_utt_path(speaker, n))


def test_ecapa_embedder_embeds_speech_and_finds_silence(tiny_ecapa):
    import torch

    from voice.audio import AudioClip
    from voice.speakers import ECAPA_BACKEND

    assert tiny_ecapa.descriptor.name == ECAPA_BACKEND and tiny_ecapa.descriptor.dim == 192
    assert torch.get_num_threads() == 1

    clip = _utt(1, 1)
    emb = tiny_ecapa.embed(clip)
    assert emb.vector.shape == (192,) and emb.vector.dtype == np.float32
    assert float(np.linalg.norm(emb.vector)) == pytest.approx(1.0, abs=1e-5)
    assert 1.0 < emb.speech_seconds <= len(clip.samples) / clip.sample_rate
    # 1.6 s windows every 0.4 s over the trimmed speech (plus one flush with the end)
    n = int(round(emb.speech_seconds * 16_000))
    full = (n - tiny_ecapa.WINDOW) // tiny_ecapa.HOP + 1
    assert emb.partials.shape[1] == 192 and full <= len(emb.partials) <= full + 1
    assert len(emb.partials) >= 4  # enough for two_voice_score
    assert np.allclose(np.linalg.norm(emb.partials, axis=1), 1.0, atol=1e-5)
    assert np.isfinite(emb.partials).all()

    # silence (and digital zero) hold no speech: a zero vector and no partials
    for samples in (np.zeros(3 * 16_000, np.float32), np.full(16_000, 1e-6, np.float32)):
        quiet = tiny_ecapa.embed(AudioClip(samples, 16_000, "silence"))
        assert quiet.speech_seconds == 0.0 and not np.any(quiet.vector)
        assert quiet.vector.shape == (192,) and quiet.partials.shape == (0, 192)
    # under a window of speech: one partial, the whole clip
    short = tiny_ecapa.embed(AudioClip(clip.samples[:16_000], 16_000, "short"))
    assert short.speech_seconds <= 1.0 and short.partials.shape == (1, 192)
    # another sample rate is resampled first
    at_8k = AudioClip(clip.samples[::2].copy(), 8_000, "8 kHz")
    assert tiny_ecapa.embed(at_8k).vector.shape == (192,)


def _profile_file(directory: Path, name: str, backend: str, dim: int) -> Path:
    import json

    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(name))
    vectors = rng.standard_normal((2, dim))
    path = directory / f"{name.lower()}.json"
    profile = {
        "name": name,
        "embeddings": (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).tolist(),
        "threshold": 0.8,
        "backend": backend,
        "created": 1000.0,
        "updated": 1000.0,
        "baseline": {},
        "version": 1,
        "role": "owner",
    }
    path.write_text(json.dumps(profile))
    return path


def test_registry_with_ecapa_enrols_loads_and_skips_other_backends(tmp_path, tiny_ecapa, caplog):
    from voice.capabilities import SpeakerMatch
    from voice.speakers import ECAPA_BACKEND, SpeakerRegistry

    directory = tmp_path / "speakers"
    # a profile enrolled with Resemblyzer (256-d vectors) before the switch to ECAPA
    old = _profile_file(directory, "Ben", "resemblyzer-ge2e", 256)
    reg = SpeakerRegistry(directory, tiny_ecapa)
    with caplog.at_level("WARNING", logger="voice.speakers"):
        assert reg.names() == []
    assert reg.skipped == [str(old)]
    warning = caplog.text
    assert "resemblyzer-ge2e" in warning and ECAPA_BACKEND in warning
    assert "re-enrol Ben" in warning and 'identity.embedder = "resemblyzer"' in warning

    profile = reg.enroll("Anna", [_utt(1, n) for n in (1, 2, 3)])
    assert profile.backend == ECAPA_BACKEND and profile.role == "owner"
    assert len(profile.embeddings) == 3 and all(len(e) == 192 for e in profile.embeddings)
    assert 0.55 <= profile.threshold <= 0.95

    fresh = SpeakerRegistry(directory, tiny_ecapa)  # from disk
    assert fresh.names() == ["Anna"] and fresh.skipped == [str(old)]
    assert np.allclose(fresh.get("Anna").centroid, profile.centroid, atol=1e-5)
    match = fresh.identify(_utt(1, 4))
    assert isinstance(match, SpeakerMatch) and match.name in ("Anna", "unknown")
    assert old.exists()  # kept, for switching back

    # and the other way round: back on Resemblyzer, the ECAPA profile is skipped, Ben is back
    class _Resemblyzer:
        from voice.speakers import EmbedderDescriptor

        descriptor = EmbedderDescriptor("resemblyzer-ge2e", 256)

        def embed(self, audio):  # pragma: no cover - loading profiles embeds nothing
            raise AssertionError

    caplog.clear()
    with caplog.at_level("WARNING", logger="voice.speakers"):
        back = SpeakerRegistry(directory, _Resemblyzer())
        assert back.names() == ["Ben"]
    assert back.skipped == [str(directory / "anna.json")]
    assert 'identity.embedder = "ecapa"' in caplog.text


def test_synthetic_voice_cache_is_kept_per_speaker_encoder(tmp_path):
    from voice.speakers import EmbedderDescriptor, SpeechEmbedding, twin_voice_references

    class _Tts:
        sample_rate = 16_000
        descriptor = EmbedderDescriptor("piper-test", 0)
        calls = 0

        def synthesize_all(self, text, prosody):
            _Tts.calls += 1
            return np.sin(np.arange(16_000) * 0.05).astype(np.float32)

    class _Embedder:
        def __init__(self, name: str, dim: int) -> None:
            self.descriptor = EmbedderDescriptor(name, dim)

        def embed(self, audio):
            v = np.ones(self.descriptor.dim, np.float32)
            return SpeechEmbedding(v, v[None], 1.0)

    cache = tmp_path / "cache"
    a = twin_voice_references(_Tts(), _Embedder("resemblyzer-ge2e", 256), cache)
    b = twin_voice_references(_Tts(), _Embedder("speechbrain-ecapa-voxceleb", 192), cache)
    assert {v.shape for v in a} == {(256,)} and {v.shape for v in b} == {(192,)}
    assert len(list(cache.glob("synthetic-*.npy"))) == 2
    calls = _Tts.calls
    again = twin_voice_references(_Tts(), _Embedder("speechbrain-ecapa-voxceleb", 192), cache)
    assert _Tts.calls == calls and len(again) == len(b)  # from the cache, in the right space


def test_components_with_ecapa_and_no_weights_gives_a_typed_error(tmp_path):
    from models.errors import ModelError
    from pipeline.config import load_config
    from pipeline.runtime.components import Components
    from voice.speakers import SpeakerModelMissingError

    cfg = load_config(data_dir=tmp_path / "data", overrides={"identity": {"embedder": "ecapa"}})
    assert cfg.identity.ecapa_path(cfg.data_path) == tmp_path / "data" / "models" / "spkrec-ecapa-voxceleb"
    with pytest.raises(SpeakerModelMissingError) as err:
        Components(cfg).speakers  # noqa: B018
    assert isinstance(err.value, ModelError) and err.value.code == "speaker_model_missing"
    text = err.value.user_message()
    assert all(name in text for name in ECAPA_FILES)
    assert "speechbrain/spkrec-ecapa-voxceleb" in err.value.hint
    assert 'identity.embedder = "resemblyzer"' in err.value.hint

    # an incomplete folder names only what is missing
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "hyperparams.yaml").write_text("x: 1\n")
    (partial / "embedding_model.ckpt").write_bytes(b"")
    cfg = load_config(
        data_dir=tmp_path / "data", overrides={"identity": {"embedder": "ecapa", "ecapa_dir": str(partial)}}
    )
    with pytest.raises(SpeakerModelMissingError) as err:
        Components(cfg).speakers  # noqa: B018
    assert str(partial) in err.value.message
    assert "mean_var_norm_emb.ckpt" in err.value.message and "hyperparams.yaml" not in err.value.message


def _ecapa_dir() -> Path:
    if os.environ.get("TWIN_ECAPA_DIR"):
        return Path(os.environ["TWIN_ECAPA_DIR"]).expanduser()
    from pipeline.config import default_data_dir

    data_dir = (
        Path(os.environ["TWIN_DATA_DIR"]).expanduser()
        if os.environ.get("TWIN_DATA_DIR")
        else default_data_dir()
    )
    return data_dir / "models" / "spkrec-ecapa-voxceleb"


@pytest.mark.models
def test_ecapa_weights_tell_the_fixture_speakers_apart(tmp_path, monkeypatch):
    """The real speechbrain/spkrec-ecapa-voxceleb weights, when on disk (they are not in any
    package; this machine cannot download them), through Twin's EcapaEmbedder and SpeakerRegistry."""
    import torch
    from speechbrain.utils.metric_stats import EER

    from voice.speakers import EcapaEmbedder, SpeakerRegistry, missing_ecapa_files

    model_dir = _ecapa_dir()
    missing = missing_ecapa_files(model_dir)
    if missing:
        pytest.skip(
            f"ECAPA weights not on disk: {model_dir} lacks {', '.join(missing)} (put the files of "
            "speechbrain/spkrec-ecapa-voxceleb there, or point TWIN_ECAPA_DIR at a folder holding them)"
        )
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = EcapaEmbedder(model_dir)
    assert embedder.descriptor.dim == 192
    embeddings = {(s, n): embedder.embed(_utt(s, n)) for s in (1, 2) for n in range(1, 7)}
    vectors = {k: e.vector for k, e in embeddings.items()}
    keys = sorted(vectors)
    pos, neg = [], []
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            (pos if a[0] == b[0] else neg).append(float(vectors[a] @ vectors[b]))
    assert np.mean(pos) > np.mean(neg) + 0.2
    eer, _ = EER(torch.tensor(pos), torch.tensor(neg))
    assert eer <= 0.1
    # enrol on utterances 1-3, identify 4-6
    reg = SpeakerRegistry(tmp_path / "speakers", embedder)
    reg.enroll("Anna", [_utt(1, n) for n in (1, 2, 3)])
    reg.enroll("Ben", [_utt(2, n) for n in (1, 2, 3)])
    for speaker, name in ((1, "Anna"), (2, "Ben")):
        for n in (4, 5, 6):
            match = reg.identify_embedding(embeddings[(speaker, n)])
            assert match.name == name, (speaker, n, match, reg.score_all(vectors[(speaker, n)]))
