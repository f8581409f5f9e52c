"""What is worth remembering from a turn, and the spoken memory commands, in English and Chinese.

Rules, not an LLM, decide writes: they are predictable, run in microseconds off the voice path, and
never invent a fact. Explicit requests are always written; stable personal facts ("my daughter's
name is Lily", "I live in Leeds", "我女儿叫莉莉", "我住在上海") fill slots so a changed value
supersedes the old one (a Chinese and an English statement of the same slot share its key); chit-chat
is not written; secrets are never stored in plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .items import Kind

_REL = (
    "daughter|son|wife|husband|partner|girlfriend|boyfriend|mother|mom|mum|father|dad|sister|brother|"
    "friend|best friend|boss|doctor|neighbour|neighbor|grandson|granddaughter|dog|cat|carer|nurse"
)
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
_HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Candidate:
    text: str
    kind: Kind
    key: str = ""
    importance: float = 0.5
    explicit: bool = False


@dataclass(frozen=True)
class Command:
    action: str  # list | forget_last | forget_about | forget_all
    topic: str = ""
    lang: str = "en"  # the language it was said in ("en" or "zh"), for the reply


def _clean(s: str) -> str:
    return s.strip().rstrip(".!?").strip()


def is_chinese(text: str) -> bool:
    return _HAN.search(text) is not None


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
        return f"{_clean(head)} is set (the value is never stored)", True
    if _LONG_DIGITS.search(text):
        return _LONG_DIGITS.sub("[number not stored]", text), True
    return text, False


_COMMANDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bwhat do you (?:remember|know) about me\b", re.I), "list"),
    (re.compile(r"\bforget (?:that|it|what i just said)\b", re.I), "forget_last"),
    (re.compile(r"\bforget everything(?: you know)?(?: about me)?\s*$", re.I), "forget_all"),
    (
        re.compile(r"\bforget (?:everything |all )?(?:about |that )?(?P<topic>my .+|about .+)$", re.I),
        "forget_about",
    ),
]


_ZH_FORGET = r"^(?:请你?|麻烦你?|帮我)?(?:把|将)?(?:忘掉|忘记|忘了|删掉|删除|清除|抹掉)"
_ZH_THAT = r"(?:那个|这个|它|刚才(?:说的|那句|的话|那件事)?|那句话|这句话|我刚才说的(?:话)?)"
_ZH_ALL = r"(?:一切|所有|全部)"
_ZH_THINGS = r"(?:的)?(?:事情?|东西|记忆|内容|信息|资料)?吧?$"
_ZH_COMMANDS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"(?:(?:你|您)(?:都|还)?(?:记得|记住了|知道|记着)(?:关于)?我(?:的)?(?:什么|哪些|些什么)|"
            r"关于我(?:的事)?[，, ]*(?:你|您)(?:都|还)?(?:记得|知道|记住了)(?:些|哪些)?(?:什么)?)"
            r"(?:事情?|东西)?(?:吗|呢|啊)?$"
        ),
        "list",
    ),
    (re.compile(rf"{_ZH_FORGET}{_ZH_THAT}吧?$"), "forget_last"),
    (re.compile(rf"^(?:请你?|你)?把{_ZH_THAT}(?:给)?(?:忘掉|忘了|删掉|删了|忘记)吧?$"), "forget_last"),
    (
        re.compile(
            rf"{_ZH_FORGET}(?:你记得的)?(?:{_ZH_ALL}(?:关于|有关)?我(?:的)?|(?:关于|有关)?我的?{_ZH_ALL}){_ZH_THINGS}"
        ),
        "forget_all",
    ),
    (
        re.compile(
            rf"{_ZH_FORGET}{_ZH_ALL}?(?:关于|有关)(?:我的?)?(?P<topic>.+?)(?:的)?{_ZH_ALL}?{_ZH_THINGS}"
        ),
        "forget_about",
    ),
    (re.compile(rf"{_ZH_FORGET}我的(?P<topic>.+?)吧?$"), "forget_about"),
]


def parse_command(text: str) -> Command | None:
    t = _clean(text)
    if is_chinese(t):
        z = re.sub(r"[\s。！？!?，,、]+$", "", t)
        for pattern, action in _ZH_COMMANDS:
            m = pattern.search(z)
            if m:
                topic = (m.groupdict().get("topic") or "").strip()
                if action == "forget_about" and not topic:
                    continue
                return Command(action, topic, "zh")
    for pattern, action in _COMMANDS:
        m = pattern.search(t)
        if m:
            topic = m.groupdict().get("topic") or ""
            return Command(action, re.sub(r"^(about|my)\s+", "", topic, flags=re.I).strip())
    return None


_EXPLICIT = re.compile(
    r"^(?:please\s+)?(?:remember|don'?t forget|note|keep in mind)(?: that)?\s+(?P<fact>.+)$", re.I
)
_RULES: list[tuple[re.Pattern[str], Kind, str, float]] = [
    (
        re.compile(
            rf"\bmy (?P<rel>{_REL})(?:'s name| is called|'s called| is named)\s*(?:is\s+)?(?P<v>[\w' -]+)",
            re.I,
        ),
        Kind.PERSON,
        "{rel}.name",
        0.8,
    ),
    (re.compile(r"\bmy name is (?P<v>[\w' -]+)", re.I), Kind.PERSON, "user.name", 0.9),
    (
        re.compile(rf"\bi have an? (?P<rel>{_REL}) (?:called|named) (?P<v>[\w' -]+)", re.I),
        Kind.PERSON,
        "{rel}.name",
        0.7,
    ),
    (re.compile(r"\bi live in (?P<v>.+)", re.I), Kind.FACT, "user.lives_in", 0.7),
    (re.compile(r"\bi(?:'m| am) allergic to (?P<v>.+)", re.I), Kind.FACT, "user.allergy.{v}", 0.9),
    (re.compile(r"\bi work (?:as|at|for) (?P<v>.+)", re.I), Kind.FACT, "user.job", 0.6),
    (
        re.compile(
            r"\bmy (?P<attr>favou?rite [a-z]+|birthday|job|address|phone number|email) is (?P<v>.+)", re.I
        ),
        Kind.FACT,
        "user.{attr}",
        0.6,
    ),
    (re.compile(r"\bi (?:really )?(?:like|love|enjoy|prefer) (?P<v>.+)", re.I), Kind.PREFERENCE, "", 0.5),
    (re.compile(r"\bi (?:don'?t like|hate|dislike|can'?t stand) (?P<v>.+)", re.I), Kind.PREFERENCE, "", 0.5),
    (
        re.compile(
            r"\bevery (?:morning|evening|day|night|week|monday|tuesday|wednesday|thursday|friday|"
            r"saturday|sunday)\b.*\bi\b.+",
            re.I,
        ),
        Kind.ROUTINE,
        "",
        0.5,
    ),
    (
        re.compile(
            r"\b(?:today|yesterday|this morning|last night|this week)\b.*\bi (?:went|visited|met|saw|had|did|"
            r"started|finished|bought|called)\b.+",
            re.I,
        ),
        Kind.EPISODE,
        "",
        0.4,
    ),
    (
        re.compile(
            r"\bi (?:went|visited|met|saw|had|started|finished|bought|called) .+\b(?:today|yesterday|"
            r"this morning|last night)\b",
            re.I,
        ),
        Kind.EPISODE,
        "",
        0.4,
    ),
    (
        re.compile(
            r"\bi(?:'m| am| feel| have been feeling) (?:so |really |very )?(?P<v>sad|lonely|anxious|"
            r"worried|stressed|down|depressed|scared|upset|tired|exhausted)\b",
            re.I,
        ),
        Kind.EMOTION,
        "",
        0.6,
    ),
]


# Chinese relation words, keyed by the English slot names, so that "我女儿叫莉莉" and "my
# daughter's name is Lily" fill the same slot
_ZH_RELATIONS = {
    "女儿": "daughter",
    "儿子": "son",
    "妻子": "wife",
    "老婆": "wife",
    "太太": "wife",
    "丈夫": "husband",
    "老公": "husband",
    "先生": "husband",
    "妈妈": "mother",
    "母亲": "mother",
    "爸爸": "father",
    "父亲": "father",
    "姐姐": "older sister",
    "妹妹": "younger sister",
    "哥哥": "older brother",
    "弟弟": "younger brother",
    "最好的朋友": "best friend",
    "好朋友": "best friend",
    "男朋友": "boyfriend",
    "女朋友": "girlfriend",
    "朋友": "friend",
    "老板": "boss",
    "上司": "boss",
    "医生": "doctor",
    "邻居": "neighbour",
    "孙子": "grandson",
    "孙女": "granddaughter",
    "外孙": "grandson",
    "外孙女": "granddaughter",
    "护工": "carer",
    "狗": "dog",
    "小狗": "dog",
    "猫": "cat",
    "小猫": "cat",
}
_ZH_REL = "|".join(sorted(_ZH_RELATIONS, key=len, reverse=True))
_ZH_EXPLICIT = re.compile(
    r"^(?:请你?|麻烦你?|帮我)?(?:记住|记下|记得|别忘了|不要忘了|不要忘记)"
    r"[：:，, ]*(?:一下)?[：:，, ]*(?P<fact>.+)$"
)
_ZH_NAME = r"[^，,。！？\s]{1,12}"
_ZH_DID = (
    r"(?:去了|去|见了|见到了|看了|买了|吃了|做了|打了|参观了|遇到了|开始了|完成了|拜访了|玩了|逛了|收到了|"
    r"寄了|给.+打了?电话)"
)
_ZH_EVERY = r"每(?:个)?(?:天|周|星期|礼拜|晚|年|月|早上|晚上|周末)"
_ZH_TIME = r"(?:今天|昨天|今早|今晚|昨晚|前天|这周|今天早上|今天上午|今天下午|早上|刚才)"
_ZH_RULES: list[tuple[re.Pattern[str], Kind, str, float]] = [
    (
        re.compile(
            rf"我(?:的)?(?P<rel>{_ZH_REL})(?:的名字)?(?:叫做|叫|名叫|的名字是)(?![我你他她它])(?P<v>{_ZH_NAME})"
        ),
        Kind.PERSON,
        "{rel}.name",
        0.8,
    ),
    (
        re.compile(rf"我有一?(?:个|只|条|位)?(?P<rel>{_ZH_REL})(?:叫做|叫|名叫)(?P<v>{_ZH_NAME})"),
        Kind.PERSON,
        "{rel}.name",
        0.7,
    ),
    (
        re.compile(rf"^我(?:的名字)?(?:叫做|叫(?![了过])|名叫|的名字是)(?![我你他她它])(?P<v>{_ZH_NAME})$"),
        Kind.PERSON,
        "user.name",
        0.9,
    ),
    (
        re.compile(r"我(?:现在)?(?:住在|搬到了?|搬去了?|搬家到)(?P<v>.+?)(?:了)?$"),
        Kind.FACT,
        "user.lives_in",
        0.7,
    ),
    (re.compile(r"我对(?P<v>.+?)过敏"), Kind.FACT, "user.allergy.{v}", 0.9),
    (re.compile(r"我(?:现在)?在(?P<v>.+?)(?:工作|上班)"), Kind.FACT, "user.job", 0.6),
    (
        re.compile(r"我的(?:工作|职业)是(?P<v>.+)|我是(?:一名|一位)(?P<w>.+)|我是做(?P<x>.+)的$"),
        Kind.FACT,
        "user.job",
        0.6,
    ),
    (re.compile(r"我的生日是(?P<v>.+)"), Kind.FACT, "user.birthday", 0.6),
    (
        re.compile(r"我(?:很|真的|非常|特别|最)?(?:不喜欢|讨厌|受不了|不爱|不能吃|吃不了)(?P<v>.+)"),
        Kind.PREFERENCE,
        "",
        0.5,
    ),
    (
        re.compile(
            r"我(?:很|真的|非常|特别|最|也|还)?(?:喜欢|热爱|爱吃|爱喝|爱看|爱听|爱玩|偏爱|更喜欢)(?P<v>.+)"
        ),
        Kind.PREFERENCE,
        "",
        0.5,
    ),
    (
        re.compile(rf"(?:我.*{_ZH_EVERY}|{_ZH_EVERY}.*我)"),
        Kind.ROUTINE,
        "",
        0.5,
    ),
    (
        re.compile(rf"(?:{_ZH_TIME}.*我|我.*{_ZH_TIME}).*{_ZH_DID}"),
        Kind.EPISODE,
        "",
        0.4,
    ),
    (
        re.compile(
            r"我(?:觉得|感觉|感到|最近|今天|真的|很|好|非常|有点|有些|特别)*(?P<v>难过|孤独|寂寞|焦虑|担心|紧张|"
            r"沮丧|害怕|伤心|心情不好|压力很大|累|疲惫)"
        ),
        Kind.EMOTION,
        "",
        0.6,
    ),
]


def first_person(text: str) -> str:
    """Store what the user says of themselves as Twin will say it back: "I live in Leeds" becomes
    "You live in Leeds" (the model repeats it naturally, and so does the spoken memory list)."""
    subs = [
        (r"\bI am\b", "you are"),
        (r"\bI'm\b", "you're"),
        (r"\bI was\b", "you were"),
        (r"\bI\b", "you"),
        (r"\bmy\b", "your"),
        (r"\bme\b", "you"),
        (r"\bmine\b", "yours"),
        (r"\bmyself\b", "yourself"),
    ]
    out = text
    for pattern, repl in subs:
        out = re.sub(pattern, repl, out, flags=re.I)
    if is_chinese(out):  # "我住在上海" -> "你住在上海"; "我们家" -> "你们家"
        out = out.replace("咱们", "你们").replace("我", "你")
    return out[:1].upper() + out[1:]


def _extract_zh(text: str) -> list[Candidate]:
    t = re.sub(r"[\s。！？!?]+$", "", text.strip())
    m = _ZH_EXPLICIT.match(t)
    explicit = m is not None
    if m:
        t = m.group("fact").strip("，,：: ")
    for pattern, kind, key_fmt, importance in _ZH_RULES:
        hit = pattern.search(t)
        if not hit:
            continue
        groups = {k: v.strip("，,。 ") for k, v in hit.groupdict().items() if v}
        if "rel" in groups:
            groups["rel"] = _ZH_RELATIONS[groups["rel"]]
        key = key_fmt.format(**groups) if key_fmt else ""
        return [Candidate(first_person(t), kind, key, max(importance, 0.8 if explicit else 0), explicit)]
    if explicit:
        return [Candidate(first_person(t), Kind.FACT, "", 0.8, True)]
    return []


def extract(text: str) -> list[Candidate]:
    """Memory candidates in one user utterance (may be none: most turns hold nothing to keep)."""
    if is_chinese(text):
        zh = _extract_zh(text)
        if zh or _HAN.search(text[:2]):
            return zh
    t = _clean(text)
    m = _EXPLICIT.match(t)
    explicit = m is not None
    if m:
        t = _clean(m.group("fact"))
    out: list[Candidate] = []
    for pattern, kind, key_fmt, importance in _RULES:
        hit = pattern.search(t)
        if not hit:
            continue
        groups = {k: _clean(v).lower() for k, v in hit.groupdict().items() if v}
        key = key_fmt.format(**groups) if key_fmt else ""
        out.append(Candidate(first_person(t), kind, key, max(importance, 0.8 if explicit else 0), explicit))
        break
    if explicit and not out:
        out.append(Candidate(first_person(t), Kind.FACT, "", 0.8, True))
    return out
