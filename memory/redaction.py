"""Secrets are never stored in plain text: a PIN, a password or a card number said aloud is kept only
as the fact that it exists, so a memory export or a recalled line can never leak the value."""

from __future__ import annotations

import re

from .language import clean, is_chinese

_SECRET = re.compile(
    r"\b(pin|pin code|password|passcode|passphrase|cvv|security code|card number|social security|"
    r"bank details|account number)\b",
    re.IGNORECASE,
)
_LONG_DIGITS = re.compile(r"(?:\d[ -]?){8,}")
# Chinese has no word boundaries: the secret words are matched as they are, and "PIN" or
# "password" may touch Han characters (where \b finds no boundary)
_SECRET_ZH = re.compile(
    r"(?:密码|口令|验证码|安全码|银行卡号|信用卡号|卡号|身份证号码?|社保号|账号|帐号|"
    r"(?<![a-z])(?:pin|cvv|password|passcode|passphrase)(?![a-z])码?)",
    re.IGNORECASE,
)
_LONG_ZH_DIGITS = re.compile(r"[零〇一二三四五六七八九幺两]{8,}")


def redact_secrets(text: str) -> tuple[str, bool]:
    """Replace anything that looks like a secret value; True when something was redacted."""
    if is_chinese(text):
        m = _SECRET_ZH.search(text)
        if m:
            return f"{text[: m.end()].strip()}已设置（具体内容不会被保存）", True
        if _LONG_DIGITS.search(text) or _LONG_ZH_DIGITS.search(text):
            out = _LONG_ZH_DIGITS.sub("[数字未保存]", _LONG_DIGITS.sub("[数字未保存]", text))
            return out, True
    if _SECRET.search(text):
        head = _SECRET.split(text, maxsplit=1)[0] + _SECRET.search(text).group(0)  # type: ignore[union-attr]
        return f"{clean(head)} is set (the value is never stored)", True
    if _LONG_DIGITS.search(text):
        return _LONG_DIGITS.sub("[number not stored]", text), True
    return text, False
