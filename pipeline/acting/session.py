"""Everything one session needs to act: the tool registry (local tools and allow-listed MCP tools),
the permission gate, the audit log, the runner and the planner, built from the config."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pipeline.acting.audit import AuditLog
from pipeline.acting.permissions import Confirmer, PermissionGate, Provenance, Speaker
from pipeline.acting.planner import Planner, PlannerModel, PlanResult
from pipeline.acting.runner import ToolRunner, TurnTools
from pipeline.acting.speech_act import SpeechAct, classify
from pipeline.config import TwinConfig
from pipeline.tools.base import ToolRegistry
from pipeline.tools.local import LocalTools


def audit_path(cfg: TwinConfig):
    return cfg.data_path / "audit.jsonl"


class ToolSession:
    def __init__(
        self,
        cfg: TwinConfig,
        model: PlannerModel | None = None,
        confirmer: Confirmer | None = None,
        registry: ToolRegistry | None = None,
        now: Callable[[], datetime] | None = None,
        memory: Any | None = None,
        local: LocalTools | None = None,
        audit: AuditLog | None = None,
        index: Any = None,
    ) -> None:
        """`memory` adds the remember/recall/forget tools; `local` shares the engine's LocalTools
        (its clock rings the timers) instead of building another over the same files, and `audit`
        the session's one audit log (spoken forget commands write to it too)."""
        self.cfg = cfg
        self.local = local or LocalTools(cfg.data_path, now=now, outbox=cfg.tools.outbox, memory=memory)
        self.registry = registry or self.local.registry()
        self.mcp_problems: list[str] = []
        if registry is None and cfg.tools.mcp:
            from pipeline.tools.mcp import load_mcp_tools, pins_path

            mcp_tools, self.mcp_problems = load_mcp_tools(cfg.tools.mcp, pins_path(cfg.data_path))
            for tool in mcp_tools:
                self.registry.add(tool)
        self.gate = PermissionGate(confirm_timeout_s=cfg.tools.confirm_timeout_s)
        self.audit = audit or AuditLog(audit_path(cfg))
        self.runner = ToolRunner(self.registry, self.gate, self.audit, cfg.data_path)
        self.confirmer = confirmer
        self.planner = (
            Planner(model, self.registry, self.runner, cfg.tools.max_steps, cfg.tools.time_budget_s, index)
            if model is not None
            else None
        )
        self._ids = itertools.count(1)
        self._session = datetime.now().strftime("%Y%m%d%H%M%S%f")

    def turn(
        self,
        text: str,
        speaker: Speaker | None = None,
        confirmer: Confirmer | None = None,
        owner_score: float | None = None,
        act: SpeechAct | None = None,
        patience_s: float | None = None,
    ) -> TurnTools:
        """One turn's tool context, handed in explicitly: who asked, how to ask them (the session's
        default confirmer when the turn brings none), and the turn's owner-voice score."""
        return TurnTools(
            speaker or Speaker(),
            Provenance(text),
            confirmer or self.confirmer,
            f"{self._session}-{next(self._ids)}",
            owner_score=owner_score,
            act=act or classify(text),
            patience_s=patience_s,
        )

    async def plan(
        self,
        text: str,
        speaker: Speaker | None = None,
        confirmer: Confirmer | None = None,
        owner_score: float | None = None,
        act: SpeechAct | None = None,
        patience_s: float | None = None,
    ) -> PlanResult:
        assert self.planner is not None, "a ToolSession without a model cannot plan"
        turn = self.turn(text, speaker, confirmer, owner_score, act, patience_s)
        return await self.planner.plan(text, turn)
