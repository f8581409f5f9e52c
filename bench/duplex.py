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
settings and the front end's barge-in onset (hands_free.BargeInOnset), exactly the front end's chain;
when the endpointer says SpeechStarted while Twin plays, that is a barge-in and the sink is
interrupted, so from then on only the reverberant tail of what was already played reaches the
microphone.

The cases are split once, seeded, into DEV (where the barge-in rule's constants are chosen) and TEST
(where they are reported): talk-overs by recording, echo-only scenes by room (`split`).

Figures:
- ERLE (echo return loss enhancement): microphone energy / cleaned energy while only the echo (and the
  room's noise) is heard, after the first 0.5 s of each reply (the canceller's convergence);
- self-interruptions: SpeechStarted fired by the echo alone (echo-only scenes, talk-over scenes
  before the user's recording sounds, or before its words while it is not audible);
- barge-in stop latency: Twin's audio played after the user's onset (the first run of three voiced
  frames of the dry recording; its first voiced frame for a shorter word) until the sink was cut: the
  frames it took to decide, plus the stage's and the VAD's measured compute time per frame. Its share
  of the 10 ms the echo stage delays the stream is in it. A pause set off by the recording's own sound
  just before its words counts 0 ms (and is counted apart); a recording with no speech is a sound.
- holds (`aec_hold` and the `hold_...` candidates: bench.barge_in_hold.BargeInHold; not the front end's):
  the reply held at once on a fast cue and let go when the endpointer's onset does not follow.
  A hold that becomes the barge-in's pause counts from the frame that held; every hold let go is
  counted with its length (a gap in Twin's voice the user hears), apart by what began it: Twin's
  own echo (before the user's recording sounds, or in an echo-only scene), a sound with no speech,
  or the user. The time a hold let go kept Twin silent after the user's onset is not counted as
  played. With a hold the echo stage holds its reference back by the room's device delay (less
  20 ms) and checks the frames after a cut (`after_cut`): echo.py.

The RIRs are high-passed at 40 Hz (`high_passed`): rir2 of the fixtures has a DC gain of 28, which
turned a recording's DC offset into a hum at the speech's level and put the user's words up to
~15 dB under the stated level.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.barge_in_hold import HOLD, BargeInHold, Holder
from devices.sinks import BufferSink
from devices.sources import InputFrame
from models.errors import BadInputError
from pipeline.config import TwinConfig
from pipeline.events import AudioFrame, SpeechStarted
from pipeline.runtime.echo import DOUBLE_TALK_DB, EchoStage
from pipeline.runtime.endpointing import FRAME_S, Endpointer
from pipeline.runtime.hands_free import FAST_ONSET, PREVIOUS_ONSET, BargeInOnset
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
TALK_OVER_AT_S = 2.0  # where in the reply the user begins (`--at`: e.g. 0.5, inside the settling window)
FRONT_END_ONSET = BargeInOnset()  # the front end's barge-in onset (pipeline/runtime/hands_free.py)
HOLD_BACK_MARGIN_S = 0.02  # the echo stage's reference held back by the device's delay less this
# The holds measured on DEV to choose HOLD (`--modes hold_...`): the cue's frames, probability and
# kept-energy gate, and how long a hold waits.
HOLD_CANDIDATES = {
    "hold_1f_p50_k10": BargeInHold(frames=1, prob=0.5, kept_db=10.0),
    "hold_1f_p30_k10": BargeInHold(frames=1, prob=0.3, kept_db=10.0),
    "hold_1f_p50_k6": BargeInHold(frames=1, prob=0.5, kept_db=6.0),
    "hold_2f_p30_k10": BargeInHold(frames=2, prob=0.3, kept_db=10.0),
    "hold_2f_p50_k10": BargeInHold(frames=2, prob=0.5, kept_db=10.0),
    "hold_1f_p50_k10_w2": BargeInHold(frames=1, prob=0.5, kept_db=10.0, wait_frames=2),
    "hold_1f_p50_k10_m05": BargeInHold(frames=1, prob=0.5, kept_db=10.0, max_s=0.5),
}
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


def direct_path_first(rir: np.ndarray, lead: int = 16) -> np.ndarray:
    """The response from 1 ms before its direct path: a measured RIR's leading silence is the
    measurement's, not the room's (rir1 of the fixtures starts 137 ms late, which added 137 ms to every
    barge-in of a user heard through it). The playback delay is `Room.delay_s`'s, set apart."""
    rir = np.asarray(rir, np.float32).reshape(-1)
    a = np.abs(rir)
    first = int(np.flatnonzero(a >= 0.1 * a.max())[0])
    return rir[max(0, first - lead) :]


RIR_HIGH_PASS_HZ = 40.0


def high_passed(rir: np.ndarray, hz: float = RIR_HIGH_PASS_HZ) -> np.ndarray:
    """The response without the measurement's drift below `hz`: rir2 of the fixtures sums to 28 times
    its RMS (a DC gain no loudspeaker and no room has), so a recording's DC offset heard through it
    became a constant hum at the speech's own level, `level()` measured that hum instead of the
    speech, and the user's words (which the canceller's high-pass filter then freed of the hum) were
    heard up to ~15 dB under the stated level ("is the Front Door locked", "cancel all timers")."""
    from scipy.signal import butter, sosfilt

    sos = butter(4, hz, "highpass", fs=SAMPLE_RATE, output="sos")
    return sosfilt(sos, np.asarray(rir, np.float64)).astype(np.float32)


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
    played_after_onset_s: float | None = None  # the same in stream time alone (no compute time)
    reply_s: float = 0.0  # the reply's length
    reply_played_s: float = 0.0  # how much of it the sink was given (all of it unless cut)
    before_onset: bool = False  # paused by the recording's own sound before its speech (breath, room)
    no_speech: bool = False  # the user's recording has no speech in it (a sound over Twin)
    sound_paused: bool = False  # and it paused Twin (the front end would resume: a false start)
    held_before_onset: bool = False  # the barge-in's pause was a hold begun before the user's onset
    holds_resumed: list[float] = field(default_factory=list)  # s held, each hold let go (a gap heard)
    holds_resumed_at: list[float] = field(default_factory=list)  # where each began (stream time)
    self_holds: int = 0  # of which begun on the echo alone (before the user's recording sounds)
    sound_holds: int = 0  # of which begun on the sound of a recording with no speech in it
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
    onset: BargeInOnset | None = FRONT_END_ONSET,
    trace: list[dict] | None = None,
    hold: BargeInHold | None = None,
) -> SceneResult:
    """One reply played into the room, with the user talking over it from `user_at_s` (dry, 16 kHz).
    `onset`: the front end's barge-in onset (hands_free.BargeInOnset), with the user's last turn at
    the user's level at the microphone; None: the rule before it (the endpointer's three frames on
    the echo stage's `echo_only` marks alone). `hold`: the reply is held on a fast cue and let go unless
    the endpointer's start follows (barge_in_hold.Holder); None: paused at the endpointer's start, as the
    front end does. `trace`: each frame's figures are appended to it (VAD probability before and after
    the onset's gates, kept energy, level, the user's energy) to see where a barge-in's time went."""
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
    sound_at: float | None = None  # where the user's recording begins to sound
    if user is not None:
        from scipy.signal import oaconvolve

        wet = oaconvolve(user, room.user_rir)[: len(user)] if room.user_rir is not None else user
        wet = level(wet, room.user_dbfs)
        at = int(user_at_s * SAMPLE_RATE)
        k = min(len(wet), len(user_track) - at)
        user_track[at : at + k] = wet[:k]
        sound_at = user_at_s
        speech = _onset_s(vad, user)
        onset_s = None if speech is None else user_at_s + speech
    noise = np.resize(room.noise, len(user_track))
    piece = int(PIECE_S * reply_rate)
    next_piece, played, cut = 0, 0.0, False
    holder = Holder(hold) if hold is not None and onset is not None and stage is not None else None
    holder_at = 0.0
    held_after_onset = 0.0  # time held (and let go) after the user's onset: Twin's voice not played
    result = SceneResult(aec=stage is not None, self_interruptions=0)
    result.no_speech = user is not None and onset_s is None
    if onset is not None:
        ep.start_frames = onset.start_frames  # Twin plays throughout: every start is a barge-in's
    for i in range(n_frames):
        t = i * FRAME_S
        # the sink plays its pieces as the clock reaches them (the reference and the loudspeaker alike)
        held = holder is not None and holder.held
        while not cut and not held and next_piece < len(reply) and played <= t + FRAME_S:
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
        raw = prob
        if onset is not None and not ep.in_speech and stage is not None:
            # the user's last turn at its level; how long the playback has sounded (the settling gate)
            prob = onset.prob(prob, stage.kept_db, frame.samples, room.user_dbfs, stage.playing_s)
            if holder is not None and not cut:
                assert hold is not None and onset.quieter_db is not None
                cue = hold.cue(prob, stage.kept_db)
                heard_db = -120.0 if frame.echo_only else speech_level_db(frame.samples)  # Twin's alone
                said = holder.step(t, cue, heard_db, room.user_dbfs, onset.quieter_db)
                if said == "hold":  # the sink pauses: nothing queued sounds, no new piece plays
                    sink.pause()
                    speaker.cut()
                elif said == "resume":
                    _let_go(result, holder_at, t, sound_at, onset_s)
                    if onset_s is not None and t + FRAME_S > onset_s:
                        held_after_onset += t + FRAME_S - max(holder_at, onset_s)
                    sink.resume()
                    played = t + FRAME_S  # the reply goes on from where it was held
                if said == "hold":
                    holder_at = t + FRAME_S  # the frame that held has just been captured
        if trace is not None:
            trace.append(
                {
                    "t": t,
                    "raw": raw,
                    "p": prob,
                    "kept": None if stage is None else stage.kept_db,
                    "playing": None if stage is None else stage.playing_s,
                    "lvl": speech_level_db(frame.samples),
                    "user": float(np.mean(user_track[i * FRAME : (i + 1) * FRAME] ** 2)),
                    "cut": cut,
                    "onset_s": onset_s,
                }
            )
        out = ep.push(AudioFrame(samples=frame.samples, position=t, speech_prob=prob))
        if isinstance(out, SpeechStarted) and not cut:
            end = t + FRAME_S  # the frame that decided has just been captured
            early = onset_s is not None and end <= onset_s
            # the reply has been held since this frame: the pause is the hold's
            paused_at = holder_at if holder is not None and holder.held else end
            if sound_at is None or end <= sound_at or (early and not _audible(user_track, i, ep, room)):
                # The echo alone set the endpointer off: the front end would pause Twin here. The
                # reply plays on in the simulation, so every such event over the reply is counted.
                result.self_interruptions += 1
                if holder is not None and holder.held:  # let go, to go on with the reply
                    holder.confirm()
                    sink.resume()
                    played = t + FRAME_S
                continue
            if onset_s is None:  # a sound that is not speech: the front end holds, then resumes
                result.sound_paused = True
                if holder is not None and holder.held:
                    holder.confirm()
                    sink.resume()
                    played = t + FRAME_S
                continue
            compute = (result.stage_ms[-1] if result.stage_ms else 0.0) + result.vad_ms[-1]
            result.barged = True
            # the recording's own sound (a breath, its room) before the speech: nothing of Twin's
            # played over the user's words
            # (audible in the frames that decided; else it was the echo's: a self-interruption, above)
            result.before_onset = paused_at <= onset_s
            result.held_before_onset = paused_at < end and paused_at <= onset_s
            played_ms = 1000 * (max(0.0, paused_at - onset_s) - held_after_onset)
            result.latency_ms = max(0.0, played_ms) + compute
            result.played_after_onset_s = max(0.0, played_ms / 1000)
            if holder is not None:
                holder.confirm()
            sink.interrupt()
            speaker.cut()
            cut = True
    result.reply_s, result.reply_played_s = len(reply) / reply_rate, next_piece / reply_rate
    if stage is not None:
        stage.cut()  # the scene is over: its queued playback never sounds
        stage.stop_listening(sink)
    return result


def _let_go(
    result: SceneResult, held_at: float, t: float, sound_at: float | None, onset_s: float | None
) -> None:
    """A hold let go at frame time `t`: counted, with what it was held on."""
    result.holds_resumed.append(t + FRAME_S - held_at)
    result.holds_resumed_at.append(held_at)
    if sound_at is None or held_at <= sound_at:
        result.self_holds += 1
    elif onset_s is None:
        result.sound_holds += 1


def _audible(track: np.ndarray, i: int, ep: Endpointer, room: Room) -> bool:
    """Whether the user's recording sounds above the room's noise (+6 dB) in the frames that set the
    endpointer off (the last `start_frames` up to frame i)."""
    part = track[max(0, (i - ep.start_frames + 1) * FRAME) : (i + 1) * FRAME]
    return float(np.mean(part**2)) > 4 * float(np.mean(room.noise**2))


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


def _onset_s(vad: Vad, dry: np.ndarray) -> float | None:
    """The user's onset: the start of the first run of three voiced frames of the dry recording (so an
    isolated click does not count as the onset); a word too short for three ("pause": two voiced
    frames) begins at its first voiced frame. None: no voiced frame at all (not speech, e.g. oov_2)."""
    voiced = vad.probabilities(dry) >= 0.5
    run = np.convolve(voiced.astype(int), np.ones(3, int), mode="valid")
    first = np.flatnonzero(run == 3)
    if not len(first):
        first = np.flatnonzero(voiced)
    return float(first[0] * FRAME_S) if len(first) else None


# -- the benchmark ---------------------------------------------------------------------------------


def load_rooms(noise_dbfs: float = -55.0) -> tuple[list[np.ndarray], np.ndarray, str]:
    """The fixtures' RIRs and noise, or a documented synthetic room when they are absent."""
    rirs = [
        unit_energy(high_passed(direct_path_first(read_samples(p)[0])))
        for p in sorted(RIR_DIR.glob("rir*.wav"))
    ]
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


SPLIT_SEED = 12  # the DEV/TEST split (below): fixed, so every run splits the cases the same way


def split(names: list, seed: int = SPLIT_SEED) -> tuple[set, set]:
    """A seeded half of `names` for DEV (where the front end's barge-in constants were chosen), the
    rest for TEST (where they are reported). Deterministic: sorted, then a fixed permutation."""
    names = sorted(names)
    order = np.random.default_rng(seed).permutation(len(names))
    dev = {names[i] for i in order[: len(names) // 2]}
    return dev, set(names) - dev


def run_duplex_bench(
    cfg: TwinConfig,
    json_path: Path | None,
    quick: bool = False,
    talk_over_at_s: float = TALK_OVER_AT_S,
    only: tuple[str, ...] = (),
    splits: tuple[str, ...] = ("dev", "test"),
) -> int:
    """`talk_over_at_s`: where in the reply the user begins; `only`: these modes alone (and `aec`);
    `splits`: "dev" alone to choose (the TEST cases are not run at all)."""
    from pipeline.runtime.components import Components

    # The modes side by side: no canceller; the canceller alone; the canceller with the echo stage's
    # double-talk check (frames of Twin's voice alone are not speech) and the barge-in onset before
    # hands_free.BargeInOnset (`aec_before`); the onset before its settling gate (`aec_prev`); the
    # faster onset chosen on DEV (`aec_fast`); the echo stage's reference held back by the device's
    # delay (`aec_hold_back`); the reply held on a fast cue, with the reference held back and the
    # checks after a cut (`aec_hold`: bench.barge_in_hold.HOLD, measured on DEV and not adopted); the front
    # end's default (`aec`). The other hold candidates measured on DEV run only when named.
    modes = {
        "no_aec": (False, None, None, None),
        "aec_only": (True, None, None, None),
        "aec_before": (True, DOUBLE_TALK_DB, None, None),
        "aec_prev": (True, DOUBLE_TALK_DB, PREVIOUS_ONSET, None),  # the onset before the settling gate
        "aec_fast": (True, DOUBLE_TALK_DB, FAST_ONSET, None),  # chosen on DEV for speed; not the default
        "aec_hold_back": (True, DOUBLE_TALK_DB, FRONT_END_ONSET, None),  # the reference held back
        "aec_hold": (True, DOUBLE_TALK_DB, FRONT_END_ONSET, HOLD),  # held on a fast cue: not adopted
        "aec": (True, DOUBLE_TALK_DB, FRONT_END_ONSET, None),
    }
    candidates = {k: (True, DOUBLE_TALK_DB, FRONT_END_ONSET, h) for k, h in HOLD_CANDIDATES.items()}
    modes |= {k: v for k, v in candidates.items() if k in only}
    unknown = set(only) - set(modes) - set(candidates)
    if unknown:
        raise BadInputError(
            f"no duplex bench mode {', '.join(sorted(unknown))}",
            f"choose among {', '.join([*modes, *candidates])}",
        )
    if not 0.0 <= talk_over_at_s < 3.0:
        raise BadInputError(
            f"--at {talk_over_at_s}: the user must begin within Twin's replies",
            "give a time from 0 to 3 seconds into the reply",
        )
    modes = {k: v for k, v in modes.items() if not only or k in only or k == "aec"}
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
    # DEV/TEST: talk-overs split by recording (a voice and its words are never in both), the echo-only
    # scenes by room, half of the rooms at each echo level.
    dev_people, _ = split([name for name, _ in people])
    dev_rooms: set = set()
    for lv in levels:
        dev_rooms |= split([(r, lv, d) for r in range(len(rirs)) for d in delays])[0]
    rows: dict[str, dict] = {}
    for key, (aec, double_talk, onset, hold) in modes.items():
        tally = {(sp, lv): _Tally() for sp in ("dev", "test") for lv in levels}
        for r_i, rir in enumerate(rirs):
            for lv in levels:
                for d in delays:
                    room = Room(rir, d, lv, noise, user_rir=rirs[(r_i + 1) % len(rirs)], user_dbfs=USER_DBFS)
                    room_split = "dev" if (r_i, lv, d) in dev_rooms else "test"
                    # with the hold, the stage holds the reference back by the device's delay (less a
                    # margin, as a real device's reported latency is approximate) and checks the
                    # frames after a cut: echo.py
                    held_back = hold is not None or key == "aec_hold_back"
                    back = max(0.0, d - HOLD_BACK_MARGIN_S) if held_back else 0.0
                    stage = (
                        EchoStage(
                            comps.echo_canceller(),
                            double_talk_db=double_talk,
                            hold_back_s=back,
                            after_cut=hold is not None,
                        )
                        if aec
                        else None
                    )

                    def scene(reply, voice=None, at=0.0, stage=stage, room=room, onset=onset, hold=hold):
                        rate = tts.sample_rate
                        return run_scene(
                            reply, rate, room, vad, silence_ms, stage, voice, at, 1.0, onset, hold=hold
                        )

                    # The session's first reply, on a fresh canceller: counted apart (convergence).
                    # The canceller stays converged from scene to scene, so a room's echo-only scenes
                    # run even when only the other split's are counted.
                    tally[room_split, lv].first_reply(scene(replies[0]))
                    for reply in replies:  # the echo alone
                        tally[room_split, lv].echo_only(scene(reply))
                    for k, (name, voice) in enumerate(people):  # the user talks over the reply, 2 s in
                        person_split = "dev" if name in dev_people else "test"
                        if person_split not in splits:
                            continue
                        res = scene(replies[k % len(replies)], voice, talk_over_at_s)
                        tally[person_split, lv].talk_over(res)
        rows[key] = {}
        for sp in ("dev", "test"):
            total = _Tally()
            for lv in levels:
                total.merge(tally[sp, lv])
            rows[key][sp] = total.row() | {
                "by_echo_level": {f"{lv:.0f} dBFS": tally[sp, lv].row() for lv in levels}
            }
    for sp in splits:
        _print(rows, sp)
    report = {
        "bench": "duplex",
        "machine": platform.platform(),
        "note": "timings under contention on a shared 2-core machine",
        "canceller": comps.echo_canceller().descriptor.name,
        "room": room_source,
        "echo_levels_dbfs": list(levels),
        "user_dbfs": USER_DBFS,
        "delays_s": list(delays),
        "talk_over_at_s": talk_over_at_s,
        "noise_dbfs": -55.0,
        "replies": len(replies),
        "human_recordings": [name for name, _ in people],
        "split": {
            "seed": SPLIT_SEED,
            "dev_recordings": sorted(dev_people),
            "dev_rooms": [f"rir{r + 1} {lv:.0f} dBFS {d * 1000:.0f} ms" for r, lv, d in sorted(dev_rooms)],
        },
        "barge_in_onset": {
            name: {
                "start_frames": o.start_frames,
                "kept_db": o.kept_db,
                "quieter_than_user_db": o.quieter_db,
                "settle_s": o.settle_s,
                "settle_kept_db": o.settle_kept_db,
            }
            for name, o in (("aec", FRONT_END_ONSET), ("aec_prev", PREVIOUS_ONSET), ("aec_fast", FAST_ONSET))
        },
        "barge_in_hold": {
            name: {
                "frames": h.frames,
                "prob": h.prob,
                "kept_db": h.kept_db,
                "wait_frames": h.wait_frames,
                "max_s": h.max_s,
            }
            for name, h in (("aec_hold", HOLD), *HOLD_CANDIDATES.items())
        },
        "splits_run": list(splits),
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


TARGET_MS = 120.0  # the target: Twin's audio after the user's onset, p95


@dataclass
class _Tally:
    mic: float = 0.0
    out: float = 0.0
    scenes: int = 0
    selfs: int = 0  # SpeechStarted set off by the echo alone (before the user's recording sounds)
    echo_only_selfs: int = 0  # of which in the scenes with no user at all
    echo_only_self_scenes: int = 0
    self_scenes: int = 0  # scenes with at least one
    first_scenes: int = 0  # the first reply on a fresh canceller
    first_self_scenes: int = 0
    talkovers: int = 0
    before_onset: int = 0  # paused by the recording's own sound just before its speech
    sounds: int = 0  # recordings with no speech (oov_2): a sound over Twin
    sounds_paused: int = 0
    latencies: list[float] = field(default_factory=list)  # detected within 1.5 s
    held_before_onset: int = 0  # of the paused ones, held (by the fast cue) before the user's onset
    holds_resumed: list[float] = field(default_factory=list)  # every hold let go (s): a gap heard
    self_holds: int = 0  # holds let go that the echo alone began (echo-only scenes, before the user)
    echo_only_self_holds: int = 0  # of which in the scenes with no user at all
    sound_holds: int = 0  # holds let go that a sound with no speech began (it resumed: as it should)
    play_s: float = 0.0  # Twin's playback heard in the echo-only scenes (for the rate of self-holds)
    stage_ms: list[float] = field(default_factory=list)
    vad_ms: list[float] = field(default_factory=list)

    def first_reply(self, res: SceneResult) -> None:
        self.first_scenes += 1
        self.first_self_scenes += res.self_interruptions > 0

    def echo_only(self, res: SceneResult) -> None:
        self.mic += res.mic_energy
        self.out += res.out_energy
        self.scenes += 1
        self.echo_only_selfs += res.self_interruptions
        self.echo_only_self_scenes += res.self_interruptions > 0
        self.echo_only_self_holds += res.self_holds
        self.play_s += res.echo_frames * FRAME_S
        self._count(res)

    def talk_over(self, res: SceneResult) -> None:
        self._count(res)
        if res.no_speech:
            self.sounds += 1
            self.sounds_paused += res.sound_paused
            return
        self.talkovers += 1
        if res.barged and res.latency_ms is not None and res.latency_ms < 1500:
            self.latencies.append(res.latency_ms)
            self.before_onset += res.before_onset
            self.held_before_onset += res.held_before_onset

    def _count(self, res: SceneResult) -> None:
        self.selfs += res.self_interruptions
        self.self_scenes += res.self_interruptions > 0
        self.holds_resumed += res.holds_resumed
        self.self_holds += res.self_holds
        self.sound_holds += res.sound_holds
        self.stage_ms += res.stage_ms
        self.vad_ms += res.vad_ms

    def merge(self, o: _Tally) -> None:
        for f in self.__dataclass_fields__:
            setattr(self, f, getattr(self, f) + getattr(o, f))

    def row(self) -> dict:
        missed = self.talkovers - len(self.latencies)
        every = self.latencies + [float("inf")] * missed  # a talk-over never heard counts as too slow
        p95_all = float(np.percentile(every, 95, method="higher")) if every else None
        return {
            "erle_db": round(float(10 * np.log10(self.mic / self.out)), 1) if self.out > 0 else 0.0,
            "echo_only_scenes": self.scenes,
            "self_interruptions": self.selfs,
            "scenes_with_self_interruption": self.self_scenes,
            "echo_only_self_interruptions": self.echo_only_selfs,
            "echo_only_scenes_with_self_interruption": self.echo_only_self_scenes,
            "first_reply_scenes": self.first_scenes,
            "first_reply_scenes_with_self_interruption": self.first_self_scenes,
            "talk_overs": self.talkovers,
            "talk_overs_detected_within_1_5s": len(self.latencies),
            "talk_overs_paused_within_120ms": sum(x <= TARGET_MS for x in self.latencies),
            "paused_before_the_onset": self.before_onset,
            "barge_in_latency_ms_p50": _round(_pct(self.latencies, 50)),
            "barge_in_latency_ms_p95": _round(_pct(self.latencies, 95)),
            "barge_in_latency_ms_p95_all": None if p95_all in (None, float("inf")) else round(p95_all, 1),
            "non_speech_sounds": self.sounds,
            "non_speech_sounds_paused": self.sounds_paused,
            "paused_by_a_hold_before_the_onset": self.held_before_onset,
            "holds_resumed": len(self.holds_resumed),
            "hold_resumed_ms_p50": _round(_pct([1000 * x for x in self.holds_resumed], 50)),
            "hold_resumed_ms_max": _round(1000 * max(self.holds_resumed)) if self.holds_resumed else None,
            "holds_resumed_on_own_echo": self.self_holds,
            "echo_only_holds_resumed": self.echo_only_self_holds,
            "echo_only_playback_min": round(self.play_s / 60, 2),
            "holds_resumed_on_a_sound": self.sound_holds,
            "stage_ms_per_frame": round(statistics.fmean(self.stage_ms), 3) if self.stage_ms else 0.0,
            "vad_ms_per_frame": round(statistics.fmean(self.vad_ms), 3) if self.vad_ms else 0.0,
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def synthesize(tts: Tts, texts: tuple[str, ...]) -> list[np.ndarray]:
    steady = Prosody(noise_scale=0.0, noise_w_scale=0.0)  # the same audio in every run
    return [tts.synthesize_all(t, steady).astype(np.float32) for t in texts]


def _print(rows: dict[str, dict], sp: str) -> None:
    modes = list(rows)
    levels = list(rows["aec"][sp]["by_echo_level"])
    lines = [
        ("ERLE (dB)", "erle_db"),
        ("self-interruptions (events)", "self_interruptions"),
        ("echo-only scenes with one", "echo_only_scenes_with_self_interruption"),
        ("  of echo-only scenes", "echo_only_scenes"),
        ("first replies (fresh canceller) with one", "first_reply_scenes_with_self_interruption"),
        ("  of first replies", "first_reply_scenes"),
        ("talk-overs paused within 120 ms", "talk_overs_paused_within_120ms"),
        ("talk-overs paused within 1.5 s", "talk_overs_detected_within_1_5s"),
        ("  of talk-overs", "talk_overs"),
        ("  paused before the words (breath)", "paused_before_the_onset"),
        ("barge-in latency p50 (ms, paused)", "barge_in_latency_ms_p50"),
        ("barge-in latency p95 (ms, paused)", "barge_in_latency_ms_p95"),
        ("barge-in latency p95 (ms, every one)", "barge_in_latency_ms_p95_all"),
        ("non-speech sounds that paused Twin", "non_speech_sounds_paused"),
        ("  of non-speech sounds", "non_speech_sounds"),
        ("holds let go (a gap in Twin's voice)", "holds_resumed"),
        ("  begun on Twin's own echo", "holds_resumed_on_own_echo"),
        ("  in echo-only scenes", "echo_only_holds_resumed"),
        ("  (echo-only playback, minutes)", "echo_only_playback_min"),
        ("  begun on a sound with no speech", "holds_resumed_on_a_sound"),
        ("  gap p50 (ms)", "hold_resumed_ms_p50"),
        ("  gap max (ms)", "hold_resumed_ms_max"),
        ("echo stage ms per 32 ms frame", "stage_ms_per_frame"),
        ("VAD ms per 32 ms frame", "vad_ms_per_frame"),
    ]
    by_level = [(m, lv) for m in ("aec_hold", "aec") if m in rows for lv in levels]
    head = f"{sp.upper() + ' split':38}" + "".join(f" {m:>11}" for m in modes)
    head += "".join(f" {m + ' @' + lv:>20}" for m, lv in by_level)
    print("\n" + head)
    for label, key in lines:
        vals = [rows[m][sp][key] for m in modes]
        at = [rows[m][sp]["by_echo_level"][lv][key] for m, lv in by_level]
        print(
            f"{label:38}" + "".join(f" {_fmt(v):>11}" for v in vals) + "".join(f" {_fmt(v):>20}" for v in at)
        )
    print("(p95 over every talk-over: one never paused counts as too slow; '-' when over 5% were not)")


def _fmt(x) -> str:
    return "-" if x is None else str(x)
