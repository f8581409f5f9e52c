"""One device's view of the hub's loaded models.

The heavy models (ASR, LLM, planner, TTS, speaker encoder), the memory store and the worker threads
are the hub's, loaded once and shared by every device; calls to each model are serialized by its
one worker thread (`runtime/workers.py`). What holds the state of one audio stream is the device's
own: the streaming VAD (its recurrent state) and, where the profile counts voices (the car), the
voice listener."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from typing import Any

from memory import Memory
from pipeline.config import TwinConfig
from pipeline.llm.base import Llm, PlannerModel
from pipeline.runtime.components import Components
from voice.capabilities import Asr, Tts
from voice.listener import VoiceListener
from voice.speakers import SpeakerRegistry


class SharedPlanner:
    """The planner's one llama.cpp context (a small context over the hub's reply-model weights,
    `LlamaPlannerModel`), used by every device's tool session: each session has its own planner
    thread, so calls are serialized here (one context is not safe across threads)."""

    def __init__(self, load: Callable[[], PlannerModel]) -> None:
        self._load = load
        self._lock = threading.Lock()

    def choose(
        self, messages: list[dict[str, str]], schema: dict[str, Any], stop: threading.Event | None = None
    ) -> str:
        with self._lock:
            return self._load().choose(messages, schema, stop)


class DeviceComponents(Components):
    def __init__(self, shared: Components, cfg: TwinConfig, planner: SharedPlanner) -> None:
        # not Components.__init__: the resolver and the workers are the hub's
        self.cfg = cfg
        self.shared = shared
        self.resolver = shared.resolver
        self.pools = shared.pools
        self._planner = planner

    @property
    def asr(self) -> Asr:  # type: ignore[override]
        return self.shared.asr

    @property
    def tts(self) -> Tts:  # type: ignore[override]
        return self.shared.tts

    @property
    def llm(self) -> Llm:  # type: ignore[override]
        return self.shared.llm

    @property
    def planner_model(self) -> PlannerModel:  # type: ignore[override]
        return self._planner

    @property
    def memory(self) -> Memory | None:  # type: ignore[override]
        return self.shared.memory

    @property
    def speakers(self) -> SpeakerRegistry:  # type: ignore[override]
        return self.shared.speakers

    @cached_property
    def listener(self) -> VoiceListener:
        if self.cfg.device_profile.others_may_listen == self.shared.cfg.device_profile.others_may_listen:
            return self.shared.listener
        return Components.listener.func(self)  # type: ignore[attr-defined]

    def load_all(self) -> None:
        self.vad  # noqa: B018 - the device's own streaming VAD

    def close(self) -> None:
        """Nothing to close: the hub closes what it shares."""


# Further read-mostly models the hub shares when this version of Components has them (the tool
# index: one embedding model for every device).
for _name in ("tool_index",):
    if hasattr(Components, _name):
        setattr(DeviceComponents, _name, property(lambda self, n=_name: getattr(self.shared, n)))
