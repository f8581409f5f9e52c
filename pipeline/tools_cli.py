"""`twin tools list`, `twin audit [--verify] [--json]` and `twin bench tools`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .audit import AuditBrokenError, AuditLog
from .config import TwinConfig
from .tool_session import audit_path


def register(sub: Any, common: argparse.ArgumentParser, bench_sub: Any) -> None:
    p = sub.add_parser("tools", parents=[common], help="the tools Twin can use and their risk tiers")
    tsub = p.add_subparsers(dest="tools_command", required=True)
    t = tsub.add_parser("list", parents=[common], help="name, tier, arguments and timeout of each tool")
    t.add_argument("--json", action="store_true")
    t.set_defaults(handler=cmd_tools_list)

    p = sub.add_parser("audit", parents=[common], help="the tamper-evident log of every tool call")
    p.add_argument("--verify", action="store_true", help="check the hash chain; exit 5 where it breaks")
    p.add_argument("--json", action="store_true")
    p.add_argument("--last", type=int, default=0, help="only the last N entries")
    p.set_defaults(handler=cmd_audit)

    b = bench_sub.add_parser("tools", parents=[common], help="tool-use accuracy, over-action and latency")
    b.add_argument("--json", dest="json_file", help="write the results here")
    b.add_argument("--limit", type=int, default=0, help="only the first N requests")
    b.set_defaults(handler=cmd_bench_tools)


def cmd_tools_list(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from .tool_session import ToolSession

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
        for t in ToolSession(cfg).registry
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    print(f"{'tool':<18} {'tier':<10} {'timeout':>7}  arguments / description")
    for r in rows:
        a = ", ".join(f"{k}{'' if k in r['required'] else '?'}: {v}" for k, v in r["args"].items())
        print(f"{r['name']:<18} {r['tier']:<10} {r['timeout_s']:>6g}s  ({a}) {r['description']}")
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
        where = f"line {check.broken_line}" if check.broken_line else "the head record"
        raise AuditBrokenError(
            f"audit log {log.path} is broken at {where}: {check.reason} ({check.entries} entries verified)",
            "the log is left as it is; keep a copy for inspection. New entries keep being appended",
        )
    if check is not None and not args.json:
        print(f"audit chain ok: {check.entries} entries verified")
    return 0


def cmd_bench_tools(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from .bench_tools import run_bench

    return run_bench(cfg, args.json_file, args.limit)
