"""`twin bench asr`: word error on real recordings and on synthetic speech, reported apart, and
phantom text on silence and noise, for the default model, with the user's vocabulary, for the
multilingual whisper-base model, and for base as a second pass on short, unsure commands.

Sets (all from ../shared/fixtures, never tuned on):
- real commands: speech_to_phrase_en/wav/*.wav (recorded home commands; reference = file name);
- real sentences: speechbrain_samples/ASR snt1-5 (two speakers; labels as shipped), jfk.flac, each
  channel of stereo_diarization.wav;
- synthetic: speech_to_phrase_en/wav/generated (TTS) and wyoming living_room_light_en;
- out-of-grammar speech (oov_*.wav): no reference; counted for invented vocabulary names;
- phantom: silence, seeded white noise at three levels, 50 Hz hum, speechbrain noise1-5, each with
  and without the VAD filter: any word out is phantom text.

The vocabulary for the real commands is the home's own configuration shipped with them
(speech_to_phrase_en/en.yaml: its areas and entity names) -- what a user would add for their
devices, rooms and lists -- read from that file, not chosen by looking at errors. "Invented names"
counts vocabulary entries that appear in a transcript but not in its reference, over every clip.
Figures, never asserts; timings are wall-clock on this machine's shared CPU.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.errors import BadInputError
from pipeline.config import TwinConfig
from voice.asr import SECOND_PASS_BELOW, SECOND_PASS_MAX_S
from voice.audio import SAMPLE_RATE, AudioClip, load_audio

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
# the product's own second pass (voice/asr.py), as Twin runs it

_DIGITS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}


def normalize(text: str) -> str:
    """Lower-case words: punctuation dropped, '%' spoken, small numbers as digits (as the tests)."""
    text = text.lower().replace("%", " percent").replace("'", "")
    return " ".join(_DIGITS.get(w, w) for w in re.sub(r"[^a-z0-9 ]", " ", text).split())


@dataclass
class Clip:
    ref: str | None
    audio: AudioClip
    name: str


@dataclass
class Sets:
    real_commands: list[Clip] = field(default_factory=list)
    real_sentences: list[Clip] = field(default_factory=list)
    synthetic: list[Clip] = field(default_factory=list)
    oov: list[Clip] = field(default_factory=list)
    phantom: list[tuple[Clip, bool]] = field(default_factory=list)  # (clip, vad_filter)


def home_vocabulary() -> list[str]:
    import yaml

    doc = yaml.safe_load((FIXTURES / "speech_to_phrase_en" / "en.yaml").read_text())["fixtures"]
    return [a["name"] for a in doc.get("areas", [])] + [e["name"] for e in doc.get("entities", [])]


def load_sets() -> Sets:
    import soundfile as sf

    if not FIXTURES.is_dir():
        raise BadInputError(f"no fixtures at {FIXTURES}", "place ../shared/fixtures beside the repository")
    s = Sets()
    stp = FIXTURES / "speech_to_phrase_en" / "wav"
    for p in sorted(stp.glob("*.wav")):
        clip = Clip(None if p.stem.startswith("oov_") else p.stem, load_audio(p), p.name)
        (s.oov if clip.ref is None else s.real_commands).append(clip)
    for p in sorted((stp / "generated").glob("*.wav")):
        s.synthetic.append(Clip(p.stem, load_audio(p), "generated/" + p.name))
    wy = FIXTURES / "wyoming_faster_whisper_tests" / "living_room_light_en.wav"
    s.synthetic.append(Clip("Turn on the living room light.", load_audio(wy), wy.name))
    sb = FIXTURES / "speechbrain_samples"
    for name in ("ASR_train.json", "ASR_dev.json"):
        for item in json.loads((sb / "annotation" / name).read_text()).values():
            wav = sb / "ASR" / item["wav"].split("/")[-1]
            s.real_sentences.append(Clip(item["words"], load_audio(wav), wav.name))
    fw = FIXTURES / "faster_whisper_tests"
    s.real_sentences.append(
        Clip(
            "And so my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.",
            load_audio(fw / "jfk.flac"),
            "jfk.flac",
        )
    )
    stereo, _ = sf.read(fw / "stereo_diarization.wav", dtype="float32")
    s.real_sentences.append(
        Clip(
            "He began a confused complaint against the wizard, "
            "who had vanished behind the curtain on the left.",
            AudioClip(stereo[:, 0].copy()),
            "stereo_diarization.wav:left",
        )
    )
    s.real_sentences.append(
        Clip("The horizon seems extremely distant.", AudioClip(stereo[:, 1].copy()), "stereo:right")
    )
    rng = np.random.default_rng(0)
    t = np.arange(SAMPLE_RATE * 3) / SAMPLE_RATE
    noise: list[tuple[str, np.ndarray]] = [("silence", np.zeros(SAMPLE_RATE * 3, np.float32))]
    for level in (0.01, 0.05, 0.2):
        noise.append((f"white{level}", (level * rng.standard_normal(SAMPLE_RATE * 3)).astype(np.float32)))
    noise.append(("hum50", (0.1 * np.sin(2 * np.pi * 50 * t)).astype(np.float32)))
    for n in range(1, 6):
        noise.append((f"noise{n}", load_audio(sb / "noise" / f"noise{n}.wav").samples))
    for name, x in noise:
        for vad in (True, False):
            s.phantom.append((Clip(None, AudioClip(x), name), vad))
    return s


def _wer(refs: list[str], hyps: list[str]) -> float:
    try:
        import jiwer
    except ImportError:
        raise BadInputError("the ASR bench scores with jiwer", "pip install -e '.[dev]'") from None
    return float(jiwer.wer([normalize(r) for r in refs], [normalize(h) or "<empty>" for h in hyps]))


def _invented(names: list[str], ref: str | None, hyp: str) -> int:
    """Vocabulary names in the transcript that the reference does not hold."""
    h, r = f" {normalize(hyp)} ", f" {normalize(ref or '')} "
    return sum(1 for n in names if f" {normalize(n)} " in h and f" {normalize(n)} " not in r)


@dataclass
class Config:
    name: str
    model: str  # "default" (the configured model) or "whisper-base"
    vocabulary: bool
    second_pass: bool = False
    beam_size: int = 1


CONFIGS = (
    Config("default", "default", False),
    Config("default+vocabulary", "default", True),
    Config("whisper-base", "whisper-base", False),
    Config("whisper-base+vocabulary", "whisper-base", True),
    Config("default->base second pass", "default", False, second_pass=True),
    Config("default->base second pass+vocabulary", "default", True, second_pass=True),
    Config("whisper-base beam 5", "whisper-base", False, beam_size=5),
    Config("whisper-base+vocabulary beam 5", "whisper-base", True, beam_size=5),
)


class _Words:
    def __init__(self, words: list[str]) -> None:
        self.words = words

    def prompt(self, multilingual: bool) -> str:
        from voice.vocabulary import Entry, select

        return select([Entry(w, "vocabulary", -i) for i, w in enumerate(self.words)], multilingual).prompt()


def run_asr_bench(cfg: TwinConfig, json_path: Path | None, only: list[str] | None = None) -> int:
    from models import ModelResolver
    from voice.asr import SecondPass, WhisperAsr

    sets = load_sets()
    words = home_vocabulary()
    resolver = ModelResolver(cfg.models.paths, cfg.models.dir, allow_download=False)
    loaded: dict[str, WhisperAsr] = {}
    sizes: dict[str, int] = {}

    def model(name: str) -> WhisperAsr:
        if name not in loaded:
            real = cfg.models.asr if name == "default" else name
            r = resolver.resolve(real, "asr")
            t0 = time.perf_counter()
            loaded[name] = WhisperAsr(r.path, r.name, (), cfg.models.device, cfg.asr.threads)
            sizes[name] = r.size_bytes
            print(f"loaded {r.name} ({r.size_bytes / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
        return loaded[name]

    rows = []
    for c in CONFIGS:
        if only and c.name not in only:
            continue
        asr = model(c.model)
        asr.vocabulary = _Words(words) if c.vocabulary else None
        asr.beam_size = c.beam_size
        asr.second_pass = None
        if c.second_pass:
            base = model("whisper-base")
            base.vocabulary = asr.vocabulary
            asr.second_pass = SecondPass(base, SECOND_PASS_MAX_S, SECOND_PASS_BELOW)
        row = _measure(c, asr, sets, words)
        row["prompt"] = asr.prompt()
        rows.append(row)
        _print_row(row)
    print_table(rows)
    doc = {"bench": "asr", "vocabulary": words, "model_sizes_bytes": sizes, "configs": rows}
    if json_path is not None:
        json_path.write_text(json.dumps(doc, indent=1))
        print(f"wrote {json_path}")
    return 0


def _measure(c: Config, asr, sets: Sets, words: list[str]) -> dict:
    row: dict = {"config": c.name}
    invented = 0
    for label, clips in (
        ("real_commands", sets.real_commands),
        ("real_sentences", sets.real_sentences),
        ("synthetic", sets.synthetic),
    ):
        hyps, times, second, overruled = [], [], 0, 0
        for clip in clips:
            t0 = time.perf_counter()
            hyps.append(asr.transcribe(clip.audio, "en").text)
            times.append(time.perf_counter() - t0)
            second += int(getattr(asr, "last_second_pass", False))
            overruled += int(getattr(asr, "bias_overruled", False))
            invented += _invented(words, clip.ref, hyps[-1])
        refs = [clip.ref or "" for clip in clips]
        row[label] = {
            "clips": len(clips),
            "wer": round(_wer(refs, hyps), 4),
            "ms_median": round(1000 * float(np.median(times)), 1),
            "ms_p95": round(1000 * float(np.percentile(times, 95)), 1),
            "second_pass": second,
            "bias_overruled": overruled,
        }
        if label == "real_commands":
            row[label]["errors"] = [
                {"ref": r, "hyp": h} for r, h in zip(refs, hyps, strict=True) if normalize(r) != normalize(h)
            ]
    oov = [asr.transcribe(clip.audio, "en").text for clip in sets.oov]
    invented += sum(_invented(words, None, h) for h in oov)
    phantom = []
    for clip, vad in sets.phantom:
        text = asr.transcribe(clip.audio, "en", vad_filter=vad).text
        if text:
            phantom.append({"clip": clip.name, "vad_filter": vad, "text": text})
        invented += _invented(words, None, text)
    row["oov"] = oov
    row["phantom_clips"] = len(phantom)
    row["phantom_of"] = len(sets.phantom)
    row["phantom_words"] = sum(len(p["text"].split()) for p in phantom)
    row["phantom"] = phantom
    row["invented_names"] = invented
    return row


def _print_row(row: dict) -> None:
    rc = row["real_commands"]
    print(f"  {row['config']}: real commands WER {rc['wer']:.3f}; errors:")
    for e in rc["errors"]:
        print(f"    {e['ref']!r} -> {e['hyp']!r}")


def print_table(rows: list[dict], out: Callable[[str], None] = print) -> None:
    out("")
    out(
        "| config | WER real commands | WER real sentences | WER synthetic | phantom (clips/words) "
        "| invented names | ms/command median (p95) | second passes | prompt overruled |"
    )
    out("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        rc, rs, sy = r["real_commands"], r["real_sentences"], r["synthetic"]
        out(
            f"| {r['config']} | {rc['wer']:.3f} ({rc['clips']}) | {rs['wer']:.3f} ({rs['clips']}) "
            f"| {sy['wer']:.3f} ({sy['clips']}) | {r['phantom_clips']}/{r['phantom_of']} clips, "
            f"{r['phantom_words']} words | {r['invented_names']} "
            f"| {rc['ms_median']:.0f} ({rc['ms_p95']:.0f}) "
            f"| {rc['second_pass'] + rs['second_pass'] + sy['second_pass']} "
            f"| {rc['bias_overruled'] + rs['bias_overruled'] + sy['bias_overruled']} |"
        )
