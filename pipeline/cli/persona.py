"""`twin persona list|show|use NAME`: the bundled personas (or a YAML of your own) and which one
answers; `use` records the choice in DATA_DIR/config.toml."""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import asdict
from importlib import resources
from pathlib import Path

from models.durable import atomic_write_text
from pipeline.config import TwinConfig


def register(sub, common, bench_sub) -> None:
    p = sub.add_parser("persona", parents=[common], help="personas: list, show one, or choose one")
    psub = p.add_subparsers(dest="persona_action", required=True)
    s = psub.add_parser("list", parents=[common], help="the bundled personas")
    s.add_argument("--json", action="store_true")
    s.set_defaults(handler=cmd_persona_list)
    s = psub.add_parser("show", parents=[common], help="a persona's traits and its style on this device")
    s.add_argument("name", nargs="?", help="default: the persona in use")
    s.add_argument("--json", action="store_true")
    s.set_defaults(handler=cmd_persona_show)
    s = psub.add_parser("use", parents=[common], help="answer as this persona from now on")
    s.add_argument("name", help="a bundled persona or a path to a persona YAML")
    s.set_defaults(handler=cmd_persona_use)


def bundled_personas() -> list[str]:
    return sorted(
        Path(f.name).stem for f in resources.files("persona").iterdir() if f.name.endswith((".yaml", ".yml"))
    )


def cmd_persona_list(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from persona import load_persona

    rows = [asdict(load_persona(n)) | {"persona": n, "in_use": n == cfg.persona} for n in bundled_personas()]
    if args.json:
        print(json.dumps(rows))
        return 0
    for r in rows:
        mark = "*" if r["in_use"] else " "
        print(f"{mark} {r['persona']:8} {r['name']}: {r['description']}")
    if cfg.persona not in bundled_personas():
        print(f"* {cfg.persona} (your own)")
    return 0


def cmd_persona_show(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from persona import load_persona
    from persona.style import StylePolicy

    name = args.name or cfg.persona
    persona = load_persona(name)
    style = StylePolicy(persona, cfg.device_profile).for_turn()
    data = asdict(persona) | {
        "profile": cfg.profile,
        "max_sentences": style.max_sentences,
        "max_words": style.max_words,
        "length_scale": style.prosody.length_scale,
        "style_line": style.line,
    }
    if args.json:
        print(json.dumps(data))
    else:
        for k, v in data.items():
            print(f"{k:14} {v}")
    return 0


def cmd_persona_use(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from persona import load_persona

    name = args.name
    load_persona(name)  # refuses an unknown or invalid persona before anything is written
    if Path(name).suffix in (".yaml", ".yml"):
        name = str(Path(name).expanduser().resolve())
    path = cfg.data_path / "config.toml"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    line = f"persona = {json.dumps(name)}"
    lines = text.splitlines()
    # top-level keys live before the first [table]; keep everything else as it was
    end = next((i for i, x in enumerate(lines) if x.lstrip().startswith("[")), len(lines))
    found = [i for i in range(end) if re.match(r"\s*persona\s*=", lines[i])]
    if found:
        lines[found[0]] = line
    else:
        lines.insert(end, line)
    new = "\n".join(lines) + "\n"
    atomic_write_text(path, new)
    print(f"Twin now answers as persona '{args.name}' (saved in {path}).")
    return 0
