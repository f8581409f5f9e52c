"""What each `twin` subcommand does. Output for people by default, `--json` for scripts."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from devices.sinks import BufferSink
from devices.sources import ClipSource
from models.errors import TwinError
from pipeline.config import TwinConfig, check_turn_text
from pipeline.events import Notice
from pipeline.runtime.components import Components
from pipeline.runtime.session import Twin
from pipeline.runtime.turn import TurnResult
from voice.audio import check_output_path, load_audio, write_wav

DEMO_SCRIPT = (
    "Hi Twin, my name is Sam. What can you help me with?",
    "What is the capital of France?",
    "Give me one quick tip for sleeping better.",
    "Thanks. Do you remember my name?",
)


def _timing_line(t: dict[str, float | None]) -> str:
    keys = ("vad", "asr", "llm_first_token", "llm_total", "tts_first_audio", "voice_to_voice")
    return "  ".join(f"{k}={t[k]:.0f}ms" for k in keys if t.get(k) is not None)


def _result_json(r: TurnResult) -> dict:
    return {
        "transcript": r.transcript,
        "reply": r.reply,
        "audio_out": r.audio_path or None,
        "timings_ms": r.timings_ms,
        "status": r.status,
        "language": r.language,
        "notice": r.notice or None,
    }


def _save_reply(r: TurnResult, path: Path) -> None:
    if len(r.audio):
        write_wav(path, r.audio, r.sample_rate)
        r.audio_path = str(path)


def cmd_demo(cfg: TwinConfig, args: argparse.Namespace) -> int:
    out_dir = args.output_dir or cfg.data_path / "demo"
    comps = Components(cfg)
    print("Loading models (VAD, ASR, LLM, TTS)…", flush=True)
    t0 = time.monotonic()
    comps.load_all()
    print(
        f"Loaded in {time.monotonic() - t0:.1f} s. A {len(DEMO_SCRIPT)}-turn spoken conversation follows: "
        "the user's voice is synthesized and played into the live loop in real time.\n"
    )
    # The scripted user is not you: the demo remembers into a scratch store, never your memory.
    scratch = tempfile.TemporaryDirectory(prefix="twin-demo-memory-")
    if cfg.memory.enabled:
        from memory import Memory

        comps.memory = Memory.open(Path(scratch.name))  # type: ignore[misc]
    twin = Twin(cfg, comps)
    twin.warm_up()

    async def run() -> None:
        for i, line in enumerate(DEMO_SCRIPT, 1):
            # The user's voice: synthesized with the bundled voice, then heard through VAD and ASR.
            clip = _speak_as_user(comps, line)
            write_wav(out_dir / f"turn{i}-user.wav", clip.samples, 16_000)
            # Played into the live loop at the pace a microphone delivers it.
            results = await twin.live(ClipSource(clip, realtime=True, trailing_silence=1.0), BufferSink())
            if not results:
                print(f"turn {i}: Twin heard no speech in the user's audio\n")
                continue
            r = results[-1]
            _save_reply(r, out_dir / f"turn{i}-twin.wav")
            print(f"turn {i}")
            print(f"  user said : {line}")
            print(f"  Twin heard: {r.transcript}")
            print(f"  Twin said : {r.reply}")
            print(f"  timings   : {_timing_line(r.timings_ms)}")
            print(f"  audio     : {r.audio_path}\n", flush=True)

    asyncio.run(run())
    twin.flush_memory()
    comps.close()  # closes the scratch store
    scratch.cleanup()
    print(f'Reply audio is in {out_dir}. Try `twin listen FILE`, `twin ask "..."` or `twin trace`.')
    return 0


def _speak_as_user(comps: Components, text: str):
    from voice.audio import SAMPLE_RATE, AudioClip, resample

    audio = comps.tts.synthesize_all(text)
    samples = resample(audio, comps.tts.sample_rate, SAMPLE_RATE)
    return AudioClip(samples, SAMPLE_RATE, source=f"synthesized: {text}")


def cmd_listen(cfg: TwinConfig, args: argparse.Namespace) -> int:
    clip = load_audio(args.audio, max_seconds=cfg.audio.max_file_minutes * 60)
    out = args.output or cfg.data_path / "replies" / f"turn-{datetime.now():%Y%m%d-%H%M%S}.wav"
    check_output_path(out)  # a bad --output fails now, not after the turn and its tool actions
    comps = Components(cfg)
    comps.load_all()
    twin = Twin(cfg, comps)
    result = asyncio.run(twin.listen_clip(clip, BufferSink()))
    if result.status == "no_speech":
        from voice.errors import NoSpeechError

        raise NoSpeechError(
            f"no words were recognised in {args.audio}", "speak clearly, closer to the microphone"
        )
    _save_reply(result, out)
    if args.json:
        print(json.dumps(_result_json(result), ensure_ascii=False))
    else:
        print(f"heard: {result.transcript}\nsaid : {result.reply}")
        if result.notice:
            print(f"note : {result.notice}")
        print(f"audio: {result.audio_path or '-'}\n{_timing_line(result.timings_ms)}")
    comps.close()
    return 0


def cmd_ask(cfg: TwinConfig, args: argparse.Namespace) -> int:
    text = check_turn_text(args.text)  # before any model loads: too long, or nothing readable
    comps = Components(cfg)
    twin = Twin(cfg, comps)
    memory = comps.memory
    if memory is not None and memory.items:
        # one turn, so no warm-up while waiting: without this its recall (60 ms budget) would
        # always miss, loading the sentence encoder (~0.7 s), and the reply would ignore memory
        memory.warm()
    result = asyncio.run(twin.ask(text))
    if args.json:
        print(json.dumps(_result_json(result) | {"transcript": text}, ensure_ascii=False))
    else:
        print(result.reply)
    comps.close()
    return 0


def cmd_transcribe(cfg: TwinConfig, args: argparse.Namespace) -> int:
    """Each file on its own: a bad file is reported and the others are still transcribed."""
    from models.errors import TwinError

    comps = Components(cfg)
    rows: list[dict] = []
    failed = 0
    for f in args.files:
        try:
            clip = load_audio(f, max_seconds=cfg.audio.max_file_minutes * 60)
        except TwinError as exc:
            failed += 1
            print(exc.user_message(), file=sys.stderr)
            rows.append({"file": str(f), "error": exc.code, "message": exc.message})
            continue
        t0 = time.monotonic()
        tr = comps.asr.transcribe(clip, cfg.asr.language, cfg.asr.vad_filter)
        ms = (time.monotonic() - t0) * 1000
        rows.append(
            {
                "file": str(f),
                "text": tr.text,
                "language": tr.language,
                "duration_s": round(clip.duration, 2),
                "asr_ms": round(ms, 1),
            }
        )
        if not args.json:
            print(f"{f}: {tr.text}" if len(args.files) > 1 else tr.text)
    if args.json:
        print(json.dumps(rows if len(rows) > 1 else rows[0], ensure_ascii=False))
    return 2 if failed else 0


def cmd_say(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from persona import to_spoken

    text = to_spoken(args.text)
    if not text:
        from models.errors import BadInputError

        raise BadInputError("nothing to say: the text is empty", 'twin say "hello" --output hello.wav')
    check_output_path(args.output)
    comps = Components(cfg)
    twin = Twin(cfg, comps)
    audio = comps.tts.synthesize_all(text, twin.prosody)
    write_wav(args.output, audio, comps.tts.sample_rate)
    print(f"{args.output} ({len(audio) / comps.tts.sample_rate:.1f} s)")
    return 0


def cmd_models(cfg: TwinConfig, args: argparse.Namespace) -> int:
    comps = Components(cfg)
    rows = comps.report(load=args.check)
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], indent=1))
        return 0
    print(f"{'role':5} {'model':30} {'source':8} {'size':>9} {'sha256':8} {'device':14} path")
    for r in rows:
        ok = "ok" if r.sha256_ok else "unchecked"
        print(
            f"{r.role:5} {r.name:30} {r.source:8} {r.size_bytes / 2**20:7.1f}MB {ok:8} {r.device:14} {r.path}"
        )
    return 0


def cmd_trace(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from pipeline.runtime.trace import TraceStore

    records = TraceStore(cfg.data_path / "traces.jsonl", cfg.trace_turns).load()[-max(1, args.last) :]
    if args.json:
        print(json.dumps(records, ensure_ascii=False, indent=1))
        return 0
    if not records:
        print("no turns recorded yet: run `twin demo`, `twin listen FILE` or `twin ask TEXT`")
        return 0
    for r in records:  # .get: a record from an older Twin may lack a field; it is shown, not fatal
        turn, at = r.get("turn_id", "?"), r.get("at", "?")
        print(f"turn {turn} at {at} ({r.get('mode', '?')}, {r.get('status', '?')})")
        print(f"  heard: {r.get('heard_from_user', '')}\n  said : {r.get('reply', '')}")
        for e in r.get("events") or []:
            detail = {k: v for k, v in e.items() if k not in ("event", "t", "t_ms", "turn_id")}
            text = ", ".join(f"{k}={str(v)[:60]}" for k, v in detail.items())
            print(f"  {e.get('t_ms', 0.0):>9.1f} ms  {e.get('event', '?'):16} {text}")
        print(f"  timings: {_timing_line(r.get('timings_ms') or {})}\n")
    return 0


def _turn_lines(r: TurnResult) -> str:
    if r.mode == "alert":  # a timer, alarm or reminder ringing
        return f"twin (alert): {r.heard}"
    lines = [f"you : {r.transcript}"]
    for e in r.events:  # Twin's questions and the spoken answers, in order
        if isinstance(e, Notice) and e.code in ("asking", "answer"):
            lines.append(f"{'twin' if e.code == 'asking' else 'you '}: {e.message}")
    lines.append(f"twin: {r.heard}{' [interrupted]' if r.status == 'interrupted' else ''}")
    return "\n".join(lines) + f"\n      {_timing_line(r.timings_ms)}"


def _device_events(specs: list[str]) -> list[tuple[float, str]]:
    """--event KIND@SECONDS, sorted by time."""
    from models.errors import BadInputError

    out = []
    for spec in specs:
        kind, _, at = spec.partition("@")
        try:
            out.append((float(at), kind))
        except ValueError:
            raise BadInputError(f"bad --event '{spec}'", "give KIND@SECONDS, e.g. push_to_talk@2.5") from None
    return sorted(out)


class _EventsAt:
    """A frame source that raises device events (a push-to-talk, a tap) at their times in it."""

    def __init__(self, source, gate, events: list[tuple[float, str]]) -> None:
        self.source, self.gate, self.events = source, gate, list(events)

    async def frames_iter(self):
        async for frame in self.source.frames_iter():
            while self.events and self.events[0][0] <= frame.position:
                self.gate.trigger(self.events.pop(0)[1])
            yield frame


def _file_input(cfg: TwinConfig, args: argparse.Namespace, gate):
    """The recording and its device events, checked before any model loads."""
    from devices.sources import FileSource
    from models.errors import BadInputError

    source = FileSource(args.input, realtime=args.realtime, max_seconds=cfg.audio.max_file_minutes * 60)
    events = _device_events(args.event)
    if events and gate is None:
        raise BadInputError("--event needs a wake gate", "drop --wake none, or the --event flags")
    for _, kind in events:
        if kind not in gate.events:
            allowed = ", ".join(gate.events) or "only the wake word"
            raise BadInputError(
                f"the {cfg.profile} profile does not wake on '{kind}'", f"this profile wakes on: {allowed}"
            )
    return source, events


def live_file(twin: Twin, args: argparse.Namespace, gate, prepared=None) -> dict:
    """`twin live --input FILE`: the live front end on a recording. Returns the JSON report; writes
    what Twin would have played to `args.output`, each reply where it would have begun."""
    from devices.sinks import BufferSink, PacedSink

    source, events = prepared or _file_input(twin.cfg, args, gate)
    feed = _EventsAt(source, gate, events) if events else source
    sink = (PacedSink if args.realtime else BufferSink)(clock=lambda: source.position)
    errors: list[str] = []

    def failed(error: BaseException) -> None:
        errors.append(error.message if isinstance(error, TwinError) else repr(error))

    results = asyncio.run(twin.live(feed, sink, on_error=failed, wake=gate))
    report = {
        "input": str(args.input),
        "profile": twin.cfg.profile,
        "wake": gate.detector.descriptor.name if gate and gate.detector else ("name" if gate else "none"),
        "duration_s": round(source.duration, 3),
        "turns": [_result_json(r) | {"turn_id": r.turn_id, "heard_by_user": r.heard} for r in results],
        "events": twin.front_end.log.events,
        "partials": twin.front_end.partials,  # the words while the user spoke (pipeline/runtime/partials.py)
        "errors": errors,
        "output": None,
    }
    if args.output:
        rate = twin.c.tts.sample_rate
        write_wav(args.output, sink.session_audio(rate, until=source.duration), rate)
        report["output"] = str(args.output)
    return report


def cmd_live(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from pipeline.runtime.hands_free import WakeGate

    if args.output:
        check_output_path(args.output)
    if (args.output or args.json or args.realtime or args.event) and not args.input:
        from models.errors import BadInputError

        raise BadInputError(
            "--output, --json, --realtime and --event go with --input FILE", "twin live --input FILE"
        )
    gate = WakeGate.from_config(cfg, args.wake)  # an unknown wake word fails before models load
    if args.input:
        prepared = _file_input(cfg, args, gate)  # a bad file or --event fails before models load
        comps = Components(cfg)
        comps.load_all()
        twin = Twin(cfg, comps)
        twin.warm_up()
        report = live_file(twin, args, gate, prepared)
        twin.flush_memory()
        comps.close()
        if args.json:
            print(json.dumps(report, ensure_ascii=False))
        else:
            for turn in report["turns"]:
                print(f"you : {turn['transcript']}\ntwin: {turn['heard_by_user']} [{turn['status']}]")
            for e in report["events"]:
                print(f"  {e['position_s']:8.2f} s  {e['event']}")
            if report["output"]:
                print(f"audio: {report['output']}")
        return 0
    return _live_device(cfg, gate)


def _live_device(
    cfg: TwinConfig,
    gate,
    comps: Components | None = None,
    max_turns: int | None = None,
    max_seconds: float | None = None,
) -> int:
    """The microphone and the speaker (audio.input_device / output_device). `comps`, `max_turns`
    and `max_seconds`: for a caller that embeds the live loop with its own models and an end."""
    from devices.sinks import SpeakerSink
    from devices.sources import MicrophoneSource

    def notice(code: str, message: str) -> None:  # the device's own news: lost, back, resampled, clipping
        print(f"notice [{code}]: {message}", flush=True)

    source = MicrophoneSource(cfg.audio.input_device, max_seconds, on_notice=notice)
    source.reopen_s = cfg.audio.reopen_s
    sink = SpeakerSink(cfg.audio.output_device)
    sink.stuck_s = cfg.audio.stuck_s
    if comps is None:
        comps = Components(cfg)
        print("Loading models…", flush=True)
        comps.load_all()
    twin = Twin(cfg, comps)
    twin.warm_up()
    if gate is None:
        how = "Speak"
    elif gate.by_name:
        how = f"Begin with '{cfg.wake.name}, …'"
    else:
        how = f"Say '{gate.detector.descriptor.phrase}', then your request"
    print(f"Listening ({cfg.profile} profile). {how}; Ctrl-C to stop.", flush=True)

    def failed(error: BaseException) -> None:
        if isinstance(error, TwinError):
            print(error.user_message(), file=sys.stderr, flush=True)
        else:
            print(f"error [internal]: that turn failed ({error!r}); still listening", file=sys.stderr)

    show = lambda r: print(_turn_lines(r), flush=True)  # noqa: E731
    asyncio.run(twin.live(source, sink, on_turn=show, on_error=failed, max_turns=max_turns, wake=gate))
    sink.close()
    return 0


def cmd_bench(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from bench.latency import run_latency_bench

    return run_latency_bench(cfg, args.turns, args.json_file, not args.no_commands)
