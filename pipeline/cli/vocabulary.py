"""`twin vocabulary add|list|remove WORD...`: the words speech recognition should know (names of
devices, rooms, lists, people, places), kept in DATA_DIR/vocabulary.json (voice/vocabulary.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipeline.config import TwinConfig


def register(sub, common, bench_sub) -> None:
    p = sub.add_parser("vocabulary", parents=[common], help="words and names speech recognition should know")
    vsub = p.add_subparsers(dest="vocabulary_action", required=True)
    s = vsub.add_parser("add", parents=[common], help="add words or names (quote a name with spaces)")
    s.add_argument("words", nargs="+")
    s.set_defaults(handler=cmd_vocabulary_add)
    s = vsub.add_parser("remove", parents=[common], help="remove words you added")
    s.add_argument("words", nargs="+")
    s.set_defaults(handler=cmd_vocabulary_remove)
    s = vsub.add_parser(
        "list", parents=[common], help="your words and the names Twin knows, and which bias recognition"
    )
    s.add_argument("--json", action="store_true")
    s.set_defaults(handler=cmd_vocabulary_list)
    b = bench_sub.add_parser(
        "asr",
        parents=[common],
        help="word error on real vs synthetic speech, phantom text, vocabulary and second pass",
    )
    b.add_argument("--json", type=Path, dest="json_file")
    b.add_argument("--only", action="append", dest="configs", help="only this configuration (repeatable)")
    b.set_defaults(handler=cmd_bench_asr)


def cmd_bench_asr(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from bench.asr import run_asr_bench

    return run_asr_bench(cfg, args.json_file, args.configs)


def cmd_vocabulary_add(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from voice.vocabulary import Vocabulary

    added, present = Vocabulary(cfg.data_path).add(args.words)
    for w in added:
        print(f"added: {w}")
    for w in present:
        print(f"already there: {w}")
    return 0


def cmd_vocabulary_remove(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from voice.vocabulary import Vocabulary

    removed, missing = Vocabulary(cfg.data_path).remove(args.words)
    for w in removed:
        print(f"removed: {w}")
    for w in missing:
        print(f"not in your vocabulary: {w}")
    return 0 if removed or not missing else 1


def _multilingual(cfg: TwinConfig) -> bool:
    from models import get_spec
    from models.errors import TwinError

    try:
        return len(get_spec(cfg.models.asr).languages) > 1
    except TwinError:
        return True  # a model of the user's own: assume it writes any script


def cmd_vocabulary_list(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from voice.vocabulary import PROMPT_MAX_CHARS, PROMPT_MAX_ENTRIES, VocabularyPrompt

    multilingual = _multilingual(cfg)
    sel = VocabularyPrompt(cfg.data_path, _memory_names(cfg)).selection(multilingual)
    rows = (
        [{"text": e.text, "source": e.source, "in_prompt": True, "why": ""} for e in sel.used]
        + [
            {"text": e.text, "source": e.source, "in_prompt": False, "why": "over the prompt's cap"}
            for e in sel.over_cap
        ]
        + [
            {
                "text": e.text,
                "source": e.source,
                "in_prompt": False,
                "why": f"not Latin script; the ASR model {cfg.models.asr} writes English only",
            }
            for e in sel.other_script
        ]
    )
    if args.json:
        print(
            json.dumps({"model": cfg.models.asr, "prompt": sel.prompt(), "entries": rows}, ensure_ascii=False)
        )
        return 0
    if not rows:
        print("no words yet: add some with `twin vocabulary add EcoBee 'Mood Lighting'`")
        return 0
    for r in rows:
        mark = "*" if r["in_prompt"] else " "
        why = f"  ({r['why']})" if r["why"] else ""
        print(f"{mark} {r['text']:30} {r['source']}{why}")
    print(
        f"* = biases recognition: {len(sel.used)} of {len(rows)} entries (at most {PROMPT_MAX_ENTRIES} "
        f"entries and {PROMPT_MAX_CHARS} characters, your latest words first: a longer prompt makes "
        "the recogniser write names that were not said)"
    )
    return 0


def _memory_names(cfg: TwinConfig):
    """(text, key) pairs of remembered people and places, or None when memory is off. Opening the
    store here is the CLI's own short session; `twin live` passes its open memory instead."""
    if not cfg.memory.enabled or not (cfg.data_path / "memory").exists():
        return None
    from memory import Memory
    from models.errors import TwinError

    def read():
        try:
            mem = Memory.open(cfg.data_path / "memory", cfg.memory.url)
        except (TwinError, RuntimeError, OSError):
            return []  # held by a running `twin live`: the list shows the other sources
        try:
            return [(it.text, it.key) for it in mem.list()]
        finally:
            mem.close()

    return read
