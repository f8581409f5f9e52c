"""`twin bench asr`: word error, phantom text and ASR time per utterance for the default model, with
the user's vocabulary, for a second pass by whisper-base on short unsure commands, and for whisper-base
as the main model. The real recorded commands are the REPORT set: nothing is chosen on them.

Sets (all from ../shared/fixtures, except the espeak-ng renderings made here):
- report: speech_to_phrase_en/wav/*.wav, the 16 recorded home commands (reference = file name), and
  its 2 out-of-grammar recordings (oov_*.wav: no reference; counted for invented vocabulary names);
- dev, real speech: speechbrain_samples/ASR (two speakers, labels as shipped), jfk.flac, each channel of
  stereo_diarization.wav, wyoming's turn_on_the_living_room_lamp.wav (origin not stated upstream);
- dev, espeak: DEV_COMMANDS (command phrasings written for this bench, none copied from the report
  set's file names; a third begin with the wake name "Twin,") in three espeak-ng voices, none of them
  Twin's own, with their own vocabulary (DEV_VOCABULARY);
- synthetic: speech_to_phrase_en/wav/generated (TTS of the report set's phrases) and wyoming
  living_room_light_en: reported, never tuned on either;
- phantom: silence, seeded white noise at three levels, 50 Hz hum, speechbrain noise1-5, each with and
  without the VAD filter: any non-empty transcript is phantom text.

The second pass's threshold is swept on the dev sets only (`sweep`: exact replays of the measured
first and second readings, so it costs no decoding); the report set is measured at the product's
constants (voice/asr.py SECOND_PASS_BELOW, SECOND_PASS_MAX_S) and nothing else. The vocabulary for
the report set is the home's own configuration shipped with it (speech_to_phrase_en/en.yaml), read
from that file. "Invented names" counts vocabulary entries that appear in a transcript but not in its
reference, over every clip. "Wake kept": of the dev clips that begin with "Twin,", how many
transcripts begin with "Twin". Figures, never asserts; timings are wall-clock on a shared CPU.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.errors import BadInputError
from pipeline.config import TwinConfig
from voice.asr import SECOND_PASS_BEAM, SECOND_PASS_BELOW, SECOND_PASS_MAX_S, keep_protected
from voice.audio import SAMPLE_RATE, AudioClip, load_audio

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
WAKE_NAME = "Twin"

# Command phrasings for the dev set, written for it (not the report set's file names). Numbers above
# ten are written as Whisper writes them; `normalize` makes small numbers digits on both sides.
DEV_COMMANDS = (
    "turn on the Garden Lights",
    "dim the Desk Lamp to 30 percent",
    "set a timer for 12 minutes",
    "what's the weather tomorrow",
    "add milk to the Shopping List",
    "call Saoirse",
    "turn off the Hallway light",
    "set the EcoBee to 21 degrees",
    "stop",
    "what time is it",
    "remind me to water the plants at six",
    "play some jazz in the Guest Room",
    "is the Porch light on",
    "how long is left on the timer",
    "skip this song",
    "cancel the alarm",
    "Twin, set a timer for five minutes",
    "Twin, what is the date today",
    "Twin, turn off the Garden Lights",
    "Twin, pause the music",
    "Twin, what's on my Shopping List",
    "Twin, call Saoirse",
    "Twin, how warm is it outside",
    "Twin, lock the back door",
)
DEV_VOCABULARY = (
    "Garden Lights",
    "Desk Lamp",
    "Shopping List",
    "Saoirse",
    "Hallway",
    "EcoBee",
    "Guest Room",
    "Porch",
)
ESPEAK_VOICES = (("en-us", 150), ("en-gb", 140), ("en-gb-scotland", 160))

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
    vocabulary: str = "home"  # which word list biases it: "home" (en.yaml) or "dev" (DEV_VOCABULARY)


@dataclass
class Sets:
    report: list[Clip] = field(default_factory=list)  # real recorded commands: never tuned on
    oov: list[Clip] = field(default_factory=list)
    dev_real: list[Clip] = field(default_factory=list)
    dev_espeak: list[Clip] = field(default_factory=list)
    synthetic: list[Clip] = field(default_factory=list)
    phantom: list[tuple[Clip, bool]] = field(default_factory=list)  # (clip, vad_filter)

    def speech(self) -> dict[str, list[Clip]]:
        return {
            "report": self.report,
            "dev_real": self.dev_real,
            "dev_espeak": self.dev_espeak,
            "synthetic": self.synthetic,
        }


def home_vocabulary() -> list[str]:
    import yaml

    doc = yaml.safe_load((FIXTURES / "speech_to_phrase_en" / "en.yaml").read_text())["fixtures"]
    return [a["name"] for a in doc.get("areas", [])] + [e["name"] for e in doc.get("entities", [])]


def espeak_commands(folder: Path) -> list[Clip]:
    """DEV_COMMANDS in each of ESPEAK_VOICES (empty when espeak-ng is not installed)."""
    if shutil.which("espeak-ng") is None:
        print("espeak-ng is not installed: no espeak dev set (scripts/setup.sh installs it)")
        return []
    clips = []
    for voice, speed in ESPEAK_VOICES:
        for n, text in enumerate(DEV_COMMANDS):
            out = folder / f"{voice}-{n}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text], check=True)
            clips.append(Clip(text, load_audio(out), f"espeak {voice}: {text}", "dev"))
    return clips


def load_sets(espeak_dir: Path | None = None) -> Sets:
    import soundfile as sf

    if not FIXTURES.is_dir():
        raise BadInputError(f"no fixtures at {FIXTURES}", "place ../shared/fixtures beside the repository")
    s = Sets()
    stp = FIXTURES / "speech_to_phrase_en" / "wav"
    for p in sorted(stp.glob("*.wav")):
        clip = Clip(None if p.stem.startswith("oov_") else p.stem, load_audio(p), p.name)
        (s.oov if clip.ref is None else s.report).append(clip)
    for p in sorted((stp / "generated").glob("*.wav")):
        s.synthetic.append(Clip(p.stem, load_audio(p), "generated/" + p.name))
    wy = FIXTURES / "wyoming_faster_whisper_tests"
    s.synthetic.append(
        Clip(
            "Turn on the living room light.",
            load_audio(wy / "living_room_light_en.wav"),
            "living_room_light_en",
        )
    )
    sb = FIXTURES / "speechbrain_samples"
    for name in ("ASR_train.json", "ASR_dev.json"):
        for item in json.loads((sb / "annotation" / name).read_text()).values():
            wav = sb / "ASR" / item["wav"].split("/")[-1]
            s.dev_real.append(Clip(item["words"], load_audio(wav), wav.name))
    fw = FIXTURES / "faster_whisper_tests"
    s.dev_real.append(
        Clip(
            "And so my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.",
            load_audio(fw / "jfk.flac"),
            "jfk.flac",
        )
    )
    stereo, _ = sf.read(fw / "stereo_diarization.wav", dtype="float32")
    s.dev_real.append(
        Clip(
            "He began a confused complaint against the wizard, "
            "who had vanished behind the curtain on the left.",
            AudioClip(stereo[:, 0].copy()),
            "stereo_diarization.wav:left",
        )
    )
    s.dev_real.append(
        Clip("The horizon seems extremely distant.", AudioClip(stereo[:, 1].copy()), "stereo:right")
    )
    lamp = wy / "turn_on_the_living_room_lamp.wav"
    s.dev_real.append(Clip("turn on the living room lamp", load_audio(lamp), lamp.name))
    if espeak_dir is not None:
        s.dev_espeak = espeak_commands(espeak_dir)
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
    if not refs:
        return float("nan")
    return float(jiwer.wer([normalize(r) for r in refs], [normalize(h) or "<empty>" for h in hyps]))


def _invented(names: list[str], ref: str | None, hyp: str) -> int:
    """Vocabulary names in the transcript that the reference does not hold."""
    h, r = f" {normalize(hyp)} ", f" {normalize(ref or '')} "
    return sum(1 for n in names if f" {normalize(n)} " in h and f" {normalize(n)} " not in r)


def _wake_kept(clips: list[Clip], hyps: list[str]) -> tuple[int, int]:
    named = [(c, h) for c, h in zip(clips, hyps, strict=True) if (c.ref or "").startswith(WAKE_NAME + ",")]
    kept = sum(1 for _, h in named if normalize(h).split()[:1] == [WAKE_NAME.lower()])
    return kept, len(named)


@dataclass(frozen=True)
class Config:
    name: str
    model: str  # "default" (the configured model) or "whisper-base"
    vocabulary: bool = True
    beam_size: int = 1
    second_pass: bool = False
    second_beam: int = 1
    protect: bool = True  # the second reading may not drop the wake name or a vocabulary word


CONFIGS = (
    Config("tiny.en", "default", vocabulary=False),
    Config("tiny.en + vocabulary (default)", "default"),
    Config("tiny.en -> base second pass, unprotected (old rule)", "default", second_pass=True, protect=False),
    Config("tiny.en -> base second pass", "default", second_pass=True),
    Config(
        "tiny.en -> base beam 5 second pass (Twin's)",
        "default",
        second_pass=True,
        second_beam=SECOND_PASS_BEAM,
    ),
    Config("whisper-base", "whisper-base"),
    Config("whisper-base, beam 5", "whisper-base", beam_size=5),
)
# the configs whose per-clip readings the dev sweep replays: first reading, second readings
SWEEP_FIRST = "tiny.en + vocabulary (default)"
SWEEP_SECOND = {"base": "whisper-base", "base beam 5": "whisper-base, beam 5"}
SWEEP_BELOW = (-0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8, -1.0)
SWEEP_MAX_S = (4.0, 6.0)


class _Words:
    def __init__(self, words: list[str]) -> None:
        self.words = words

    def prompt(self, multilingual: bool) -> str:
        from voice.vocabulary import Entry, select

        return select([Entry(w, "vocabulary", -i) for i, w in enumerate(self.words)], multilingual).prompt()


def run_asr_bench(cfg: TwinConfig, json_path: Path | None, only: list[str] | None = None) -> int:
    from models import ModelResolver
    from voice.asr import SecondPass, WhisperAsr

    with tempfile.TemporaryDirectory(prefix="twin-bench-asr-") as tmp:
        sets = load_sets(Path(tmp))
    vocabularies = {"home": _Words(home_vocabulary()), "dev": _Words(list(DEV_VOCABULARY))}
    resolver = ModelResolver(cfg.models.paths, cfg.models.dir, allow_download=False)
    loaded: dict[str, WhisperAsr] = {}
    sizes: dict[str, int] = {}

    def model(name: str, key: str) -> WhisperAsr:
        if key not in loaded:
            real = cfg.models.asr if name == "default" else name
            r = resolver.resolve(real, "asr")
            t0 = time.perf_counter()
            loaded[key] = WhisperAsr(r.path, r.name, (), cfg.models.device, cfg.asr.threads)
            sizes[real] = r.size_bytes
            print(f"loaded {r.name} ({r.size_bytes / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
        return loaded[key]

    rows = []
    for c in CONFIGS:
        if only and c.name not in only:
            continue
        asr = model(c.model, c.model)
        asr.beam_size = c.beam_size
        asr.second_pass = None
        if c.second_pass:
            base = model("whisper-base", "second")
            base.beam_size = c.second_beam
            asr.second_pass = SecondPass(base, SECOND_PASS_MAX_S, SECOND_PASS_BELOW, keep=(WAKE_NAME,))
        if not c.protect:
            asr.protected_words = lambda keep=(): []  # type: ignore[method-assign]  # the old rule
        try:
            row = _measure(c, asr, sets, vocabularies)
        finally:
            asr.__dict__.pop("protected_words", None)
        rows.append(row)
        _print_row(row)
    print_table(rows)
    sweep = dev_sweep(rows, sets, vocabularies)
    if sweep:
        print_sweep(sweep)
    doc = {
        "bench": "asr",
        "vocabulary": {"home": vocabularies["home"].words, "dev": list(DEV_VOCABULARY)},
        "second_pass": {"below_logprob": SECOND_PASS_BELOW, "max_seconds": SECOND_PASS_MAX_S},
        "model_sizes_bytes": sizes,
        "configs": rows,
        "dev_sweep": sweep,
    }
    if json_path is not None:
        json_path.write_text(json.dumps(doc, indent=1))
        print(f"wrote {json_path}")
    return 0


def _measure(c: Config, asr, sets: Sets, vocabularies: dict[str, _Words]) -> dict:
    row: dict = {"config": c.name}
    invented = 0
    all_times: list[float] = []
    readings: dict[str, list[dict]] = {}
    for label, clips in sets.speech().items():
        hyps, times, second, protected = [], [], 0, 0
        readings[label] = []
        for clip in clips:
            words = vocabularies[clip.vocabulary]
            asr.vocabulary = words if c.vocabulary else None
            if asr.second_pass is not None:
                asr.second_pass.asr.vocabulary = asr.vocabulary  # as Components gives both the same
            t0 = time.perf_counter()
            hyps.append(asr.transcribe(clip.audio, "en").text)
            times.append(time.perf_counter() - t0)
            second += int(asr.last_second_pass)
            protected += int(asr.last_protected)
            invented += _invented(words.words, clip.ref, hyps[-1])
            readings[label].append({"text": hyps[-1], "logprob": asr.last_logprob, "s": round(times[-1], 4)})
        all_times += times
        refs = [clip.ref or "" for clip in clips]
        kept, named = _wake_kept(clips, hyps)
        row[label] = {
            "clips": len(clips),
            "wer": round(_wer(refs, hyps), 4),
            "ms_median": round(1000 * float(np.median(times)), 1) if times else None,
            "ms_p95": round(1000 * float(np.percentile(times, 95)), 1) if times else None,
            "second_pass": second,
            "protected_restored": protected,
            "wake_kept": [kept, named],
        }
        if label == "report":
            row[label]["errors"] = [
                {"ref": r, "hyp": h} for r, h in zip(refs, hyps, strict=True) if normalize(r) != normalize(h)
            ]
    row["ms_per_utterance"] = {
        "clips": len(all_times),
        "median": round(1000 * float(np.median(all_times)), 1),
        "p95": round(1000 * float(np.percentile(all_times, 95)), 1),
    }
    asr.vocabulary = vocabularies["home"] if c.vocabulary else None
    if asr.second_pass is not None:
        asr.second_pass.asr.vocabulary = asr.vocabulary
    oov = [asr.transcribe(clip.audio, "en").text for clip in sets.oov]
    invented += sum(_invented(vocabularies["home"].words, None, h) for h in oov)
    phantom = []
    for clip, vad in sets.phantom:
        text = asr.transcribe(clip.audio, "en", vad_filter=vad).text
        if text:
            phantom.append({"clip": clip.name, "vad_filter": vad, "text": text})
        invented += _invented(vocabularies["home"].words, None, text)
    row["oov"] = oov
    row["phantom_clips"] = len(phantom)
    row["phantom_of"] = len(sets.phantom)
    row["phantom_words"] = sum(len(p["text"].split()) for p in phantom)
    row["phantom"] = phantom
    row["invented_names"] = invented
    row["readings"] = readings  # per clip, for the dev sweep
    return row


def dev_sweep(rows: list[dict], sets: Sets, vocabularies: dict[str, _Words]) -> list[dict]:
    """The second pass replayed on the dev sets (real speech and espeak) at each threshold: the first
    reading and logprob from SWEEP_FIRST, the second from SWEEP_SECOND's configs (the same calls the
    product makes, so the replay is exact; time = first + second when re-heard)."""
    by_name = {r["config"]: r for r in rows}
    if SWEEP_FIRST not in by_name:
        return []
    first = by_name[SWEEP_FIRST]["readings"]
    out = []
    for second_name, config in SWEEP_SECOND.items():
        if config not in by_name:
            continue
        second = by_name[config]["readings"]
        for max_s in SWEEP_MAX_S:
            for below in (*SWEEP_BELOW, float("-inf")):
                refs, hyps, times, reheard = [], [], [], 0
                named_clips: list[Clip] = []
                for label in ("dev_real", "dev_espeak"):
                    for clip, a, b in zip(sets.speech()[label], first[label], second[label], strict=True):
                        text, t = a["text"], a["s"]
                        short = len(clip.audio.samples) <= max_s * SAMPLE_RATE
                        if short and a["text"] and a["logprob"] is not None and a["logprob"] < below:
                            reheard += 1
                            t += b["s"]
                            if b["logprob"] is not None and b["logprob"] > a["logprob"]:
                                words = [WAKE_NAME, *vocabularies[clip.vocabulary].words]
                                text = keep_protected(a["text"], b["text"], words)
                        refs.append(clip.ref or "")
                        hyps.append(text)
                        times.append(t)
                        named_clips.append(clip)
                kept, named = _wake_kept(named_clips, hyps)
                out.append(
                    {
                        "second": second_name,
                        "max_seconds": max_s,
                        "below_logprob": below if below != float("-inf") else None,
                        "dev_wer": round(_wer(refs, hyps), 4),
                        "reheard": reheard,
                        "clips": len(refs),
                        "ms_median": round(1000 * float(np.median(times)), 1),
                        "ms_p95": round(1000 * float(np.percentile(times, 95)), 1),
                        "wake_kept": [kept, named],
                    }
                )
    return out


def _print_row(row: dict) -> None:
    rc = row["report"]
    print(f"  {row['config']}: report WER {rc['wer']:.3f}; errors:")
    for e in rc["errors"]:
        print(f"    {e['ref']!r} -> {e['hyp']!r}")


def print_table(rows: list[dict], out: Callable[[str], None] = print) -> None:
    out("")
    out(
        "| config | WER report: real commands | WER dev: real speech | WER dev: espeak commands "
        "| WER synthetic | wake kept (dev) | phantom (clips/words) | invented names "
        "| ms/utterance median (p95), all speech | ms report median (p95) | second passes (restored) |"
    )
    out("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        rc, dr, de, sy = r["report"], r["dev_real"], r["dev_espeak"], r["synthetic"]
        parts = [rc, dr, de, sy]
        kept = de["wake_kept"]
        ms = r["ms_per_utterance"]
        out(
            f"| {r['config']} | {rc['wer']:.3f} ({rc['clips']}) | {dr['wer']:.3f} ({dr['clips']}) "
            f"| {de['wer']:.3f} ({de['clips']}) | {sy['wer']:.3f} ({sy['clips']}) | {kept[0]}/{kept[1]} "
            f"| {r['phantom_clips']}/{r['phantom_of']} clips, {r['phantom_words']} words "
            f"| {r['invented_names']} | {ms['median']:.0f} ({ms['p95']:.0f}) "
            f"| {rc['ms_median']:.0f} ({rc['ms_p95']:.0f}) "
            f"| {sum(p['second_pass'] for p in parts)} ({sum(p['protected_restored'] for p in parts)}) |"
        )


def print_sweep(sweep: list[dict], out: Callable[[str], None] = print) -> None:
    out("")
    out(
        "Second pass swept on the dev sets only (real speech + espeak commands), replayed from the "
        "readings above:"
    )
    out("| second model | max s | below logprob | dev WER | re-heard | wake kept | ms median (p95) |")
    out("|---|---|---|---|---|---|---|")
    for s in sweep:
        below = "never" if s["below_logprob"] is None else f"{s['below_logprob']:.1f}"
        out(
            f"| {s['second']} | {s['max_seconds']:.0f} | {below} | {s['dev_wer']:.3f} "
            f"| {s['reheard']}/{s['clips']} | {s['wake_kept'][0]}/{s['wake_kept'][1]} "
            f"| {s['ms_median']:.0f} ({s['ms_p95']:.0f}) |"
        )
    best = min(sweep, key=lambda s: (s["dev_wer"], s["ms_median"]))
    out(
        f"dev-best: {best['second']}, max {best['max_seconds']:.0f} s, below {best['below_logprob']} "
        f"(dev WER {best['dev_wer']:.3f}); the product runs max {SECOND_PASS_MAX_S:.0f} s, "
        f"below {SECOND_PASS_BELOW}"
    )
