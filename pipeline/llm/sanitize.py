"""Untrusted text made inert before it reaches a model: chat-template control tokens removed.

llama.cpp renders a conversation with the model's chat template and then tokenizes the whole prompt
with special tokens parsed, so `<|im_start|>system` inside a memory, a note, a list item, a tool's
result or an MCP server's text would reach the model as a real role marker. Every such text passes
through `strip_special_tokens` on its way into a prompt (the planner's prompts, the reply's context
line). The user's own words and Twin's own prompt text are not touched.
"""

from __future__ import annotations

import re

_BAR = "|\uff5c"  # ASCII and fullwidth bar: DeepSeek's tokens use the fullwidth one
_SPECIAL = re.compile(
    "|".join(
        [
            # <|im_start|>, <|im_end|>, <|endoftext|>, <|eot_id|>, <|start_header_id|>, <|fim_prefix|>,
            # <|user|>, <｜begin▁of▁sentence｜>: any <|...|> form, whatever the family
            rf"<\s*[{_BAR}][^<>{_BAR}\n]{{0,80}}[{_BAR}]\s*>",
            # Llama 2 / Mistral
            r"\[\s*/?\s*INST\s*\]",
            r"<<\s*/?\s*SYS\s*>>",
            r"</?s>",
            # Gemma
            r"<\s*/?\s*(?:start_of_turn|end_of_turn|bos|eos|pad|unk)\s*>",
            # Qwen's added tags for tool use and reasoning
            r"<\s*/?\s*(?:tool_call|tool_response|tools|think)\s*>",
        ]
    ),
    re.IGNORECASE,
)


def strip_special_tokens(text: str) -> str:
    """`text` without anything a chat template or tokenizer would read as a control token. Repeated
    until nothing is left to remove, so removing one token cannot join the pieces of another
    (`<|im_<|x|>start|>`)."""
    while True:
        cleaned = _SPECIAL.sub(" ", text)
        if cleaned == text:
            return text
        text = cleaned


def has_special_tokens(text: str) -> bool:
    return bool(_SPECIAL.search(text))
