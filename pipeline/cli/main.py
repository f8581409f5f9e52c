"""The `twin` command line."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any

from models.errors import TwinError


def _add_global(p: argparse.ArgumentParser, suppress: bool) -> None:
    """Global flags work before or after the subcommand; the subcommand's copy must not reset them."""
    d = {"default": argparse.SUPPRESS} if suppress else {}
    p.add_argument(
        "--data-dir",
        type=Path,
        help="user data directory (default: $TWIN_DATA_DIR or ~/.local/share/twin)",
        **d,
    )
    p.add_argument("--config", type=Path, help="config file (default: DATA_DIR/config.toml)", **d)
    p.add_argument(
        "--profile", choices=["speaker", "glasses", "car", "companion"], help="device profile", **d
    )
    p.add_argument(
        "--device", choices=["auto", "cpu", "cuda", "metal"], help="compute device for models", **d
    )


NO_TELEMETRY = {"ORT_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}

# Modules that add subcommands: each has register(sub, common, bench_sub), and its parsers set
# `handler=func(cfg, args) -> int` with set_defaults. Keeps each capability's CLI beside its code.
COMMAND_MODULES: tuple[str, ...] = (
    "pipeline.cli.memory",
    "pipeline.cli.tools",
    "pipeline.cli.identity",
    "pipeline.cli.persona",
    "pipeline.cli.mcp",
    "pipeline.cli.serve",
    "pipeline.cli.vocabulary",
    "pipeline.cli.route",
    "pipeline.cli.duplex",
    "pipeline.cli.wake",
    "pipeline.cli.turn_end",
    "pipeline.cli.planner_context",
    "pipeline.cli.footprint",
    "pipeline.cli.partials",
)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    _add_global(common, suppress=True)
    parser = argparse.ArgumentParser(prog="twin", description="Twin: an on-device voice assistant")
    _add_global(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "demo", parents=[common], help="a scripted spoken conversation through the whole pipeline"
    )
    p.add_argument("--output-dir", type=Path, help="where reply audio goes (default: DATA_DIR/demo)")

    p = sub.add_parser("listen", parents=[common], help="one voice turn from an audio file")
    p.add_argument("audio", type=Path)
    p.add_argument("--output", type=Path, help="reply WAV (default: DATA_DIR/replies/turn-<time>.wav)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("live", parents=[common], help="talk with Twin through the microphone and speaker")
    p.add_argument(
        "--wake", help="okay_nabu (default), hey_jarvis, hey_mycroft, alexa, name ('Twin, ...') or none"
    )
    p.add_argument("--input", type=Path, help="a recording as the microphone (the same front end as live)")
    p.add_argument("--realtime", action="store_true", help="with --input: feed it at a microphone's pace")
    p.add_argument("--output", type=Path, help="with --input: a WAV of what Twin would have played")
    p.add_argument("--json", action="store_true", help="with --input: turns and front-end events as JSON")
    p.add_argument(
        "--event",
        action="append",
        default=[],
        metavar="KIND@SECONDS",
        help="with --input: a device event at a time in the recording, e.g. push_to_talk@2.5 or tap@1",
    )

    p = sub.add_parser("ask", parents=[common], help="one text turn, no audio")
    p.add_argument("text")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("transcribe", parents=[common], help="speech to text only")
    p.add_argument("files", type=Path, nargs="+")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("say", parents=[common], help="text to speech only")
    p.add_argument("text")
    p.add_argument("--output", type=Path, required=True)

    p = sub.add_parser("models", parents=[common], help="the configured models and where they were found")
    p.add_argument("--check", action="store_true", help="also load each model and report its device")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("trace", parents=[common], help="timestamped stage events of recent turns")
    p.add_argument("--last", type=int, default=1)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("bench", parents=[common], help="benchmarks")
    bsub = p.add_subparsers(dest="bench", required=True)
    b = bsub.add_parser("latency", parents=[common], help="voice-to-voice latency vs a naive baseline")
    b.add_argument("--turns", type=int, default=20)
    b.add_argument("--json", type=Path, dest="json_file")
    b.add_argument(
        "--no-commands", action="store_true", help="skip the home commands (the fast path's part, ~3 min)"
    )
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, common, bsub)
    return parser


def _config(args: argparse.Namespace):
    from pipeline.config import ensure_data_dir, load_config

    overrides: dict[str, Any] = {}
    if args.profile:
        overrides["profile"] = args.profile
    if args.device:
        overrides["models"] = {"device": args.device}
    cfg = load_config(args.config, args.data_dir, overrides)
    ensure_data_dir(cfg.data_path)
    if not cfg.models.allow_download:
        os.environ["HF_HUB_OFFLINE"] = "1"  # nothing leaves the device unless the user allows it
    return cfg


def process_setup() -> None:
    """What every Twin process does first, before any library loads (the CLI, and the benches'
    child processes that measure what the CLI would)."""
    # Everything Twin writes (traces, reply audio, memory, the outbox, caches) holds what was said:
    # files are 0600 and folders 0700, whatever the shell's umask, and whichever module writes them.
    os.umask(0o077)
    # No network call unless the user allows one: third-party telemetry is off before any library
    # loads (onnxruntime's 1DS upload; the Hugging Face client's, should downloads be allowed).
    os.environ.update(NO_TELEMETRY)


def main(argv: list[str] | None = None) -> int:
    process_setup()
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except TwinError as exc:
        print(exc.user_message(), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _dispatch(args: argparse.Namespace) -> int:
    from pipeline.cli import talk as commands

    cfg = _config(args)
    handler = getattr(args, "handler", None) or getattr(commands, f"cmd_{args.command}")
    return handler(cfg, args)


if __name__ == "__main__":
    raise SystemExit(main())
