"""`twin enroll`, `twin speakers list|remove|role`, `twin who` and `twin bench identity`: the
voice-identity commands, kept beside each other and registered through cli.COMMAND_MODULES."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

from pipeline.config import TwinConfig

ROLES = ("owner", "adult", "child")  # voice.speakers.ROLES (kept here so --help needs no numpy)
_FORCE_HELP = (
    "with owner as the role: make this person the owner even though someone else is; "
    "the previous owner becomes an adult (without --force that is refused: one owner per household)"
)


def register(sub, common, bench_sub) -> None:
    p = sub.add_parser(
        "enroll",
        parents=[common],
        help="enrol (or re-enrol) a person's voice from recordings",
        description="Enrol (or re-enrol) a person's voice from two or more recordings of them alone. "
        "The first person enrolled is the owner unless --role says otherwise; later ones are adults. "
        "A household has one owner: --role owner while another owner is enrolled needs --force, "
        "and the previous owner then becomes an adult.",
    )
    p.add_argument("name")
    p.add_argument("audio", type=Path, nargs="+", help="two or more recordings of the person alone")
    p.add_argument("--add", action="store_true", help="add these recordings to an existing profile")
    p.add_argument(
        "--role",
        choices=ROLES,
        help="household role: owner, adult or child (default: the current role when re-enrolling, "
        "else owner for the first voice enrolled and adult after that)",
    )
    p.add_argument("--force", action="store_true", help=_FORCE_HELP)
    p.add_argument(
        "--accept-weak",
        action="store_true",
        help="store the profile even when its quality verdict is weak (too little speech, recordings "
        "that disagree, or a voice close to another); without it a weak profile is refused (exit 2, "
        "enrol_more_speech) and nothing is stored",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_enroll)

    p = sub.add_parser("speakers", parents=[common], help="enrolled voices: list, remove, or change a role")
    ssub = p.add_subparsers(dest="speakers_action", required=True)
    s = ssub.add_parser("list", parents=[common], help="the enrolled voices and their roles")
    s.add_argument("--json", action="store_true")
    s.set_defaults(handler=cmd_speakers_list)
    s = ssub.add_parser("remove", parents=[common], help="forget a person's voice")
    s.add_argument("name")
    s.set_defaults(handler=cmd_speakers_remove)
    s = ssub.add_parser(
        "role",
        parents=[common],
        help="change a person's household role (owner, adult, child)",
        description="Change a person's household role. A household has one owner: making someone "
        "the owner while another is enrolled is refused unless --force is given, and then the "
        "previous owner becomes an adult.",
    )
    s.add_argument("name")
    s.add_argument("role", choices=ROLES)
    s.add_argument("--force", action="store_true", help=_FORCE_HELP)
    s.add_argument("--json", action="store_true")
    s.set_defaults(handler=cmd_speakers_role)

    p = sub.add_parser("who", parents=[common], help="who is speaking in a recording, and how they sound")
    p.add_argument("audio", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_who)

    b = bench_sub.add_parser(
        "identity", parents=[common], help="speaker EER/accuracy (clean, noise, reverb), added turn cost"
    )
    b.add_argument("--json", type=Path, dest="json_file", help="also write the figures here")
    b.add_argument(
        "--data",
        type=Path,
        help="a RAVDESS folder (your download): real voices, 6 enrolled and 6 strangers per split, "
        "instead of the fixtures",
    )
    b.set_defaults(handler=cmd_bench_identity)
    b = bench_sub.add_parser(
        "speaker-encoder",
        parents=[common],
        help="Resemblyzer embed time and RSS: numpy + onnxruntime (now) vs torch (before)",
    )
    b.add_argument("--repeats", type=int, default=5, help="times each of the 12 fixture clips is embedded")
    b.add_argument("--json", type=Path, dest="json_file", help="also write the figures here")
    b.set_defaults(handler=cmd_bench_speaker_encoder)
    b = bench_sub.add_parser(
        "emotion",
        parents=[common],
        help="arousal AUC on real acted speech (RAVDESS / TESS folders you supply), before vs now",
    )
    b.add_argument(
        "--data",
        type=Path,
        nargs="+",
        help="RAVDESS and/or TESS folders (default: the folders in TWIN_EMOTION_DATA, separated by ':')",
    )
    b.add_argument("--quick", action="store_true", help="every fourth clip (~30 s instead of ~100 s)")
    b.add_argument("--no-noise", action="store_true", help="skip the 10 dB noise condition")
    b.add_argument("--json", type=Path, dest="json_file", help="also write the figures here")
    b.set_defaults(handler=cmd_bench_emotion)


def _components(cfg: TwinConfig):
    from pipeline.runtime.components import Components

    return Components(cfg)


def cmd_enroll(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from voice.audio import load_audio
    from voice.emotion import baseline_from, prosody_features

    # The name, role and one-owner checks need no models: fail fast, before anything loads.
    _registry(cfg).prepare_enrolment(args.name, args.role, args.force)
    clips = [load_audio(f, max_seconds=120) for f in args.audio]
    comps = _components(cfg)
    t0 = time.monotonic()
    registry = comps.speakers
    # The transcript gives the syllable count for the speaker's usual speaking rate.
    texts = [comps.asr.transcribe(c, cfg.asr.language, cfg.asr.vad_filter).text for c in clips]
    baseline = baseline_from([prosody_features(c, t) for c, t in zip(clips, texts, strict=True)])
    t1 = time.monotonic()
    previous_owners = registry.owner_names()
    profile = registry.enroll(
        args.name,
        clips,
        baseline,
        replace=not args.add,
        role=args.role,
        force=args.force,
        require_quality=not args.accept_weak,
    )
    enrol_s = time.monotonic() - t1
    speech = sum(c.duration for c in clips)
    out = {
        "name": profile.name,
        "role": profile.role,
        "recordings": len(profile.embeddings),
        "threshold": profile.threshold,
        "audio_seconds": round(speech, 1),
        "enrol_seconds": round(enrol_s, 2),
        "total_seconds": round(time.monotonic() - t0, 2),
        "quality": profile.quality,
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(
            f"Enrolled {profile.name} from {len(profile.embeddings)} recordings ({speech:.1f} s of audio); "
            f"acceptance threshold {profile.threshold:.3f} (calibrated from these recordings); "
            f"role {profile.role}."
        )
        for name in previous_owners:
            if name != profile.name and profile.role == "owner":
                print(f"  {name} is now an adult (one owner per household)")
        print(f"  voice quality: {_quality_line(profile.quality)}")
        if profile.quality and not profile.quality.get("ok", True):
            print(
                f"  kept as asked (--accept-weak), but say a few more sentences: record them and add "
                f"them with `twin enroll {profile.name} more.wav --add`"
            )
        elif len(profile.embeddings) < 3:
            print("  tip: three or more recordings make identification more reliable")
    comps.close()
    return 0


def _quality_line(quality: dict) -> str:
    """The stored quality verdict (voice.speakers.quality.EnrolQuality.to_json()) in one line."""
    if not quality:
        return "not assessed (enrolled before quality checks)"
    parts = [f"{quality['speech_seconds']:.1f} s of speech in {quality['recordings']} recording(s)"]
    if quality.get("consistency") is not None:
        parts.append(f"recordings agree {quality['consistency']:.2f}")
    if quality.get("separation") is not None:
        parts.append(f"{quality['separation']:+.2f} clear of {quality['closest']}")
    verdict = "good" if quality.get("ok") else "weak (" + ", ".join(quality.get("reasons", [])) + ")"
    return f"{verdict}: " + ", ".join(parts)


def _registry(cfg: TwinConfig):
    """Listing and removing need no models: the embedder is only loaded to embed audio."""
    from voice.speakers import SpeakerRegistry

    class _NoEmbedder:
        descriptor = None

        def embed(self, audio):  # pragma: no cover - never called by list/remove
            raise RuntimeError("no embedder loaded")

    return SpeakerRegistry(cfg.data_path / "speakers", _NoEmbedder())  # type: ignore[arg-type]


def cmd_speakers_list(cfg: TwinConfig, args: argparse.Namespace) -> int:
    reg = _registry(cfg)
    rows = [
        {
            "name": p.name,
            "role": p.role,
            "recordings": len(p.embeddings),
            "threshold": p.threshold,
            "backend": p.backend,
            "enrolled": datetime.fromtimestamp(p.created).isoformat(timespec="seconds"),
            "updated": datetime.fromtimestamp(p.updated).isoformat(timespec="seconds"),
            "quality": p.quality,
            "learned_turns": sum(1 for r in p.samples if r.get("origin") == "turn"),
        }
        for p in reg.profiles.values()
    ]
    for path in reg.skipped:
        print(f"warning: skipped the unreadable voice profile {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(rows))
    elif not rows:
        print("No voices enrolled. Enrol one with `twin enroll NAME a.wav b.wav c.wav`.")
    else:
        for r in rows:
            learned = f" ({r['learned_turns']} from confirmed turns)" if r["learned_turns"] else ""
            print(
                f"{r['name']:20} {r['role']:6} {r['recordings']} recordings{learned}  "
                f"threshold {r['threshold']:.3f}  updated {r['updated']}"
            )
            print(f"{'':20} voice quality: {_quality_line(r['quality'])}")
        if not reg.owner_names():
            print("No owner: make someone the owner with `twin speakers role NAME owner`.")
    return 0


def cmd_speakers_role(cfg: TwinConfig, args: argparse.Namespace) -> int:
    reg = _registry(cfg)
    before = reg.owner_names()
    profile = reg.set_role(args.name, args.role, force=args.force)
    demoted = [n for n in before if n != profile.name and n not in reg.owner_names()]
    if args.json:
        print(json.dumps({"name": profile.name, "role": profile.role, "demoted": demoted}))
        return 0
    said = {"owner": "the owner", "adult": "an adult", "child": "a child"}[profile.role]
    print(f"{profile.name} is now {said}.")
    for name in demoted:
        print(f"{name} is now an adult (one owner per household).")
    if not reg.owner_names():
        print("Nobody is the owner now: make someone the owner with `twin speakers role NAME owner`.")
    return 0


def cmd_speakers_remove(cfg: TwinConfig, args: argparse.Namespace) -> int:
    reg = _registry(cfg)
    name = reg.get(args.name).name
    reg.remove(name)
    print(f"Removed {name}'s voice profile.")
    return 0


def cmd_who(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from voice.audio import load_audio
    from voice.emotion import estimate_json

    clip = load_audio(args.audio, max_seconds=cfg.audio.max_file_minutes * 60)
    comps = _components(cfg)
    listener = comps.listener
    signals = listener.hear(clip)
    tr = comps.asr.transcribe(clip, cfg.asr.language, cfg.asr.vad_filter)
    emotion = listener.conclude(signals, tr.text, tr.language)
    out = {"speaker": signals.speaker.name, "score": signals.speaker.score, "emotion": estimate_json(emotion)}
    if args.json:
        print(json.dumps(out))
    else:
        who = (
            signals.speaker.name
            if signals.speaker.name != "unknown"
            else "unknown (no enrolled voice matched)"
        )
        print(f"speaker: {who}  score {signals.speaker.score:.3f}")
        print(
            f"sounds : {emotion.label} (valence {emotion.valence:+.2f}, arousal {emotion.arousal:+.2f}, "
            f"confidence {emotion.confidence:.2f})"
        )
        if tr.text:
            print(f"said   : {tr.text}")
    comps.close()
    return 0


def cmd_bench_identity(cfg: TwinConfig, args: argparse.Namespace) -> int:
    if args.data is not None:
        from bench.identity_real import run_identity_real

        return run_identity_real(cfg, args.data, args.json_file)
    from bench.identity import run_identity_bench

    return run_identity_bench(cfg, args.json_file)


def cmd_bench_emotion(cfg: TwinConfig, args: argparse.Namespace) -> int:
    import os

    from bench.emotion import run_emotion_bench
    from models.errors import BadInputError

    data = args.data or [Path(p) for p in os.environ.get("TWIN_EMOTION_DATA", "").split(":") if p]
    if not data:
        raise BadInputError(
            "twin bench emotion needs recordings of acted emotions, and none ship with Twin",
            "download RAVDESS (Audio_Speech_Actors_01-24) or TESS and pass --data FOLDER",
        )
    return run_emotion_bench(data, args.json_file, quick=args.quick, noise=not args.no_noise)


def cmd_bench_speaker_encoder(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from bench.speaker_encoder import run_speaker_encoder_bench

    return run_speaker_encoder_bench(args.json_file, args.repeats)
