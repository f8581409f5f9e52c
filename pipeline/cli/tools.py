"""`twin tools list`, `twin contacts add|list|remove`, `twin audit [--verify] [--json]` and
`twin bench tools`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pipeline.acting.audit import KEY_ENV, AuditBrokenError, AuditKeyError, AuditLog
from pipeline.acting.session import audit_path
from pipeline.config import TwinConfig


def register(sub: Any, common: argparse.ArgumentParser, bench_sub: Any) -> None:
    p = sub.add_parser("tools", parents=[common], help="the tools Twin can use and their risk tiers")
    tsub = p.add_subparsers(dest="tools_command", required=True)
    t = tsub.add_parser("list", parents=[common], help="name, tier, arguments and timeout of each tool")
    t.add_argument("--json", action="store_true")
    t.set_defaults(handler=cmd_tools_list)

    p = sub.add_parser("contacts", parents=[common], help="the people Twin can send messages to")
    csub = p.add_subparsers(dest="contacts_command", required=True)
    c = csub.add_parser("add", parents=[common], help="add or replace a contact")
    c.add_argument("name")
    c.add_argument("--email", default="", help="where [tools.outbox] kind 'smtp' sends")
    c.add_argument("--phone", default="")
    c.set_defaults(handler=cmd_contacts_add)
    c = csub.add_parser("list", parents=[common], help="every contact")
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=cmd_contacts_list)
    c = csub.add_parser("remove", parents=[common], help="remove a contact")
    c.add_argument("name")
    c.set_defaults(handler=cmd_contacts_remove)

    p = sub.add_parser("audit", parents=[common], help="the tamper-evident log of every tool call")
    p.add_argument("--verify", action="store_true", help="check the hash chain; exit 5 where it breaks")
    p.add_argument("--json", action="store_true")
    p.add_argument("--last", type=int, default=0, help="only the last N entries")
    p.set_defaults(handler=cmd_audit)

    b = bench_sub.add_parser("tools", parents=[common], help="tool-use accuracy, over-action and latency")
    b.add_argument("--json", dest="json_file", help="write the results here")
    b.add_argument("--limit", type=int, default=0, help="only the first N requests")
    b.set_defaults(handler=cmd_bench_tools)

    b = bench_sub.add_parser(
        "understanding",
        parents=[common],
        help="right tool or none, no state change on questions, nothing made up",
    )
    b.add_argument("--calibrate", action="store_true", help="sweep the routing margin on the DEV split only")
    b.add_argument("--quick", action="store_true", help="the first 12 TEST cases only")
    b.add_argument(
        "--routed", action="store_true", help="also with the 1.5B model behind the router (llama.cpp server)"
    )
    b.add_argument(
        "--split", choices=("test", "dev"), default="test", help="TEST (reported) or DEV (checks a change)"
    )
    b.add_argument("--json", dest="json_file", help="write the results here")
    b.set_defaults(handler=cmd_bench_understanding)


def _registry(cfg: TwinConfig) -> Any:
    """Every tool a session offers, without opening memory (its tools are listed, not called)."""
    from pipeline.acting.session import ToolSession
    from pipeline.tools.families.memory import memory_tools

    session = ToolSession(cfg)
    for problem in session.mcp_problems:  # a configured server that could not be reached
        print(f"warning [mcp]: {problem}", file=sys.stderr)
    registry = session.registry
    if cfg.memory.enabled:
        for tool in memory_tools(None):  # type: ignore[arg-type]
            registry.add(tool)
    return registry


def cmd_tools_list(cfg: TwinConfig, args: argparse.Namespace) -> int:
    rows = [
        {
            "name": t.name,
            "tier": str(t.tier),
            "args": {k: v.get("type", "string") for k, v in t.params.items()},
            "required": list(t.required),
            "timeout_s": t.timeout_s,
            "source": t.source,
            "description": t.description,
        }
        for t in _registry(cfg)
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    print(f"{'tool':<18} {'tier':<10} {'timeout':>7}  arguments / description")
    for r in rows:
        a = ", ".join(f"{k}{'' if k in r['required'] else '?'}: {v}" for k, v in r["args"].items())
        print(f"{r['name']:<18} {r['tier']:<10} {r['timeout_s']:>6g}s  ({a}) {r['description']}")
    return 0


def cmd_contacts_add(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from pipeline.config import ensure_data_dir
    from pipeline.tools.outbox import Contacts, printable

    ensure_data_dir(cfg.data_path)
    entry = Contacts(cfg.data_path).add(args.name, args.email, args.phone)
    name = " ".join(printable(args.name).split())
    print(f"saved {name}: " + ", ".join(f"{k} {printable(v)}" for k, v in entry.items()))
    return 0


def cmd_contacts_list(cfg: TwinConfig, args: argparse.Namespace) -> int:
    """The file may have been edited by hand: what reaches the terminal is stripped again (JSON
    escapes control characters itself)."""
    from pipeline.tools.outbox import Contacts, printable

    contacts = Contacts(cfg.data_path).all()
    if args.json:
        print(json.dumps(contacts, ensure_ascii=False))
    elif not contacts:
        print("no contacts yet: twin contacts add NAME --email ADDRESS")
    for name, entry in contacts.items() if not args.json else ():
        fields = entry if isinstance(entry, dict) else {}
        email, phone = (printable(str(fields.get(k, ""))) for k in ("email", "phone"))
        print(f"{printable(str(name)):<24} {email} {phone}".rstrip())
    return 0


def cmd_contacts_remove(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from pipeline.tools.errors import ToolArgumentError
    from pipeline.tools.outbox import Contacts, printable

    name = printable(args.name)
    if not Contacts(cfg.data_path).remove(args.name):
        raise ToolArgumentError(f"no contact named {name}", "see `twin contacts list`")
    print(f"removed {name}")
    return 0


def cmd_audit(cfg: TwinConfig, args: argparse.Namespace) -> int:
    log = AuditLog(audit_path(cfg))
    entries = log.entries()
    if args.last:
        entries = entries[-args.last :]
    check = log.verify() if args.verify else None
    if args.json:
        out: dict[str, Any] = {"path": str(log.path), "entries": entries}
        if check is not None:
            out["verify"] = {
                "ok": check.ok,
                "entries": check.entries,
                "broken_line": check.broken_line,
                "reason": check.reason,
                "where": check.where,
                "key_file": str(log.key_file),
            }
        print(json.dumps(out, ensure_ascii=False))
    else:
        for e in entries:
            if "unreadable" in e:
                print(f"  ?  unreadable line: {e['unreadable'][:80]}")
                continue
            print(
                f"{e.get('seq', '?'):>4} {e.get('at', '')[:19]} {e.get('tool', '?'):<16} "
                f"{e.get('tier', ''):<9} "
                f"{e.get('decision', ''):<9} {e.get('status', ''):<9} {e.get('who', '')}: "
                f"{json.dumps(e.get('args', {}), ensure_ascii=False)[:60]} -> {str(e.get('result', ''))[:60]}"
            )
        if not entries:
            print(f"no tool calls recorded yet ({log.path})")
    if check is not None and not check.ok:
        if check.where == "the key":
            raise AuditKeyError(
                f"audit log {log.path} cannot be verified: {check.reason}",
                f"the key lives outside the data directory ({log.key_file}, or ${KEY_ENV}); "
                "the log is left as it is",
            )
        where = f"line {check.broken_line}" if check.broken_line else check.where or "the head record"
        raise AuditBrokenError(
            f"audit log {log.path} is broken at {where}: {check.reason} ({check.entries} entries verified)",
            "the log is left as it is; keep a copy of it, its head and its anchor for inspection",
        )
    if check is not None and not args.json:
        print(f"audit chain ok: {check.entries} entries verified")
    return 0


def cmd_bench_tools(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from bench.tools import run_bench

    return run_bench(cfg, args.json_file, args.limit)


def cmd_bench_understanding(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from bench.understanding import main as bench_main

    argv = ["--calibrate"] if args.calibrate else []
    argv += ["--quick"] if args.quick else []
    argv += ["--routed"] if args.routed else []
    argv += ["--split", args.split]
    argv += ["--json", args.json_file] if args.json_file else []
    return bench_main(argv)
