"""Memory is per speaker and shared across the household's devices: what is told to the kitchen's
session is recalled by the car's, two Twins over the hub's one set of models and one store."""

from __future__ import annotations

import asyncio


def test_memory_shared_across_devices(hub_cfg, components):
    from pipeline.runtime.session import Twin
    from pipeline.serve.components import DeviceComponents
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog

    hub = Hub(hub_cfg, components, log=HubLog(None, stream=None))

    def device_twin(profile: str) -> Twin:
        cfg = hub_cfg.model_copy(update={"profile": profile})
        return Twin(cfg, DeviceComponents(components, cfg, hub.planner))

    kitchen, car = device_twin("speaker"), device_twin("glasses")
    assert kitchen.c.llm is car.c.llm is components.llm and kitchen.c.memory is car.c.memory
    assert kitchen.c.vad is not car.c.vad  # each stream its own VAD state

    async def scenario() -> str:
        await kitchen.ask("Remember that the spare key is under the blue pot.")
        kitchen.flush_memory()
        return (await car.ask("Where is the spare key?")).reply

    reply = asyncio.run(scenario())
    assert "blue pot" in reply.lower(), reply
    # the car's conversation is its own: its one question, none of the kitchen's words
    assert [m["content"] for m in car.history if m["role"] == "user"] == ["Where is the spare key?"]
