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

from tests.conftest import fixture_path

ECAPA_FILES = (
    "hyperparams.yaml",
    "embedding_model.ckpt",
    "mean_var_norm_emb.ckpt",
    "classifier.ckpt",
    "label_encoder.txt",
)


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
    lin_neurons: 24
classifier: !new:speechbrain.lobes.models.ECAPA_TDNN.Classifier
    input_size: 24
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
    from hyperpyyaml import load_hyperpyyaml
    from speechbrain.dataio.encoder import CategoricalEncoder

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model_dir = tmp_path / "tiny-ecapa"
    model_dir.mkdir()
    (model_dir / "hyperparams.yaml").write_text(_TINY_ECAPA_YAML)
    torch.manual_seed(0)
    hp = load_hyperpyyaml(_TINY_ECAPA_YAML)
    torch.save(hp["embedding_model"].state_dict(), model_dir / "embedding_model.ckpt")
    torch.save(hp["classifier"].state_dict(), model_dir / "classifier.ckpt")
    norm = hp["mean_var_norm_emb"]
    norm.count, norm.glob_mean, norm.glob_std = 7, torch.randn(24), torch.ones(24)
    norm._save(model_dir / "mean_var_norm_emb.ckpt")
    labels = CategoricalEncoder()
    labels.update_from_iterable(["spk1", "spk2"])
    labels.save(model_dir / "label_encoder.txt")

    ecapa = _load_ecapa(model_dir, tmp_path / "saved")
    loaded = ecapa.mods.embedding_model.state_dict()
    for name, tensor in hp["embedding_model"].state_dict().items():
        assert torch.equal(loaded[name], tensor), name
    assert torch.equal(ecapa.mods.mean_var_norm_emb.glob_mean, norm.glob_mean)
    assert ecapa.hparams.label_encoder.decode_ndim(1) == "spk2"

    wav, rate = sf.read(_utt_path(1, 1), dtype="float32")
    assert rate == 16_000
    emb = ecapa.encode_batch(torch.from_numpy(wav).unsqueeze(0))
    assert emb.shape == (1, 1, 24) and torch.isfinite(emb).all()


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
    package; this machine cannot download them)."""
    import torch
    from speechbrain.utils.metric_stats import EER

    model_dir = _ecapa_dir()
    missing = [name for name in ECAPA_FILES if not (model_dir / name).is_file()]
    if missing:
        pytest.skip(
            f"ECAPA weights not on disk: {model_dir} lacks {', '.join(missing)} (put the files of "
            "speechbrain/spkrec-ecapa-voxceleb there, or point TWIN_ECAPA_DIR at a folder holding them)"
        )
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ecapa = _load_ecapa(model_dir, tmp_path / "saved")
    vectors = {}
    for speaker in (1, 2):
        for n in range(1, 7):
            wav, rate = sf.read(_utt_path(speaker, n), dtype="float32")
            assert rate == 16_000
            emb = ecapa.encode_batch(torch.from_numpy(wav).unsqueeze(0))[0, 0]
            assert emb.shape == (192,)
            vectors[(speaker, n)] = torch.nn.functional.normalize(emb, dim=0)
    keys = sorted(vectors)
    pos, neg = [], []
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            (pos if a[0] == b[0] else neg).append(float(vectors[a] @ vectors[b]))
    assert np.mean(pos) > np.mean(neg) + 0.2
    eer, _ = EER(torch.tensor(pos), torch.tensor(neg))
    assert eer <= 0.1
    # enrol on utterances 1-3, identify 4-6
    enrolled = {s: torch.stack([vectors[(s, n)] for n in (1, 2, 3)]).mean(0) for s in (1, 2)}
    for speaker in (1, 2):
        for n in (4, 5, 6):
            scores = {s: float(vectors[(speaker, n)] @ c) for s, c in enrolled.items()}
            assert max(scores, key=scores.get) == speaker, (speaker, n, scores)
