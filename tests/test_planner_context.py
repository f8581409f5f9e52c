"""The planner's llama.cpp context (issues #11, #12): a second small context over the reply model's
loaded weights, not a second load of the GGUF. The real Qwen2.5 0.5B: after a planner call the reply
model's cached prompt prefix is still reused, and after a reply the planner's is; the planner's
output stays schema-valid; the end-of-turn scorer keeps working on the same weights. Assertions are
on tokens evaluated (exact), never on times."""

from __future__ import annotations

import json
import math
import threading

import pytest

from pipeline.acting.planner import parse_step
from pipeline.acting.routing import route
from pipeline.acting.session import ToolSession
from pipeline.conversation.context import Conversation
from pipeline.llm.base import LlmError
from pipeline.tools.base import ToolCall

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def tools(tmp_path_factory, components):
    from pipeline.config import load_config

    cfg = load_config(data_dir=tmp_path_factory.mktemp("planner-context"))
    return ToolSession(cfg, components.planner_model)


def planner_messages(tools: ToolSession, text: str) -> tuple[list[dict[str, str]], dict]:
    system, schema = tools.planner.offer(tuple(route(text, tools.registry, None)))
    return [{"role": "system", "content": system}, {"role": "user", "content": text}], schema


def valid_step(tools: ToolSession, raw: str) -> dict:
    step = parse_step(raw)
    if step["action"] == "call":
        call = ToolCall.parse({"tool": step["tool"], "args": step.get("args", {})})
        tools.registry.get(call.tool).validate(call.args)
    return step


def reply_evaluated(llm, conversation: Conversation, text: str) -> int:
    """One short reply turn; the prompt tokens the reply model had to evaluate (not cached)."""
    messages = conversation.messages_for(text, "en")
    before, evaluated, pieces = llm.tokens_evaluated, None, []
    for piece in llm.stream(messages, 6, threading.Event()):
        if evaluated is None:
            evaluated = llm.tokens_evaluated - before
        pieces.append(piece)
    conversation.remember(messages[-2]["content"], text, "".join(pieces))
    assert evaluated is not None, "the reply model produced nothing"
    return evaluated


def test_the_planner_shares_the_reply_models_weights(components):
    from pipeline.llm.llama import LlamaPlannerModel

    planner, llm = components.planner_model, components.llm
    assert isinstance(planner, LlamaPlannerModel)
    assert planner._model is llm.model._model  # one load of the GGUF: no second Llama
    assert planner._ctx.ctx != llm.model._ctx.ctx  # a context of its own


def test_prompts_stay_warm_when_the_planner_and_the_reply_alternate(components, tools):
    from persona import load_persona, system_prompt

    llm, planner = components.llm, components.planner_model
    cfg = tools.cfg
    profile = cfg.device_profile
    # Twin's system prompt under a first line no other test uses: nothing of it is cached yet
    prompt = "Planner context test.\n" + system_prompt(
        load_persona(cfg.persona), profile.style, profile.max_reply_sentences
    )
    conversation = Conversation(prompt, 8)
    system_tokens = llm.count_tokens(prompt)

    first = reply_evaluated(llm, conversation, "What is the capital of France?")
    assert first >= system_tokens  # nothing of this new system prompt was cached yet

    msgs, schema = planner_messages(tools, "set a timer for 5 minutes")
    valid_step(tools, planner.choose(msgs, schema))

    # a reply turn right after a planner call: the conversation so far is still cached
    again = reply_evaluated(llm, conversation, "And of Italy?")
    assert 0 < again < system_tokens, (again, system_tokens)

    # a planner call right after a reply turn: the same tool prompt is still cached
    msgs, schema = planner_messages(tools, "set a timer for 12 minutes")
    step = valid_step(tools, planner.choose(msgs, schema))
    assert step == {"action": "call", "tool": "set_timer", "args": step["args"]}
    assert planner.last_prompt_evaluated < planner.last_prompt_tokens // 4, (
        planner.last_prompt_evaluated,
        planner.last_prompt_tokens,
    )
    user_tokens = llm.count_tokens("set a timer for 12 minutes")
    assert planner.last_prompt_evaluated <= user_tokens + 8  # the user's words and the turn marks


def test_the_planner_keeps_recent_tool_prompts_side_by_side(components, tools):
    """Requests for different tools alternate (a timer, a list, the volume): each set of offered
    tools keeps its prompt in a slot of its own, so asking for one again evaluates only the user's
    words, not its whole tool prompt; the steps stay right."""
    from pipeline.llm.llama import PLANNER_SLOTS

    planner = components.planner_model
    requests = ["set a timer for 5 minutes", "add milk to my shopping list", "turn the volume up a bit"]
    assert len(requests) <= PLANNER_SLOTS
    first: dict[str, dict] = {}
    for text in requests:
        msgs, schema = planner_messages(tools, text)
        first[text] = valid_step(tools, planner.choose(msgs, schema))
    for text, again in zip(
        requests,
        ["set a timer for 9 minutes", "add eggs to my shopping list", "turn the volume up a little"],
        strict=True,
    ):
        msgs, schema = planner_messages(tools, again)
        step = valid_step(tools, planner.choose(msgs, schema))
        assert step.get("tool") == first[text].get("tool"), (again, step, first[text])
        words = components.llm.count_tokens(again)
        assert planner.last_prompt_evaluated <= words + 8, (again, planner.last_prompt_evaluated, words)
        assert planner.last_prompt_tokens > 4 * (words + 8)  # the tool prompt itself was cached


def test_the_planner_formats_the_prompt_with_the_models_chat_template(components, tools):
    planner = components.planner_model
    msgs, _ = planner_messages(tools, "add milk to my shopping list")
    text = components.llm.model.detokenize(planner.prompt_tokens(msgs), special=True).decode()
    assert text.startswith("<|im_start|>system\n" + msgs[0]["content"])
    assert text.endswith("<|im_start|>user\nadd milk to my shopping list<|im_end|>\n<|im_start|>assistant\n")


def test_a_planner_call_beside_a_reply_and_another_planner_call(components, tools):
    """Two devices' planner threads (no SharedPlanner in front) and a reply streaming at the same
    time: the planner's lock serializes its own calls, its context is apart from the reply's."""
    llm, planner = components.llm, components.planner_model
    results: list[str] = []
    errors: list[BaseException] = []

    def plan(text: str) -> None:
        try:
            msgs, schema = planner_messages(tools, text)
            results.append(planner.choose(msgs, schema))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=plan, args=(t,)) for t in ("what time is it", "add eggs to my list")]
    for t in threads:
        t.start()
    reply = "".join(llm.stream([{"role": "user", "content": "Say hello."}], 6, threading.Event()))
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(results) == 2 and reply
    for raw in results:
        valid_step(tools, raw)


def test_a_cancelled_call_and_an_overlong_prompt(components, tools):
    planner = components.planner_model
    msgs, schema = planner_messages(tools, "set a timer for 3 minutes")
    stop = threading.Event()
    stop.set()
    assert planner.choose(msgs, schema, stop) == ""  # cut short before its first token
    long = [msgs[0], {"role": "user", "content": "set a timer " + "and then wait " * 1200}]
    with pytest.raises(LlmError) as err:
        planner.choose(long, schema)
    assert "context holds" in err.value.message
    step = valid_step(tools, planner.choose(msgs, schema))  # still usable afterwards
    assert json.loads(json.dumps(step))["action"] in ("call", "reply")


def test_the_end_of_turn_scorer_still_works_beside_the_planner(components, tools):
    scorer = components.llm.end_scorer()
    planner = components.planner_model
    assert scorer._model is planner._model  # three contexts, one set of weights
    prompt = "<|im_start|>user\nwhat time is it"
    before = scorer.end_logprob(prompt)
    msgs, schema = planner_messages(tools, "what time is it")
    valid_step(tools, planner.choose(msgs, schema))
    after = scorer.end_logprob(prompt)
    assert math.isfinite(before) and before <= 0.0
    assert after == pytest.approx(before, abs=1e-3)  # the planner's call changed nothing of it
