"""Streaming partial transcripts (pipeline/runtime/partials.py): the real ASR re-decodes the growing
utterance of a real recording while it is heard, through the real VAD, endpointer and front end. The
partials grow, the last one (after the last word) holds the request and is the turn's transcript,
and at a pause in real time the end-of-turn verdict is scored on the partial's words."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import fixture_path, wer

from bench.asr import normalize
from pipeline.config import PartialsConfig
from pipeline.events import AudioFrame, PartialTranscript
from pipeline.runtime import front_end as front_end_module
from pipeline.runtime.endpointing import FRAME_S, Endpointer
from pipeline.runtime.partials import PartialTranscriber, attach
from voice.audio import SAMPLE_RATE, AudioClip, load_audio
from voice.vad import FRAME

pytestmark = pytest.mark.models

RECORDING = "speech_to_phrase_en/wav/set a timer for 5 minutes.wav"
SAID = "set a timer for 5 minutes"


def request() -> AudioClip:
    x = load_audio(fixture_path(RECORDING)).samples
    return AudioClip(np.concatenate([np.zeros(int(0.3 * SAMPLE_RATE), np.float32), x]))


def config(cfg, **partials):
    """The session's config with no tools (nothing acts on the session's data) and these partials."""
    return cfg.model_copy(
        update={
            "tools": cfg.tools.model_copy(update={"enabled": False}),
            "partials": PartialsConfig(**({"enabled": True} | partials)),
        }
    )


@pytest.fixture
def no_vocabulary(components, monkeypatch):
    # names other tests stored in the session's data directory must not sway what Whisper hears
    monkeypatch.setattr(components.asr, "vocabulary", None)


def run_live(twin, source):
    from devices.sinks import BufferSink

    return asyncio.run(twin.live(source, BufferSink()))


def test_partials_grow_and_the_last_one_is_the_turns_words(cfg, components, no_vocabulary):
    from devices.sources import ClipSource
    from pipeline.runtime.session import Twin

    twin = Twin(config(cfg), components)
    seen: list[PartialTranscript] = []

    class Observer:  # the session's observers get each partial as an event
        def put(self, event):
            if isinstance(event, PartialTranscript):
                seen.append(event)

    twin.observers.append(Observer())  # type: ignore[arg-type]
    results = run_live(twin, ClipSource(request()))  # as fast as it is taken: each decode awaited
    partials = twin.front_end.partials
    print("\n", [(p["audio_s"], p["at_pause"], p["text"]) for p in partials], [r.transcript for r in results])
    assert [r.status for r in results] == ["completed"]
    # while the user spoke, every 0.6 s of new speech; then once after the last word
    assert len(partials) >= 3
    sizes = [p["audio_s"] for p in partials]
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)  # a growing buffer
    assert [p["at_pause"] for p in partials] == [False] * (len(partials) - 1) + [True]
    assert len(normalize(partials[0]["text"]).split()) < len(normalize(partials[-1]["text"]).split())
    # the last partial holds every word, and the turn took it as its transcript (decoded once)
    assert wer([SAID], [partials[-1]["text"]]) <= 0.2  # at most one word of six misheard
    assert results[0].transcript == partials[-1]["text"]
    assert [e.text for e in seen] == [p["text"] for p in partials]

    # partials off: no partials, and the turn's own decode hears the same request
    off = Twin(config(cfg, enabled=False), components)
    results_off = run_live(off, ClipSource(request()))
    print(" off:", [r.transcript for r in results_off])
    assert off.front_end.partials == []
    assert wer([SAID], [results_off[0].transcript]) <= 0.2


class PartialsInTime:
    """A recording played in real time, except that the next frame waits while a partial is being
    decoded or a verdict is pending: a machine fast enough that each lands within a frame."""

    def __init__(self, clip: AudioClip, twin, made: list[PartialTranscriber]) -> None:
        from devices.sources import ClipSource

        self.source = ClipSource(clip, realtime=True, trailing_silence=2.0)
        self.twin = twin
        self.made = made

    async def frames_iter(self):
        from pipeline.runtime.turn_end import PauseJudge

        async for frame in self.source.frames_iter():
            judge = next((o for o in self.twin.observers if isinstance(o, PauseJudge)), None)
            for _ in range(3000):  # 30 s at most
                decoding = (
                    self.made and self.made[-1]._inflight is not None and not self.made[-1]._inflight.done()
                )
                if not decoding and (judge is None or not judge.ep.awaiting_verdict):
                    break
                await asyncio.sleep(0.01)
            yield frame


def test_in_real_time_the_pause_is_judged_on_the_partials_words(cfg, components, no_vocabulary, monkeypatch):
    from pipeline.runtime.session import Twin

    made: list[PartialTranscriber] = []

    def attach_and_keep(*args, **kwargs):
        transcriber = attach(*args, **kwargs)
        made.append(transcriber)
        return transcriber

    monkeypatch.setattr(front_end_module, "attach_partials", attach_and_keep)
    semantic = config(cfg).model_copy(
        update={"endpointing": cfg.endpointing.model_copy(update={"semantic": True})}
    )
    twin = Twin(semantic, components)
    results = run_live(twin, PartialsInTime(request(), twin, made))
    verdicts = [e for e in twin.front_end.log.events if e["event"] == "turn_end"]
    partials = twin.front_end.partials
    print("\n", [r.transcript for r in results], verdicts, partials)
    assert [r.status for r in results] == ["completed"]
    assert wer([SAID], [results[0].transcript]) <= 0.2
    # the pause after the request: judged on the partial decoded after its last word, in time, done
    assert verdicts and verdicts[-1]["words"] == "partial" and verdicts[-1]["applied"]
    assert verdicts[-1]["window_ms"] <= cfg.device_profile.endpoint_silence_ms
    assert partials[-1]["at_pause"] and results[0].transcript == partials[-1]["text"]


def _frames(samples: np.ndarray, vad):
    vad.reset()
    for i in range(len(samples) // FRAME):
        frame = samples[i * FRAME : (i + 1) * FRAME]
        yield AudioFrame(samples=frame, position=i * FRAME_S, speech_prob=vad.frame_probability(frame))


def test_decodes_are_bounded_one_in_flight_and_capped(components):
    """The transcriber alone on the real ASR: never a second decode while one runs, no decode of an
    utterance longer than the cap, and `covering` only for a partial decoded after the pause's last
    speech frame."""
    asr = components.asr

    async def hear(max_s: float, paced: bool) -> tuple[PartialTranscriber, list, int, object]:
        ep = Endpointer(400)
        got: list = []
        pt = PartialTranscriber(
            lambda x: asr.transcribe(x, "en", True), components.pools.asr, max_s=max_s, on_partial=got.append
        )
        skipped = 0
        covered = None
        for f in _frames(
            np.concatenate([request().samples, np.zeros(SAMPLE_RATE, np.float32)]), components.vad
        ):
            out = ep.push(f)
            busy = pt._inflight is not None and not pt._inflight.done()
            started = pt.hear(ep)
            if busy:
                skipped += started is None
                assert started is None  # one in flight at most
            if started is not None and not paced:
                await started
            if type(out).__name__ == "SpeechPaused" and not paced:
                covered = pt.covering(out.voiced)
                covered = await covered if covered is not None else None
                assert pt.covering(out.voiced + 1) is None  # other words: not this pause's
            await asyncio.sleep(0)
        if pt._inflight is not None:
            await pt._inflight
        return pt, got, skipped, covered

    pt, got, _, covered = asyncio.run(hear(12.0, paced=False))
    assert len(got) >= 3 and got[-1].silence > 0
    assert covered is not None and covered.text == got[-1].text
    # frames faster than a decode, none awaited: frames that came while a decode ran started none
    busy, got_busy, skipped, _ = asyncio.run(hear(12.0, paced=True))
    assert skipped > 0 and busy.decodes == len(got_busy) < pt.decodes + skipped
    capped, got_capped, _, covered_capped = asyncio.run(hear(1.0, paced=False))
    assert got_capped and all(p.audio_s <= 1.0 for p in got_capped)
    assert covered_capped is None  # the utterance outgrew the cap: its turn transcribes it
    assert capped.decodes == len(got_capped)


def test_words_the_last_decode_missed_are_decoded_at_the_silences_second_frame(components):
    """A decode that began before the last words were said leaves them out: the next one starts at
    the silence's second frame, not once the pause is noticed (160 ms, 5 frames), so the pause's
    words are known ~100 ms sooner. A one-frame gap after a little new speech starts none (a gap
    between words), and nothing new since the last decode starts none at all."""
    speech = request().samples
    ep = Endpointer(400)
    pt = PartialTranscriber(lambda x: components.asr.transcribe(x, "en", True), components.pools.asr)

    def frame(i: int, prob: float) -> AudioFrame:
        return AudioFrame(samples=speech[i * FRAME : (i + 1) * FRAME], position=i * FRAME_S, speech_prob=prob)

    async def run() -> list[tuple[int, int]]:
        started = []  # (voiced frames, silent frames) at each decode started
        probs = [0.9] * (pt.every_frames + 3) + [0.0] * 6 + [0.9] + [0.0] * 6
        for i, prob in enumerate(probs):
            ep.push(frame(i, prob))
            if (decode := pt.hear(ep)) is not None:
                started.append((ep.voiced, ep.silence))
                await decode
        return started

    started = asyncio.run(run())
    cadence = pt.every_frames
    # mid-speech at the cadence; then 3 new voiced frames, fewer than a gap's 6: the second silent
    # frame decodes them; one more voiced frame after the silence: again at the second silent frame
    assert started == [(cadence, 0), (cadence + 3, 2), (cadence + 4, 2)], started


def test_off_naive_and_the_spoken_name_wake(cfg, components):
    """`[partials] enabled = false` and the naive baseline get none; with `quiet` (the spoken-name
    wake: the utterance may not be for Twin) partials are neither logged nor sent to observers, and
    their words still reach the pause."""
    seen: list = []
    twin = SimpleNamespace(
        cfg=SimpleNamespace(partials=PartialsConfig(enabled=False), asr=cfg.asr),
        naive=False,
        asr_lead="",  # the session's word leading its ASR prompt (none here)
        observers=[SimpleNamespace(put=seen.append)],
        c=components,
    )
    assert attach(twin, Endpointer(400)) is None  # type: ignore[arg-type]
    twin.cfg.partials = PartialsConfig(enabled=True)
    twin.naive = True
    assert attach(twin, Endpointer(400)) is None  # type: ignore[arg-type]
    twin.naive = False

    async def quietly() -> tuple[list, PartialTranscriber]:
        ep, log = Endpointer(400), []
        pt = attach(twin, ep, log, quiet=True)  # type: ignore[arg-type]
        assert pt is not None
        for f in _frames(request().samples, components.vad):
            ep.push(f)
            if (started := pt.hear(ep)) is not None:
                await started
        return log, pt

    log, pt = asyncio.run(quietly())
    assert pt.decodes >= 2 and pt.latest is not None and pt.latest.text
    assert log == [] and seen == []


def test_a_pause_is_judged_on_its_partials_words_and_falls_back_to_the_turns(cfg, components):
    """With the pause's partial, its words decide the window and the turn's later transcript is not
    judged again; when the partial gives no words (its decode failed), the turn's transcript is."""
    from pipeline.events import SpeechPaused, TranscriptReady
    from pipeline.runtime.turn_end import PauseJudge, Windows, lm_turn_end
    from voice.capabilities import Transcript

    model = lm_turn_end(components.llm)
    assert model is not None

    async def window_after(partial: str | None, turn_words: str) -> int:
        ep = Endpointer(400)
        judge = PauseJudge(model, ep, Windows.from_config(cfg.endpointing, 400), components.pools.llm)
        pause = None
        for i in range(60):
            prob = 0.9 if i < 40 else 0.0
            out = ep.push(
                AudioFrame(samples=np.zeros(FRAME, np.float32), position=i * FRAME_S, speech_prob=prob)
            )
            if isinstance(out, SpeechPaused):
                pause = out
                break
        assert pause is not None
        loop = asyncio.get_running_loop()
        early = loop.create_future()
        turn = loop.create_future()  # the speculative turn, still running
        turn.turn_id = 3  # type: ignore[attr-defined]
        judge.expect(turn, pause.voiced, early)  # type: ignore[arg-type]
        early.set_result(None if partial is None else Transcript(partial, "en", 1.0, 1.0))
        await judge._judging
        judge.put(TranscriptReady(turn_id=3, text=turn_words, language="en"))
        if judge._judging is not None:
            await judge._judging
        return ep.window_ms

    hold, done = cfg.endpointing.hold_ms, cfg.endpointing.done_ms
    # the partial's words decide; the turn's (here: other) words are not judged again
    assert abs(asyncio.run(window_after("set a timer for", "set a timer for ten minutes")) - hold) <= 32
    assert abs(asyncio.run(window_after("set a timer for ten minutes", "set a timer for")) - done) <= 32
    # no words from the partial: the turn's transcript is judged, as without partials
    assert abs(asyncio.run(window_after(None, "set a timer for")) - hold) <= 32


def test_words_heard_mid_speech_are_scored_before_the_pause(cfg, components):
    """Each partial's words are scored as they come, mid-speech too: when the pause's words are those
    of the last mid-speech partial (the user said nothing new), its verdict needs no second score; new
    words are scored anew. With `score_mid_speech = false` only a pause's words are scored."""
    from pipeline.runtime.turn_end import PauseJudge, Windows, lm_turn_end

    model = lm_turn_end(components.llm)
    assert model is not None
    scored: list[str] = []

    class Counted:
        def p_end(self, text: str) -> float:
            scored.append(text)
            return model.p_end(text)

    async def run(mid_speech: bool = True) -> list[list[str]]:
        ep = Endpointer(400)
        windows = Windows.from_config(cfg.endpointing, 400)
        judge = PauseJudge(Counted(), ep, windows, components.pools.llm, score_mid_speech=mid_speech)
        scored.clear()
        seen = []

        async def hear(text: str, at_pause: bool) -> None:
            heard = {"position": 1.0, "audio_s": 1.0, "voiced": 20, "decode_ms": 1.0}
            judge.put(PartialTranscript(text=text, language="en", at_pause=at_pause, **heard))
            await asyncio.wrap_future(components.pools.llm.submit(lambda: None))  # the model's queue ran
            seen.append(list(scored))

        await hear("Set a timer for ten minutes.", at_pause=False)  # mid-speech
        await hear("set a timer for ten minutes", at_pause=True)  # the same words at the pause
        await hear("Set a timer for ten minutes and", at_pause=True)  # new words
        return seen

    mid, pause, new = asyncio.run(run())
    assert mid == ["Set a timer for ten minutes."]  # scored while the user was still speaking
    assert pause == mid  # the pause's verdict takes that score: no second evaluation
    assert new == [*mid, "Set a timer for ten minutes and"]

    mid, pause, new = asyncio.run(run(mid_speech=False))
    assert mid == []  # off: nothing scored while the user speaks
    assert pause == ["set a timer for ten minutes"]
    assert new == [*pause, "Set a timer for ten minutes and"]


def test_twin_live_input_json_shows_the_partials(cfg, components, no_vocabulary, tmp_path):
    """`twin live --input FILE --json`: the report lists the partials beside the turns."""
    import argparse
    import json

    from pipeline.cli.talk import live_file
    from pipeline.runtime.hands_free import WakeGate
    from pipeline.runtime.session import Twin
    from voice.audio import write_wav

    path = tmp_path / "mic.wav"
    write_wav(path, np.concatenate([request().samples, np.zeros(SAMPLE_RATE, np.float32)]), SAMPLE_RATE)
    args = argparse.Namespace(input=path, realtime=False, output=None, json=True, event=[])
    twin = Twin(config(cfg), components)
    report = json.loads(json.dumps(live_file(twin, args, WakeGate.from_config(cfg, "none"))))
    print("\n", report["partials"])
    assert len(report["turns"]) == 1 and len(report["partials"]) >= 3
    assert (
        report["partials"][-1]["at_pause"]
        and report["partials"][-1]["text"] == report["turns"][0]["transcript"]
    )
