"""`twin bench wake`: the acoustic wake word (voice/wake.py) heard in voices that are not Twin's own,
and never heard in an hour of speech that holds no wake word.

**Detection.** Each wake phrase ("okay nabu", "hey jarvis") said by espeak-ng voices (accents, male
and female, three speeds), none of them Twin's Piper voice: dry, and in a room (each of the
fixtures' four room responses, the fixtures' noise at 20 dB and at 10 dB SNR). A trial is one clip
with silence around the phrase; it counts as heard when the detector fires between the phrase's
start and 1 s after its end. Twin's own voice is reported apart. The voices are split once into
DEV and TEST (`VOICES_DEV`, `VOICES_TEST`): nothing in Twin is tuned here, and anything that is must
be chosen on DEV and reported on TEST.

**False accepts per hour.** Speech that holds no wake word, fed through the detector as one stream:
- real: every human recording in ../shared/fixtures (commands, read sentences, a speech, a meeting,
  a telephone call; a few minutes in all), as recorded;
- synthetic, ordinary speech: the project's own hand-written texts (the memory bench's chats, the
  latency and end-of-turn questions and commands, Piper's English test sentences) said by espeak-ng
  voices and by Piper, one sentence after another with 0.3-1.2 s between them;
- synthetic, TV-like: two such streams at once (the second 6 dB down), through a room, with noise
  at 15 dB SNR;
- near misses, apart: phrases that sound like a wake word ("okay, now", "okay Nadia", "hey Travis")
  in every voice. They are chosen to be hard, so they are not in the per-hour rate.
With `--suppress-noise` every clip and stream is first put through the echo stage's WebRTC noise
suppression, as the speaker profile's front end gives it to the detector (`suppressed`); without it,
as recorded (the half-duplex profiles' path).

A fire is counted once per `MicroWakeWordDetector.refractory_s`; per hour = fires / hours of that
audio. Synthetic speech flatters a detector less than it flatters recognition (it is not what the
models were trained against either way), but the real minutes are few: both are reported.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.duplex import FIXTURES, _convolved, level, load_rooms
from voice.audio import SAMPLE_RATE, load_audio, resample
from voice.vad import FRAME

WORDS = ("okay_nabu", "hey_jarvis")
PHRASES = {"okay_nabu": "okay nabu", "hey_jarvis": "hey jarvis"}
NEAR_MISSES = {
    "okay_nabu": ("okay, now", "okay Nadia", "okay, new boots", "oh, a cabana", "okay, no problem"),
    "hey_jarvis": ("hey Travis", "hey, jars of jam", "hey Marvin", "they are jarring", "hey, service"),
}
# espeak-ng voices, none of them Twin's: DEV and TEST share none
VOICES_DEV = ("en-us", "en-gb-scotland", "en-us+f3", "en-029", "en-gb-x-gbclan+f2")
VOICES_TEST = ("en-gb", "en-us-nyc", "en-gb-x-rp+f4", "en-gb-x-gbcwmd", "en+m7")
SPEEDS = (130, 160, 190)
SNRS_DB = (20.0, 10.0)
HEARD_AFTER_S = 1.0  # a fire up to this long after the phrase's end counts as hearing it
REAL_SPEECH = (
    "speech_to_phrase_en/wav/*.wav",
    "speechbrain_samples/ASR/*.wav",
    "speechbrain_samples/single-mic/*.wav",
    "speechbrain_samples/stereo/*.wav",
    "speechbrain_samples/VAD/*.wav",
    "faster_whisper_tests/*.flac",
    "faster_whisper_tests/*.mp3",
    "faster_whisper_tests/stereo_diarization.wav",
    "silero_vad_tests/test.wav",
    "silero_vad_tests/aepyx_8k.wav",
)


def espeak(text: str, voice: str, speed: int) -> np.ndarray:
    """`text` said by espeak-ng, as 16 kHz float samples."""
    import soundfile as sf

    out = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text], capture_output=True, check=True
    ).stdout
    samples, rate = sf.read(io.BytesIO(out), dtype="float32")
    return resample(samples, rate)


def frames_of(samples: np.ndarray) -> np.ndarray:
    n = len(samples) // FRAME
    return samples[: n * FRAME].reshape(n, FRAME)


def trace(detector, samples: np.ndarray) -> np.ndarray:
    """The detector's highest sliding-mean probability in each frame of one stream, from a fresh
    state: what any cutoff would have done is read from it (`fires_at`)."""
    detector.reset()
    peaks = np.zeros(len(samples) // FRAME, np.float32)
    for i, f in enumerate(frames_of(samples)):
        detector.detect(f)
        peaks[i] = detector.peak
    return peaks


def fires_at(peaks: np.ndarray, cutoff: float, refractory_s: float = 1.5) -> list[float]:
    """Where (s) a detector with this cutoff fires over the traced stream, as `detect` does it: once
    over the cutoff, then not again for `refractory_s`."""
    found, quiet, rest = [], 0, int(np.ceil(refractory_s * SAMPLE_RATE / FRAME)) + 1
    for i in np.flatnonzero(peaks > cutoff):
        if not found or i - quiet >= rest:
            found.append(float(i) * FRAME / SAMPLE_RATE)
            quiet = int(i)
    return found


@dataclass
class Trial:
    voice: str
    speed: int
    room: str  # "dry", or the room response and SNR
    samples: np.ndarray
    start_s: float
    end_s: float

    def heard(self, fired: list[float]) -> bool:
        return any(self.start_s <= t <= self.end_s + HEARD_AFTER_S for t in fired)


def _padded(x: np.ndarray, lead_s: float = 0.7, tail_s: float = 1.5) -> tuple[np.ndarray, float, float]:
    lead, tail = (np.zeros(int(s * SAMPLE_RATE), np.float32) for s in (lead_s, tail_s))
    return np.concatenate([lead, x.astype(np.float32), tail]), lead_s, lead_s + len(x) / SAMPLE_RATE


def trials(phrase: str, voices: tuple[str, ...], rooms, noise: np.ndarray) -> list[Trial]:
    """The phrase in each voice and speed, dry and through each room at each SNR."""
    out = []
    for voice, speed in itertools.product(voices, SPEEDS):
        said = level(espeak(phrase, voice, speed), -26.0)
        clip, start, end = _padded(said)
        out.append(Trial(voice, speed, "dry", clip, start, end))
        for (i, rir), snr in itertools.product(enumerate(rooms), SNRS_DB):
            wet = level(_convolved(clip, rir), -26.0)
            out.append(
                Trial(
                    voice,
                    speed,
                    f"rir{i + 1} {snr:g} dB",
                    wet + _noise(noise, len(wet), -26.0 - snr),
                    start,
                    end,
                )
            )
    return out


def _noise(noise: np.ndarray, n: int, dbfs: float) -> np.ndarray:
    reps = int(np.ceil(n / len(noise)))
    return level(np.tile(noise, reps)[:n], dbfs, voiced_only=False)


def real_speech() -> list[tuple[str, np.ndarray]]:
    """Every human recording of the fixtures (channels mixed, 16 kHz)."""
    found = []
    for pattern in REAL_SPEECH:
        for path in sorted(FIXTURES.glob(pattern)):
            found.append((str(path.relative_to(FIXTURES)), load_audio(path, max_seconds=600).samples))
    return found


def texts() -> list[str]:
    """The project's own hand-written sentences (no wake word in any of them)."""
    from bench.latency import COMMANDS, QUESTIONS
    from bench.memory_conversations import CONVERSATIONS
    from bench.turn_end_cases import DEV, TEST

    said = [t for c in CONVERSATIONS for _, turns in c.sessions for _, t in turns]
    said += list(QUESTIONS) + list(COMMANDS) + [t for t, _ in (*DEV, *TEST)]
    piper = FIXTURES / "piper_test_sentences" / "en.txt"
    if piper.exists():
        said += [line.strip() for line in piper.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [t for t in said if t.strip()]


def ordinary_speech(minutes: float, voices: tuple[str, ...], tts=None, seed: int = 0) -> np.ndarray:
    """`minutes` of sentences said one after another, each voice in turn (Piper's every fourth when
    `tts` is given), with 0.3-1.2 s between them."""
    rng = np.random.default_rng(seed)
    lines = texts()
    rng.shuffle(lines)
    pieces, total, want = [], 0, int(minutes * 60 * SAMPLE_RATE)
    speakers = [*voices, "piper"] if tts is not None else list(voices)
    for i, line in enumerate(itertools.cycle(lines)):
        if total >= want:
            break
        who = speakers[i % len(speakers)]
        if who == "piper":
            said = resample(tts.synthesize_all(line), tts.sample_rate)
        else:
            said = espeak(line, who, int(rng.choice(SPEEDS)))
        gap = np.zeros(int(rng.uniform(0.3, 1.2) * SAMPLE_RATE), np.float32)
        pieces += [level(said, float(rng.uniform(-32, -20))), gap]
        total += len(said) + len(gap)
    return np.concatenate(pieces)[:want]


def tv_like(minutes: float, voices: tuple[str, ...], rooms, noise: np.ndarray, tts=None) -> np.ndarray:
    """Two talkers at once (the second 6 dB down), through a room, with noise at 15 dB SNR."""
    a = ordinary_speech(minutes, voices, tts, seed=1)
    b = ordinary_speech(minutes, voices[::-1], None, seed=2)
    mixed = level(a, -26.0) + level(b[: len(a)], -32.0)
    wet = level(_convolved(mixed, rooms[len(rooms) // 2]), -26.0)
    return wet + _noise(noise, len(wet), -41.0)


def near_misses(word: str, voices: tuple[str, ...]) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """Each near-miss phrase in each voice and speed, 1.6 s apart (longer than the refractory time),
    and where each begins (s)."""
    gap = np.zeros(int(1.6 * SAMPLE_RATE), np.float32)
    pieces, starts, at = [], [], 0
    for phrase, voice, speed in itertools.product(NEAR_MISSES[word], voices, SPEEDS):
        said = level(espeak(phrase, voice, speed), -26.0)
        starts.append((at / SAMPLE_RATE, phrase))
        pieces += [said, gap]
        at += len(said) + len(gap)
    return np.concatenate(pieces), starts


def _which(fired: list[float], starts: list[tuple[float, str]]) -> dict[str, int]:
    """How many fires fell in each near-miss phrase's span (from its start to the next one's)."""
    out: dict[str, int] = {}
    for t in fired:
        phrase = [p for s, p in starts if s <= t][-1]
        out[phrase] = out.get(phrase, 0) + 1
    return out


def per_hour(n: int, seconds: float) -> float:
    return round(n / (seconds / 3600), 2) if seconds else float("nan")


CUTOFFS = tuple(round(c, 2) for c in np.arange(0.30, 1.0, 0.05))


def _detected(traced: list[tuple[Trial, np.ndarray]], cutoff: float, looks=None) -> dict[str, list[int]]:
    """Trials heard per kind of room; `looks` (one list per trial): where a second look woke it too."""
    rows: dict[str, list[int]] = {}
    for n, (trial, peaks) in enumerate(traced):
        kind = "dry" if trial.room == "dry" else trial.room.split()[1] + " dB SNR"
        row = rows.setdefault(kind, [0, 0])
        row[0] += trial.heard(fires_at(peaks, cutoff) + (looks[n] if looks is not None else []))
        row[1] += 1
    rows["all"] = [sum(r[0] for r in rows.values()), sum(r[1] for r in rows.values())]
    return rows


def second_looks(
    samples: np.ndarray, peaks: np.ndarray, cutoff: float, look, phrase: str, costs: list[float]
) -> list[float]:
    """Where (s) the second look (voice/wake.py: `SecondLook`) wakes Twin on a traced stream, as the
    live gate does it: each rise over `look.look_from` that stays under the cutoff is looked at
    again. Each look's seconds are added to `costs`."""
    sure = np.zeros(len(peaks), bool)
    rest = int(np.ceil(look.rest_s * SAMPLE_RATE / FRAME)) + 1  # the detector's refractory time, in frames
    for t in fires_at(peaks, cutoff, look.rest_s):
        i = round(t * SAMPLE_RATE / FRAME)
        sure[i : i + rest] = True
    look.reset()
    found = []
    for i, frame in enumerate(frames_of(samples)):
        window = look.push(frame, float(peaks[i]), bool(sure[i]))
        if window is not None:
            t0 = time.perf_counter()
            yes, _ = look.confirms(window, phrase)
            costs.append(time.perf_counter() - t0)
            if yes:
                found.append(i * FRAME / SAMPLE_RATE)
    return found


def _accepts(streams: dict[str, np.ndarray], cutoff: float) -> dict[str, dict]:
    out = {}
    for kind, peaks in streams.items():
        seconds = len(peaks) * FRAME / SAMPLE_RATE
        n = len(fires_at(peaks, cutoff))
        out[kind] = {"fires": n, "seconds": round(seconds, 1), "per_hour": per_hour(n, seconds)}
    return out


def choose_cutoff(dev_free: list[np.ndarray]) -> float:
    """On DEV only: the lowest cutoff at which DEV's wake-free speech (ordinary and TV-like, DEV's
    voices) fires not once, and at least 0.5 (a detector that fires on half a match is no detector)."""
    quiet = [c for c in CUTOFFS if c >= 0.5 and not any(fires_at(p, c) for p in dev_free)]
    return min(quiet) if quiet else max(CUTOFFS)


def suppressed(samples: np.ndarray) -> np.ndarray:
    """What the wake word detector hears through the live front end's echo stage with nothing
    playing (pipeline/runtime/echo.py's `EchoStage`, WebRTC's noise suppression and high-pass
    filter, 10 ms behind), frame by frame as the front end feeds it."""
    from devices.sources import InputFrame
    from pipeline.runtime.echo import EchoStage
    from voice.echo import WebRtcEchoCanceller

    stage = EchoStage(WebRtcEchoCanceller(noise_suppression=True))
    cleaned = [stage.clean(InputFrame(f, 0.0, None)).samples for f in frames_of(samples)]
    return np.concatenate([*cleaned, np.zeros(len(samples) % FRAME, np.float32)])


def measure(word: str, minutes: float, tts=None, look=None, suppress_noise: bool = False) -> dict:
    """Every figure of the module's text for one wake word: at the model's own cutoff, over a sweep
    of cutoffs, and at the cutoff DEV calls for (`choose_cutoff`), reported on TEST; with `look`
    (a `SecondLook` with its ASR), also the model's cutoff with the second look. `suppress_noise`:
    every clip and stream as the speaker profile's echo stage gives it to the detector
    (`suppressed`)."""
    from voice.wake import MicroWakeWordDetector

    heard_as = suppressed if suppress_noise else (lambda x: x)
    detector = MicroWakeWordDetector(word)
    rooms, noise, room_kind = load_rooms()
    traced = {
        split: [
            (t, trace(detector, t.samples))
            for t in (
                dataclasses.replace(t, samples=heard_as(t.samples))
                for t in trials(PHRASES[word], voices, rooms, noise)
            )
        ]
        for split, voices in (("dev", VOICES_DEV), ("test", VOICES_TEST))
    }
    quarter = minutes / 4
    free: dict[str, dict[str, np.ndarray]] = {"dev": {}, "test": {}}
    misses: dict[str, list[tuple[float, str]]] = {}
    audios: dict[tuple[str, str], np.ndarray] = {}
    for split, voices in (("dev", VOICES_DEV), ("test", VOICES_TEST)):
        stream, misses[split] = near_misses(word, voices)
        for kind, audio in (
            ("synthetic", ordinary_speech(quarter, voices, tts, seed=len(split))),
            ("tv_like", tv_like(quarter, voices, rooms, noise, tts)),
            ("near_misses", stream),
        ):
            audio = heard_as(audio)
            free[split][kind] = trace(detector, audio)
            audios[(split, kind)] = audio
    real = [(name, heard_as(x)) for name, x in real_speech()]
    t1 = time.monotonic()
    real_peaks = {name: trace(detector, x) for name, x in real}
    cost_s, cost_frames = time.monotonic() - t1, sum(len(p) for p in real_peaks.values())
    free["test"]["real"] = np.concatenate(list(real_peaks.values()))
    audios[("test", "real")] = np.concatenate([x[: len(real_peaks[n]) * FRAME] for n, x in real])
    model_cutoff = detector.cutoff
    dev_free = [free["dev"]["synthetic"], free["dev"]["tv_like"]]
    chosen = choose_cutoff(dev_free)
    out: dict = {
        "word": word,
        "rooms": room_kind,
        "heard_as": "noise-suppressed (the echo stage)" if suppress_noise else "as recorded",
        "model_cutoff": model_cutoff,
        "chosen_cutoff_on_dev": chosen,
        "ms_per_frame": round(cost_s * 1000 / max(cost_frames, 1), 3),
        "real_recordings_firing": {
            name: fires_at(p, model_cutoff) for name, p in real_peaks.items() if fires_at(p, model_cutoff)
        },
    }
    for label, cutoff in (("model_cutoff", model_cutoff), ("chosen_cutoff", chosen)):
        out[label + "_results"] = {
            split: {
                "detection": _detected(traced[split], cutoff),
                "false_accepts": _accepts(free[split], cutoff),
                "near_misses_firing": _which(fires_at(free[split]["near_misses"], cutoff), misses[split]),
            }
            for split in ("dev", "test")
        }
    if look is not None:
        out["second_look"] = _with_second_look(
            traced, free, audios, misses, model_cutoff, look, detector.phrase
        )
    out["sweep_dev"] = [
        {
            "cutoff": c,
            "detection": _detected(traced["dev"], c)["all"],
            "dry": _detected(traced["dev"], c)["dry"],
            "false_accepts": sum(len(fires_at(p, c)) for p in dev_free),
            "near_misses": len(fires_at(free["dev"]["near_misses"], c)),
        }
        for c in sorted({*CUTOFFS, model_cutoff})
    ]
    if tts is not None:
        own = level(resample(tts.synthesize_all(PHRASES[word]), tts.sample_rate), -26.0)
        clip, start, end = _padded(own)
        clip = heard_as(clip)
        heard = Trial("piper", 0, "dry", clip, start, end).heard(
            fires_at(trace(detector, clip), model_cutoff)
        )
        out["twins_own_voice_heard"] = heard
    detector.close()
    return out


def _with_second_look(traced, free, audios, misses, cutoff: float, look, phrase: str) -> dict:
    """Detection and false accepts at the model's cutoff with the second look, per split; what each
    look cost, and how many looks an hour of wake-free speech asks for."""
    costs: list[float] = []
    out: dict = {"look_from": look.look_from, "confirm_at": look.confirm_at}
    for split in ("dev", "test"):
        looks = [second_looks(t.samples, p, cutoff, look, phrase, costs) for t, p in traced[split]]
        accepts, seconds, n_looks, near = {}, 0.0, 0, {}
        for kind, peaks in free[split].items():
            before = len(costs)
            found = second_looks(audios[(split, kind)], peaks, cutoff, look, phrase, costs)
            n = len(fires_at(peaks, cutoff)) + len(found)
            secs = len(peaks) * FRAME / SAMPLE_RATE
            accepts[kind] = {"fires": n, "seconds": round(secs, 1), "per_hour": per_hour(n, secs)}
            if kind == "near_misses":
                near = _which(sorted(fires_at(peaks, cutoff) + found), misses[split])
            else:
                seconds, n_looks = seconds + secs, n_looks + len(costs) - before
        out[split] = {
            "detection": _detected(traced[split], cutoff, looks),
            "false_accepts": accepts,
            "near_misses_firing": near,
            "looks_per_hour_of_wake_free_speech": per_hour(n_looks, seconds),
        }
    ms = np.array(costs or [0.0]) * 1000
    out["look_ms"] = {
        "n": len(costs),
        "median": round(float(np.median(ms)), 1),
        "p95": round(float(np.percentile(ms, 95)), 1),
    }
    return out


def run_wake_bench(
    cfg,
    json_path: Path | None,
    minutes: float = 60.0,
    words: tuple[str, ...] = WORDS,
    suppress_noise: bool = False,
) -> int:
    if shutil.which("espeak-ng") is None:
        print("espeak-ng is not installed (scripts/setup.sh installs it): no voice but Twin's to test with")
        return 2
    from pipeline.runtime.components import Components
    from voice.wake import SecondLook

    c = Components(cfg)
    w = cfg.wake
    look = SecondLook(w.look_from, w.confirm_at, check=c.asr.phrase_probability)
    results = [measure(word, minutes, c.tts, look, suppress_noise) for word in words]
    _print(results, minutes)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({"minutes": minutes, "words": results}, indent=1))
        print(f"wrote {json_path}")
    return 0


def _print(results: list[dict], minutes: float) -> None:
    for r in results:
        print(f"\nwake word {r['word']}: voices that are not Twin's own (espeak-ng), rooms: {r['rooms']}")
        print(f"heard {r.get('heard_as', 'as recorded')}")
        print(f"Twin's own voice: {'heard' if r.get('twins_own_voice_heard') else 'not heard'}")
        for label in ("model_cutoff", "chosen_cutoff"):
            cutoff = r["model_cutoff"] if label == "model_cutoff" else r["chosen_cutoff_on_dev"]
            name = "the model's own" if label == "model_cutoff" else "chosen on DEV"
            print(f"cutoff {cutoff:.2f} ({name})")
            print(
                f"  {'split':6s} {'dry':>8s} {'20 dB SNR':>10s} {'10 dB SNR':>10s} {'all':>9s}   false fires"
            )
            for split, res in r[label + "_results"].items():
                d = res["detection"]
                cells = " ".join(f"{d.get(k, [0, 0])[0]:>4d}/{d.get(k, [0, 0])[1]:<4d}" for k in ("dry",))
                cells += " " + " ".join(
                    f"{d.get(k, [0, 0])[0]:>5d}/{d.get(k, [0, 0])[1]:<4d}"
                    for k in ("20 dB SNR", "10 dB SNR", "all")
                )
                fa = "; ".join(
                    f"{k} {v['fires']} in {v['seconds'] / 60:.1f} min ({v['per_hour']:g}/h)"
                    for k, v in res["false_accepts"].items()
                )
                print(f"  {split:6s} {cells}   {fa}")
        if "second_look" in r:
            sl = r["second_look"]
            print(
                f"cutoff {r['model_cutoff']:.2f} with the second look (a rise over {sl['look_from']:g},"
                f" confirmed at a phrase probability >= {sl['confirm_at']:g})"
            )
            for split in ("dev", "test"):
                res = sl[split]
                d = res["detection"]
                cells = " ".join(
                    f"{d.get(k, [0, 0])[0]:>4d}/{d.get(k, [0, 0])[1]:<4d}"
                    for k in ("dry", "20 dB SNR", "10 dB SNR", "all")
                )
                fa = "; ".join(
                    f"{k} {v['fires']} in {v['seconds'] / 60:.1f} min ({v['per_hour']:g}/h)"
                    for k, v in res["false_accepts"].items()
                )
                print(f"  {split:6s} {cells}   {fa}")
                hourly = res["looks_per_hour_of_wake_free_speech"]
                print(f"         looks an hour of wake-free speech: {hourly:g}")
            lm = sl["look_ms"]
            print(f"  a look: {lm['median']} / {lm['p95']} ms (median / p95 of {lm['n']})")
        print("  DEV sweep: cutoff, heard (all / dry), wake-free fires, near-miss fires")
        for row in r["sweep_dev"]:
            heard, dry = row["detection"], row["dry"]
            print(
                f"    {row['cutoff']:.2f}  {heard[0]:>3d}/{heard[1]:<3d} {dry[0]:>2d}/{dry[1]:<2d}"
                f"  {row['false_accepts']:>3d}  {row['near_misses']:>3d}"
            )
        print(f"  cost: {r['ms_per_frame']} ms per 32 ms frame (features and model)")
    print(
        f"({minutes:g} minutes of synthetic wake-free speech in all, per word: a quarter per split and kind)"
    )
