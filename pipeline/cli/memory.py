"""`twin memory ...`: the user's controls over what Twin remembers."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pipeline.config import TwinConfig


def register(sub, common: argparse.ArgumentParser, bench_sub) -> None:
    p = sub.add_parser("memory", parents=[common], help="see, search, export and erase what Twin remembers")
    msub = p.add_subparsers(dest="memory_command", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        q = msub.add_parser(name, parents=[common], help=help_text)
        q.add_argument("--json", action="store_true")
        q.set_defaults(handler=_handle)
        return q

    q = add("list", "every current memory (--all: with superseded history)")
    q.add_argument("--speaker")
    q.add_argument("--all", action="store_true")
    q = add("search", "hybrid search")
    q.add_argument("query")
    q.add_argument("--speaker", default="owner")
    q.add_argument("--k", type=int, default=10)
    q = add("show", "one memory in full")
    q.add_argument("id")
    q = add("remember", "store a memory by hand")
    q.add_argument("text")
    q.add_argument("--speaker", default="owner")
    q.add_argument("--kind", default="fact")
    q = add("forget", "delete memories: by id, --about TOPIC, or --everything (shows what first)")
    q.add_argument("ids", nargs="*")
    q.add_argument("--speaker", default="owner")
    q.add_argument("--about")
    q.add_argument("--everything", action="store_true")
    q.add_argument("--yes", action="store_true", help="delete without asking (needed when not at a terminal)")
    q = add("export", "write all memories as portable JSON")
    q.add_argument("file", type=Path)
    q = add("import", "read memories from an export (JSON) or JSONL lines")
    q.add_argument("file", type=Path)
    q = add("stats", "counts by speaker and kind")
    q = add("consolidate", "summarise old episodes, let unused low-value items fade")
    q = add("recall", "ranked recall for one query, or a batch (--batch QUERIES.jsonl)")
    q.add_argument("query", nargs="?")
    q.add_argument("--speaker", default="owner")
    q.add_argument("--batch", type=Path)
    q.add_argument("--k", type=int, default=10)
    q.add_argument(
        "--mode", choices=("hybrid", "dense", "bm25"), default="hybrid", help="dense/bm25: plain baselines"
    )

    b = bench_sub.add_parser(
        "memory", parents=[common], help="memory recall quality and latency vs baselines"
    )
    b.add_argument("--sizes", default="1000,10000,100000", help="index sizes for the latency scan")
    b.add_argument("--json", type=Path, dest="json_file")
    b.add_argument(
        "--quick",
        action="store_true",
        help="a quick look: a tenth of the small talk per session (same speakers, facts and questions)",
    )
    b.add_argument(
        "--real",
        action="store_true",
        help="hand-written multi-session conversations, imported and asked as a user would (DEV and TEST)",
    )
    b.set_defaults(handler=_bench)


def _bench(cfg: TwinConfig, args: argparse.Namespace) -> int:
    if args.real:
        from bench.memory_real import run_real_bench

        return run_real_bench(cfg, args.json_file)
    from bench.memory import run_memory_bench

    sizes = [int(s) for s in args.sizes.split(",") if s]
    return run_memory_bench(cfg, sizes, args.json_file, scale=0.1 if args.quick else 1.0)


def _handle(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from memory import Memory, MemoryInputError

    if not cfg.memory.enabled:
        raise MemoryInputError("memory is turned off in the config", "set memory.enabled = true")
    mem = Memory.open(cfg.data_path / "memory", cfg.memory.url)
    args.config_obj = cfg
    try:
        return _COMMANDS[args.memory_command](mem, args)
    finally:
        mem.close()


def _out(args: argparse.Namespace, data: object, text: str) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=1) if args.json else text)


def _day(t: float | None, fmt: str) -> str:
    """A stored time as text; one that cannot be a date shows as '?' rather than stopping a listing."""
    try:
        return time.strftime(fmt, time.localtime(t))
    except (OverflowError, OSError, ValueError, TypeError):
        return "?"


def _row(it) -> str:
    when = _day(it.valid_from, "%Y-%m-%d %H:%M")
    flag = "" if it.current else f"  (superseded {_day(it.valid_to, '%Y-%m-%d')})"
    text = f"{it.said_by}: {it.text}" if it.said_by else it.text  # a conversation turn: who said it
    return f"{it.id[:8]}  {when}  {it.speaker:8} {it.kind.value:10} {text}{flag}"


def _list(mem, args) -> int:
    items = mem.list(args.speaker, include_history=args.all)
    if args.speaker and not items and args.speaker.lower() not in {i.speaker for i in mem.list(None, True)}:
        from memory import MemoryInputError

        known = sorted({i.speaker for i in mem.list(None, True)})
        raise MemoryInputError(
            f"no memories for speaker '{args.speaker}'", "known speakers: " + (", ".join(known) or "none yet")
        )
    _out(args, [i.to_payload() for i in items], "\n".join(_row(i) for i in items) or "nothing remembered yet")
    return 0


def _search(mem, args) -> int:
    hits = mem.search(args.query, args.speaker, k=args.k, include_history=True)
    _out(
        args,
        [{"id": h.item.id, "score": round(h.score, 5), "text": h.item.text} for h in hits],
        "\n".join(f"{h.score:.4f}  {_row(h.item)}" for h in hits) or "no match",
    )
    return 0


def _find(mem, prefix: str):
    from memory import MemoryInputError

    matches = [i for i in mem.items.values() if i.id == prefix or i.id.startswith(prefix)]
    if len(matches) != 1:
        raise MemoryInputError(
            f"{'no' if not matches else 'more than one'} memory with id '{prefix}'",
            "see the ids with `twin memory list --all`",
        )
    return matches[0]


def _show(mem, args) -> int:
    it = _find(mem, args.id)
    _out(args, it.to_payload(), "\n".join(f"{k:14} {v}" for k, v in it.to_payload().items()))
    return 0


def _remember(mem, args) -> int:
    it = mem.remember(args.text, args.speaker, args.kind, importance=0.8, source="cli")
    _out(args, it.to_payload(), f"remembered: {_row(it)}")
    return 0


def _forget(mem, args) -> int:
    """The same path as a spoken forget: a preview, a yes (typed at a terminal, or --yes), an audit
    entry either way, then the deletion and a receipt in DATA_DIR/receipts/."""
    from memory import MemoryInputError
    from pipeline.acting.audit import AuditLog
    from pipeline.acting.session import audit_path
    from pipeline.conversation.recall import audit_forget

    if sum(bool(x) for x in (args.everything, args.about, args.ids)) != 1:
        raise MemoryInputError(
            "say what to forget, one way", "twin memory forget ID... | --about TOPIC | --everything"
        )
    if args.everything:
        plan = mem.plan_forget(args.speaker, everything=True)
    elif args.about:
        plan = mem.plan_forget(args.speaker, about=args.about)
    else:
        plan = mem.plan_forget(args.speaker, ids=[_find(mem, i).id for i in args.ids])
    audit = AuditLog(audit_path(args.config_obj))
    who = "cli"
    if not plan.items:
        _out(args, {"deleted": 0, "matched": 0}, "nothing to delete: " + plan.nothing())
        return 0
    print(f"to delete: {plan.preview()}", file=sys.stderr if args.json else sys.stdout)
    if not args.yes:
        if not sys.stdin.isatty():
            audit_forget(audit, plan, "not_run", who, ["not confirmed: no --yes and no terminal"])
            raise MemoryInputError(
                "not deleted: deleting needs a yes", f"add --yes to delete these {plan.count}: {plan.cli()}"
            )
        answer = input(f"Delete {plan.count}? yes/no: ").strip().lower()
        if answer not in ("y", "yes"):
            audit_forget(audit, plan, "denied", who, ["the answer at the terminal was not yes"])
            _out(args, {"deleted": 0, "matched": plan.count}, "nothing deleted")
            return 1
    receipt = mem.carry_out(plan, who)
    problem = audit_forget(audit, plan, "confirmed", who, ["confirmed at the terminal"], receipt)
    erased = 0
    if args.everything:  # what was said lives on in traces and reply audio too
        from pipeline.conversation.recall import erase_records

        erased = erase_records(args.config_obj.data_path)
    data = {
        "deleted": receipt.deleted,
        "ids": receipt.ids,
        "receipt": str(receipt.path) if receipt.path else None,
        "receipt_error": receipt.error or None,
        "audit_error": problem or None,
        "conversation_records_erased": erased,
    }
    text = f"deleted {receipt.deleted} memories"
    text += f"; receipt: {receipt.path}" if receipt.path else f"; no receipt ({receipt.error})"
    if problem:
        text += f"; no audit entry ({problem})"
    if erased:
        text += f"; erased {erased} saved transcript and reply audio files"
    _out(args, data, text)
    return 0


def _export(mem, args) -> int:
    n = mem.export(args.file)
    _out(args, {"exported": n, "file": str(args.file)}, f"exported {n} memories to {args.file}")
    return 0


def _import(mem, args) -> int:
    from memory import MemoryImportStopped, MemoryInputError

    if not args.file.exists():
        raise MemoryInputError(f"{args.file} does not exist", "check the path")
    try:
        n, errors = mem.import_file(args.file)
    except MemoryImportStopped as exc:  # the lines already found wrong are still worth seeing
        for line, msg in exc.errors:
            print(f"line {line}: skipped: {msg}", file=sys.stderr)
        raise
    for line, msg in errors:
        print(f"line {line}: skipped: {msg}", file=sys.stderr)
    _out(
        args,
        {"imported": n, "errors": [{"line": n_, "error": m} for n_, m in errors]},
        f"imported {n} memories",
    )
    return 2 if errors else 0


def _stats(mem, args) -> int:
    s = mem.stats()
    _out(args, s, "\n".join(f"{k:12} {v}" for k, v in s.items()))
    return 0


def _recall(mem, args) -> int:
    from memory import MemoryInputError
    from memory.batch import parse_lines, recall_batch

    if args.batch is None and not args.query:
        raise MemoryInputError("give a query or --batch FILE", "twin memory recall 'where do I live?'")
    if args.batch is None:
        queries: list[tuple[int, object]] = [(0, {"query": args.query, "speaker": args.speaker})]
        bad: list[tuple[int, str]] = []
    else:
        queries, bad = parse_lines(_read_batch(args.batch))
    results, skipped = recall_batch(
        mem, queries, args.speaker, k=args.k, mode=args.mode, strict=args.batch is None
    )
    for n, msg in sorted(bad + skipped):
        print(f"line {n}: skipped: {msg}", file=sys.stderr)
    if args.json or args.batch is not None:
        for r in results:
            print(json.dumps(r, ensure_ascii=False))
    else:
        for h_id, score in zip(results[0]["ids"], results[0]["scores"], strict=True):
            print(f"{score:.4f}  {_row(mem.items[h_id])}")
    return 2 if skipped or bad else 0


def _read_batch(path: Path) -> str:
    from memory import MemoryInputError

    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MemoryInputError(f"{path} does not exist", "check the path of --batch") from None
    except IsADirectoryError:
        raise MemoryInputError(f"{path} is a folder", "give --batch a JSONL file of queries") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MemoryInputError(f"cannot read {path}: {exc}", "give --batch a UTF-8 JSONL file") from None


def _consolidate(mem, args) -> int:
    c = args.config_obj.memory
    result = mem.consolidate(episode_days=c.episode_days, fade_days=c.fade_days)
    _out(args, result, ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in result.items()))
    return 0


_COMMANDS = {
    "consolidate": _consolidate,
    "list": _list,
    "search": _search,
    "show": _show,
    "remember": _remember,
    "forget": _forget,
    "export": _export,
    "import": _import,
    "stats": _stats,
    "recall": _recall,
}
