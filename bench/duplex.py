"""`twin bench duplex`: Twin speaking in a simulated room while it listens, with and without the echo
canceller.

The room: Twin's real Piper voice is played by a sink (devices/sinks.py, so the echo stage gets its
reference through the same tap as in `twin live`), and what the loudspeaker plays reaches the
microphone through a real room impulse response and a delay (the devices' buffers), at a set level,
with real background noise (RIRs and noise: ../shared/fixtures/speechbrain_samples). In the talk-over
scenes a human recording (../shared/fixtures/speech_to_phrase_en/wav, through another RIR) starts in
the middle of Twin's reply.

The loop is closed and runs on the microphone's clock, frame by frame (32 ms): each frame is cleaned
by the echo stage (or not), scored by the VAD and pushed through the endpointer with the profile's
settings, exactly the front end's chain; when the endpointer says SpeechStarted while Twin plays, that
is a barge-in and the sink is interrupted, so from then on only the reverberant tail of what was
already played reaches the microphone.

Figures:
- ERLE (echo return loss enhancement): microphone energy / cleaned energy while only the echo (and the
  room's noise) is heard, after the first 0.5 s of each reply (the canceller's convergence);
- self-interruptions: SpeechStarted fired by the echo alone (echo-only scenes, and talk-over scenes
  before the user began);
- barge-in stop latency: Twin's audio played after the user's onset (the first voiced frame of the dry
  recording) until the sink was cut: the frames it took to decide, plus the stage's and the VAD's
  measured compute time per frame. Its share of the 10 ms the echo stage delays the stream is in it.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from devices.sinks import BufferSink
from devices.sources import InputFrame
from pipeline.config import TwinConfig
from pipeline.events import AudioFrame, SpeechStarted
from pipeline.runtime.echo import DOUBLE_TALK_DB, EchoStage
from pipeline.runtime.endpointing import FRAME_S, Endpointer
from voice.audio import SAMPLE_RATE, load_audio, read_samples, resample, speech_level_db
from voice.capabilities import Prosody, Tts, Vad
from voice.speakers.augment import synthetic_rir  # the one room model: enrolment's calibration uses it too
from voice.vad import FRAME

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
RIR_DIR = FIXTURES / "speechbrain_samples" / "RIRs"
NOISE_DIR = FIXTURES / "speechbrain_samples" / "noise"
HUMAN_DIR = FIXTURES / "speech_to_phrase_en" / "wav"

REPLIES = (
    "The weather today is mild with a light breeze from the west. Later this afternoon there may be a "
    "short shower, so take an umbrella if you go out.",
    "Your timer for the pasta has five minutes left. Meanwhile, you could set the table and warm the "
    "plates, so everything is ready at the same time.",
    "Octopuses have three hearts and blue blood. Two of the hearts pump blood through the gills, and the "
    "third one pumps it through the rest of the body.",
)

PIECE_S = 0.05  # the sink plays in 50 ms pieces, like PacedSink
USER_DBFS = -26.0  # the user's speech at the microphone (RMS of its voiced half)


@dataclass(frozen=True)
class Room:
    """How the loudspeaker and the user reach the microphone."""

    rir: np.ndarray  # loudspeaker -> microphone, unit energy
    delay_s: float  # playback buffers: from the sink's piece to its sound
    echo_dbfs: float  # RMS level of the echo at the microphone while Twin speaks
    noise: np.ndarray  # background at the microphone (already at its level)
    user_rir: np.ndarray | None = None  # user -> microphone, unit energy
    user_dbfs: float = -26.0  # RMS level of the user's speech at the microphone


def unit_energy(rir: np.ndarray) -> np.ndarray:
    rir = np.asarray(rir, np.float32).reshape(-1)
    return (rir / np.sqrt(np.sum(rir**2))).astype(np.float32)


def level(x: np.ndarray, dbfs: float, voiced_only: bool = True) -> np.ndarray:
    """Scale `x` so its RMS (over the louder half of its 10 ms windows when `voiced_only`) is `dbfs`."""
    x = np.asarray(x, np.float32)
    now_db = speech_level_db(x) if voiced_only else 10 * np.log10(max(float(np.mean(x**2)), 1e-12))
    return (x * 10 ** ((dbfs - now_db) / 20)).astype(np.float32)


class Loudspeaker:
    """Plays what the sink is given, on the microphone's clock, into the room: a streaming
    convolution with the room's response, after the playback delay."""

    def __init__(self, room: Room, gain: float) -> None:
        self.room = room
        self.gain = gain
        self._queue = np.zeros(int(round(room.delay_s * SAMPLE_RATE)), np.float32)  # the device buffer
        self._tail = np.zeros(len(room.rir) - 1, np.float32)
        self.sounding = False

    def play(self, samples16: np.ndarray) -> None:
        self._queue = np.concatenate([self._queue, samples16.astype(np.float32)])

    def cut(self) -> None:
        """The sink stopped: what is queued never sounds; the room's reverberation still decays."""
        self._queue = np.zeros(int(round(self.room.delay_s * SAMPLE_RATE)), np.float32)

    def next(self, n: int) -> np.ndarray:
        from scipy.signal import oaconvolve

        x = self._queue[:n]
        x = np.pad(x, (0, n - len(x)))
        self._queue = self._queue[n:]
        self.sounding = bool(np.any(x))
        y = oaconvolve(x, self.room.rir) * self.gain
        y[: len(self._tail)] += self._tail
        self._tail = y[n:].astype(np.float32)
        return y[:n].astype(np.float32)


@dataclass
class SceneResult:
    aec: bool
    self_interruptions: int
    barged: bool = False
    latency_ms: float | None = None  # audio played after the user's onset
    mic_energy: float = 0.0  # echo-only frames while Twin plays (after convergence)
    out_energy: float = 0.0
    echo_frames: int = 0
    stage_ms: list[float] = field(default_factory=list)
    vad_ms: list[float] = field(default_factory=list)


def run_scene(
    reply: np.ndarray,
    reply_rate: int,
    room: Room,
    vad: Vad,
    silence_ms: int,
    stage: EchoStage | None,
    user: np.ndarray | None = None,
    user_at_s: float = 0.0,
    tail_s: float = 1.0,
) -> SceneResult:
    """One reply played into the room, with the user talking over it from `user_at_s` (dry, 16 kHz)."""
    sink = BufferSink(clock=lambda: 0.0)
    sink.begin(reply_rate)
    if stage is not None:  # one stage per room, as one per `twin live` session: it stays converged
        sink.taps.append(stage)
    acoustic = resample(reply, reply_rate, SAMPLE_RATE)  # the loudspeaker's own conversion
    speaker = Loudspeaker(room, 1.0)
    speaker.gain = 10 ** (room.echo_dbfs / 20) / max(_rms_voiced(_convolved(acoustic, room.rir)), 1e-9)
    vad.reset()
    ep = Endpointer(silence_ms)
    total_s = len(acoustic) / SAMPLE_RATE + tail_s
    n_frames = int(total_s / FRAME_S)
    user_track = np.zeros(n_frames * FRAME, np.float32)
    onset_s: float | None = None
    if user is not None:
        from scipy.signal import oaconvolve

        wet = oaconvolve(user, room.user_rir)[: len(user)] if room.user_rir is not None else user
        wet = level(wet, room.user_dbfs)
        at = int(user_at_s * SAMPLE_RATE)
        k = min(len(wet), len(user_track) - at)
        user_track[at : at + k] = wet[:k]
        onset_s = user_at_s + _onset_s(vad, user)
    noise = np.resize(room.noise, len(user_track))
    piece = int(PIECE_S * reply_rate)
    next_piece, played, cut = 0, 0.0, False
    result = SceneResult(aec=stage is not None, self_interruptions=0)
    for i in range(n_frames):
        t = i * FRAME_S
        # the sink plays its pieces as the clock reaches them (the reference and the loudspeaker alike)
        while not cut and next_piece < len(reply) and played <= t + FRAME_S:
            chunk = reply[next_piece : next_piece + piece]
            sink._played(chunk)  # the sink's own path: timeline, taps (the echo reference)
            speaker.play(acoustic_slice(acoustic, next_piece, len(chunk), reply_rate))
            next_piece += len(chunk)
            played += len(chunk) / reply_rate
        echo = speaker.next(FRAME)
        mic = echo + user_track[i * FRAME : (i + 1) * FRAME] + noise[i * FRAME : (i + 1) * FRAME]
        frame = InputFrame(mic.astype(np.float32), t, None)
        if stage is not None:
            t0 = time.perf_counter()
            frame = stage.clean(frame)
            result.stage_ms.append(1000 * (time.perf_counter() - t0))
        t0 = time.perf_counter()
        prob = vad.frame_probability(frame.samples)
        if frame.echo_only:
            prob = 0.0  # the front end's rule: Twin's voice alone is not speech
        result.vad_ms.append(1000 * (time.perf_counter() - t0))
        user_heard = onset_s is not None and t + FRAME_S > onset_s
        if speaker.sounding and not user_heard and t >= 0.5 and not cut:
            result.mic_energy += float(np.sum(mic**2))
            result.out_energy += float(np.sum(frame.samples**2))
            result.echo_frames += 1
        out = ep.push(AudioFrame(samples=frame.samples, position=t, speech_prob=prob))
        if isinstance(out, SpeechStarted) and not cut:
            end = t + FRAME_S  # the frame that decided has just been captured
            if onset_s is None or end <= onset_s:
                # The echo alone set the endpointer off: the front end would pause Twin here. The
                # reply plays on in the simulation, so every such event over the reply is counted.
                result.self_interruptions += 1
                continue
            compute = (result.stage_ms[-1] if result.stage_ms else 0.0) + result.vad_ms[-1]
            result.barged = True
            result.latency_ms = 1000 * (end - onset_s) + compute
            sink.interrupt()
            speaker.cut()
            cut = True
    if stage is not None:
        stage.cut()  # the scene is over: its queued playback never sounds
        stage.stop_listening(sink)
    return result


def acoustic_slice(acoustic: np.ndarray, start: int, n: int, rate: int) -> np.ndarray:
    """The 16 kHz samples of the loudspeaker's sound for reply samples [start, start + n)."""
    a = round(start * SAMPLE_RATE / rate)
    b = round((start + n) * SAMPLE_RATE / rate)
    return acoustic[a:b]


def _convolved(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    from scipy.signal import oaconvolve

    return oaconvolve(x, rir)[: len(x)].astype(np.float32)


def _rms_voiced(x: np.ndarray) -> float:
    return float(10 ** (speech_level_db(x) / 20))


def _onset_s(vad: Vad, dry: np.ndarray) -> float:
    """The user's onset: the start of the first run of three voiced frames of the dry recording
    (the endpointer's own start rule, so an isolated click does not count as the onset)."""
    voiced = vad.probabilities(dry) >= 0.5
    run = np.convolve(voiced.astype(int), np.ones(3, int), mode="valid")
    first = np.flatnonzero(run == 3)
    return float(first[0] * FRAME_S) if len(first) else 0.0


# -- the benchmark ---------------------------------------------------------------------------------


def load_rooms(noise_dbfs: float = -55.0) -> tuple[list[np.ndarray], np.ndarray, str]:
    """The fixtures' RIRs and noise, or a documented synthetic room when they are absent."""
    rirs = [unit_energy(read_samples(p)[0]) for p in sorted(RIR_DIR.glob("rir*.wav"))]
    noises = sorted(NOISE_DIR.glob("noise*.wav"))
    if rirs and noises:
        noise = load_audio(noises[0], max_seconds=120).samples
        return rirs, level(noise, noise_dbfs, voiced_only=False), f"fixtures ({RIR_DIR.parent.name})"
    rng = np.random.default_rng(0)
    return (
        [synthetic_rir(rt60, rng) for rt60 in (0.25, 0.5)],
        level(rng.standard_normal(SAMPLE_RATE * 10).astype(np.float32), noise_dbfs, voiced_only=False),
        "synthetic (exponentially decaying noise, RT60 0.25/0.5 s)",
    )


def humans() -> list[tuple[str, np.ndarray]]:
    return [(p.stem, load_audio(p).samples) for p in sorted(HUMAN_DIR.glob("*.wav"))]


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def run_duplex_bench(cfg: TwinConfig, json_path: Path | None, quick: bool = False) -> int:
    from pipeline.runtime.components import Components

    comps = Components(cfg)
    t0 = time.monotonic()
    vad, tts = comps.vad, comps.tts
    replies = synthesize(tts, REPLIES[:1] if quick else REPLIES)
    rirs, noise, room_source = load_rooms()
    people = humans()[:4] if quick else humans()
    print(f"Models loaded and {len(replies)} replies synthesized in {time.monotonic() - t0:.1f} s.")
    print(f"room: {room_source}; {len(rirs)} RIRs; human recordings: {len(people)} ({HUMAN_DIR})")
    silence_ms = cfg.device_profile.endpoint_silence_ms
    # Echo at the microphone (RMS while Twin speaks) against the user's speech at -26 dBFS: a reply at
    # a moderate volume (signal-to-echo +4 dB) and a loud one (-6 dB: Twin louder than the user).
    levels = (-30.0, -20.0)
    delays = (0.04, 0.15)
    rows: dict[str, dict] = {}
    # The modes side by side: no canceller; the canceller alone; the canceller with the echo stage's
    # double-talk check (frames of Twin's voice alone are not speech: the front end's default).
    modes = {"no_aec": (False, None), "aec_only": (True, None), "aec": (True, DOUBLE_TALK_DB)}
    cold: dict[str, list[int]] = {key: [] for key in modes}
    for key, (aec, double_talk) in modes.items():
        tally = {lv: _Tally() for lv in levels}
        for r_i, rir in enumerate(rirs):
            for lv in levels:
                for d in delays:
                    room = Room(rir, d, lv, noise, user_rir=rirs[(r_i + 1) % len(rirs)], user_dbfs=USER_DBFS)
                    stage = EchoStage(comps.echo_canceller(), double_talk_db=double_talk) if aec else None
                    # The session's first reply, on a fresh canceller: counted apart (convergence).
                    first = run_scene(replies[0], tts.sample_rate, room, vad, silence_ms, stage)
                    cold[key].append(first.self_interruptions)
                    for reply in replies:  # the echo alone
                        tally[lv].echo_only(run_scene(reply, tts.sample_rate, room, vad, silence_ms, stage))
                    for k, (_, voice) in enumerate(people):  # the user talks over the reply, 2 s in
                        reply = replies[k % len(replies)]
                        res = run_scene(reply, tts.sample_rate, room, vad, silence_ms, stage, voice, 2.0)
                        tally[lv].talk_over(res)
        total = _Tally()
        for t in tally.values():
            total.merge(t)
        rows[key] = total.row() | {
            "first_reply_self_interruptions": sum(cold[key]),
            "first_reply_scenes_with_self_interruption": sum(c > 0 for c in cold[key]),
            "first_reply_scenes": len(cold[key]),
            "by_echo_level": {f"{lv:.0f} dBFS": t.row() for lv, t in tally.items()},
        }
    _print(rows)
    report = {
        "bench": "duplex",
        "machine": platform.platform(),
        "note": "timings under contention on a shared 2-core machine",
        "canceller": comps.echo_canceller().descriptor.name,
        "room": room_source,
        "echo_levels_dbfs": list(levels),
        "user_dbfs": USER_DBFS,
        "delays_s": list(delays),
        "noise_dbfs": -55.0,
        "replies": len(replies),
        "human_recordings": [name for name, _ in people],
        "profile": cfg.profile,
        "endpoint_silence_ms": silence_ms,
        "results": rows,
    }
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2))
        print(f"\nwrote {json_path}")
    comps.close()
    return 0


@dataclass
class _Tally:
    mic: float = 0.0
    out: float = 0.0
    scenes: int = 0
    selfs: int = 0  # SpeechStarted set off by the echo alone (before any user onset)
    echo_only_selfs: int = 0  # of which in the scenes with no user at all
    echo_only_self_scenes: int = 0
    self_scenes: int = 0  # scenes with at least one
    talkovers: int = 0
    latencies: list[float] = field(default_factory=list)
    stage_ms: list[float] = field(default_factory=list)
    vad_ms: list[float] = field(default_factory=list)

    def echo_only(self, res: SceneResult) -> None:
        self.mic += res.mic_energy
        self.out += res.out_energy
        self.scenes += 1
        self.echo_only_selfs += res.self_interruptions
        self.echo_only_self_scenes += res.self_interruptions > 0
        self._count(res)

    def talk_over(self, res: SceneResult) -> None:
        self.talkovers += 1
        if res.barged and res.latency_ms is not None and res.latency_ms < 1500:
            self.latencies.append(res.latency_ms)
        self._count(res)

    def _count(self, res: SceneResult) -> None:
        self.selfs += res.self_interruptions
        self.self_scenes += res.self_interruptions > 0
        self.stage_ms += res.stage_ms
        self.vad_ms += res.vad_ms

    def merge(self, o: _Tally) -> None:
        self.mic, self.out = self.mic + o.mic, self.out + o.out
        self.scenes, self.selfs, self.self_scenes = (
            self.scenes + o.scenes,
            self.selfs + o.selfs,
            self.self_scenes + o.self_scenes,
        )
        self.talkovers += o.talkovers
        self.echo_only_selfs += o.echo_only_selfs
        self.echo_only_self_scenes += o.echo_only_self_scenes
        self.latencies += o.latencies
        self.stage_ms += o.stage_ms
        self.vad_ms += o.vad_ms

    def row(self) -> dict:
        return {
            "erle_db": round(float(10 * np.log10(self.mic / self.out)), 1) if self.out > 0 else 0.0,
            "echo_only_scenes": self.scenes,
            "self_interruptions": self.selfs,
            "scenes_with_self_interruption": self.self_scenes,
            "echo_only_self_interruptions": self.echo_only_selfs,
            "echo_only_scenes_with_self_interruption": self.echo_only_self_scenes,
            "talk_overs": self.talkovers,
            "talk_overs_detected_within_1_5s": len(self.latencies),
            "barge_in_latency_ms_p50": _round(_pct(self.latencies, 50)),
            "barge_in_latency_ms_p95": _round(_pct(self.latencies, 95)),
            "stage_ms_per_frame": round(statistics.fmean(self.stage_ms), 3) if self.stage_ms else 0.0,
            "vad_ms_per_frame": round(statistics.fmean(self.vad_ms), 3) if self.vad_ms else 0.0,
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def synthesize(tts: Tts, texts: tuple[str, ...]) -> list[np.ndarray]:
    steady = Prosody(noise_scale=0.0, noise_w_scale=0.0)  # the same audio in every run
    return [tts.synthesize_all(t, steady).astype(np.float32) for t in texts]


def _print(rows: dict[str, dict]) -> None:
    a, m, b = rows["no_aec"], rows["aec_only"], rows["aec"]
    lines = [
        ("ERLE (dB)", "erle_db"),
        ("self-interruptions (events)", "self_interruptions"),
        ("scenes with a self-interruption", "scenes_with_self_interruption"),
        ("  of scenes (echo only + talk-over)", None),
        ("echo-only scenes with one", "echo_only_scenes_with_self_interruption"),
        ("  of echo-only scenes", "echo_only_scenes"),
        ("talk-overs detected (< 1.5 s)", "talk_overs_detected_within_1_5s"),
        ("  of talk-overs", "talk_overs"),
        ("barge-in stop latency p50 (ms)", "barge_in_latency_ms_p50"),
        ("barge-in stop latency p95 (ms)", "barge_in_latency_ms_p95"),
        ("echo stage ms per 32 ms frame", "stage_ms_per_frame"),
        ("VAD ms per 32 ms frame", "vad_ms_per_frame"),
    ]
    levels = list(b["by_echo_level"])
    head = f"{'':36} {'without AEC':>12} {'AEC alone':>10} {'AEC+double talk':>16}"
    head += "".join(f" {'AEC+DT @' + lv:>16}" for lv in levels)
    print("\n" + head)
    for label, key in lines:
        if key is None:
            vals = [r["echo_only_scenes"] + r["talk_overs"] for r in (a, m, b)]
            vals += [
                b["by_echo_level"][lv]["echo_only_scenes"] + b["by_echo_level"][lv]["talk_overs"]
                for lv in levels
            ]
        else:
            vals = [a[key], m[key], b[key]] + [b["by_echo_level"][lv][key] for lv in levels]
        print(
            f"{label:36} {_fmt(vals[0]):>12} {_fmt(vals[1]):>10} {_fmt(vals[2]):>16}"
            + "".join(f" {_fmt(v):>16}" for v in vals[3:])
        )
    print(
        "first reply of a session (a fresh canceller): rooms with a self-interruption "
        f"{a['first_reply_scenes_with_self_interruption']}/{a['first_reply_scenes']} without AEC, "
        f"{m['first_reply_scenes_with_self_interruption']}/{m['first_reply_scenes']} with AEC alone, "
        f"{b['first_reply_scenes_with_self_interruption']}/{b['first_reply_scenes']} with AEC+double talk"
    )


def _fmt(x) -> str:
    return "-" if x is None else str(x)
