"""Secrets are never stored in plain text: a PIN, a password, a door or garage code, a safe's
combination, a login, an API key or token, an IBAN or a card number said aloud is kept only as the
fact that it exists, so a memory export, a recalled line or a trace can never leak the value.

Two kinds of rule. A *secret phrase* ("my door code", "the combination to the safe", "my bank
login", "API key") means the rest of the sentence is the value: the sentence is kept up to the
phrase, plus "is set (the value is never stored)". A *secret value* (an IBAN that passes its check
digits, a long digit run, a token with a known vendor prefix, a JWT, a key block, a URL with a
password in it) is replaced where it stands. Words that only look like these stay: "call me at 5",
"room 101", "the code review", "the zip code", "a combination of flavours".
"""

from __future__ import annotations

import re

from .language import clean, is_chinese

NUMBER_MARK = "[number not stored]"
SECRET_MARK = "[secret not stored]"

# -- secret phrases: their mere mention means the value follows ---------------------------------------
_LOCKS = (
    r"(?:front |back |side |main )?"
    r"(?:door|garage(?: door)?|gate|alarm|entry|access|keypad|lock|safe|locker|vault)"
)
_SECRET = re.compile(
    r"\b(?:pin(?: code| number)?|passwords?|passcode|passphrase|passwd|cvv|cvc|security code|"
    r"card number|social security(?: number)?|ssn|bank details|account number|sort code|routing number|"
    rf"{_LOCKS} (?:code|pin|combination|combo)|"
    r"combination (?:to|for|of|on) (?:the |my |our )?(?:\w+ )?(?:safe|lock|padlock|locker|vault)|"
    r"(?:bank|banking|online banking|email|e-mail|account|work) (?:login|log-in|username|user name)|"
    r"login (?:details|credentials)|credentials|"
    r"api[ _-]?(?:key|token|secret)|(?:access|auth|bearer|refresh|secret) (?:token|key)|"
    r"secret key|private key|seed phrase|recovery (?:phrase|code|key)|backup codes?|"
    r"(?:2fa|two[- ]factor|one[- ]time|verification) code|otp|iban)\b",
    re.IGNORECASE,
)
# Words that become secret only with a value after them: "the code is 4321", "my login is sam77".
_WEAK = re.compile(
    r"\b(?P<word>code|combination|combo|login|log-in|username|user name|user id|token|key)"
    r"(?P<what>\s+(?:for|to|of|on)\s+(?:the\s+|my\s+|our\s+)?\w+(?:\s+\w+)?)?"
    r"\s*(?:is|was|:|=|equals|reads)\s+(?P<value>\S+)",
    re.IGNORECASE,
)
# What precedes a weak word to make it harmless: "the code review" has no value; "zip code is 90210" has.
_HARMLESS_BEFORE = {
    "zip",
    "post",
    "postal",
    "area",
    "country",
    "dress",
    "source",
    "error",
    "status",
    "exit",
    "colour",
    "color",
    "bar",
    "qr",
    "morse",
    "house",
    "key",  # "the key code" is caught as a lock code only with a lock word
    "answer",
    "music",
}
_ALWAYS_VALUE = {"login", "log-in", "username", "user name", "user id"}

# -- secret values: replaced where they stand -----------------------------------------------------------
_LONG_DIGITS = re.compile(r"(?:\d[ -]?){8,}")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_TOKENS = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)"
    r"|\b(?:sk|pk|rk)[-_](?:live[-_]|test[-_]|proj[-_])?[A-Za-z0-9_-]{16,}"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"
    r"|\bxox[abposr]-[A-Za-z0-9-]{10,}|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|\bAIza[0-9A-Za-z_-]{30,}"
    r"|\bglpat-[A-Za-z0-9_-]{20,}|\bhf_[A-Za-z0-9]{20,}"
    r"|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r"|\bBearer\s+[A-Za-z0-9._~+/-]{12,}=*"
    # a long run of letters and digits together: a hex key, a base64 secret, a hash
    r"|\b(?=[A-Za-z0-9+/_-]*\d)(?=[A-Za-z0-9+/_-]*[A-Za-z])[A-Za-z0-9+/_-]{32,}={0,2}",
    re.DOTALL,
)
_URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^\s:/@]+:[^\s@/]+@", re.IGNORECASE)
_VERB = re.compile(r"\b(?:is|was|are|were|equals|reads)\b|[:=]", re.IGNORECASE)

# Chinese has no word boundaries: the secret words are matched as they are, and "PIN" or
# "password" may touch Han characters (where \b finds no boundary)
_SECRET_ZH = re.compile(
    r"(?:密码|口令|验证码|安全码|银行卡号|信用卡号|卡号|身份证号码?|社保号|账号|帐号|门禁码|开门码|门锁码|"
    r"车库码|保险箱|保险柜|用户名|登录名|密钥|令牌|"
    r"(?<![a-z])(?:pin|cvv|password|passcode|passphrase|iban)(?![a-z])码?)",
    re.IGNORECASE,
)
_LONG_ZH_DIGITS = re.compile(r"[零〇一二三四五六七八九幺两]{8,}")


def redact_secrets(text: str) -> tuple[str, bool]:
    """Replace anything that looks like a secret value; True when something was redacted."""
    if is_chinese(text):
        m = _SECRET_ZH.search(text)
        if m:
            return f"{_redact_values(text[: m.end()])[0].strip()}已设置（具体内容不会被保存）", True
        out, found = _redact_values(text, "[数字未保存]")
        if _LONG_ZH_DIGITS.search(out):
            out, found = _LONG_ZH_DIGITS.sub("[数字未保存]", out), True
        return out, found
    phrase = _secret_phrase(text)
    if phrase is not None:
        start, end = phrase
        head = text[:start]
        verbs = list(_VERB.finditer(head))
        if verbs:  # "hunter2 is my password": what came before the verb may be the value itself
            head = ""
        head = _redact_values(re.sub(r"\d+", "", head))[0]
        return f"{clean(head + text[start:end])} is set (the value is never stored)", True
    return _redact_values(text)


def contains_secret(text: str) -> bool:
    return redact_secrets(text)[1]


def _secret_phrase(text: str) -> tuple[int, int] | None:
    """Where the phrase that makes the rest of `text` a secret value is, if any."""
    m = _SECRET.search(text)
    weak = _weak_phrase(text)
    if m and (weak is None or m.start() <= weak[0]):
        return m.start(), m.end()
    return weak


_NUMBER_WORDS = {"zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}


def _weak_phrase(text: str) -> tuple[int, int] | None:
    for w in _WEAK.finditer(text):
        word = w.group("word").lower()
        value = w.group("value").strip(".,;!?\"'")
        before = text[: w.start()].split()
        if before and before[-1].lower().strip(".,;:") in _HARMLESS_BEFORE:
            continue
        if word in _ALWAYS_VALUE and value and value.lower() not in ("not", "broken", "down", "failing"):
            return w.start(), w.end("word")
        if any(ch.isdigit() for ch in value) or value.lower() in _NUMBER_WORDS or _TOKENS.fullmatch(value):
            return w.start(), w.end("what") if w.group("what") else w.end("word")
    return None


def _redact_values(text: str, number_mark: str = NUMBER_MARK) -> tuple[str, bool]:
    out = _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}{SECRET_MARK}@", text)
    out = _TOKENS.sub(SECRET_MARK, out)
    out = _IBAN.sub(lambda m: SECRET_MARK if _iban_ok(m.group(0)) else m.group(0), out)
    out = _LONG_DIGITS.sub(lambda m: _keep_space(m.group(0), number_mark), out)
    return out, out != text


def _keep_space(match: str, mark: str) -> str:
    return mark + (" " if match.endswith((" ", "-")) else "")


def _iban_ok(candidate: str) -> bool:
    """ISO 13616 check digits (mod 97): a product code or a flight number never passes."""
    s = candidate.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    digits = "".join(str(int(ch, 36)) for ch in s[4:] + s[:4])
    return int(digits) % 97 == 1
