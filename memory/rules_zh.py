"""The Chinese write rules: the same kinds and slots as the English ones, written for a language
without spaces or inflection, so "我女儿叫莉莉" and "my daughter's name is Lily" fill one slot."""

from __future__ import annotations

import re

from .items import Kind

# Chinese relation words, keyed by the English slot names, so that "我女儿叫莉莉" and "my
# daughter's name is Lily" fill the same slot
RELATIONS = {
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
_REL = "|".join(sorted(RELATIONS, key=len, reverse=True))
EXPLICIT = re.compile(
    r"^(?:请你?|麻烦你?|帮我)?(?:记住|记下|记一下|记好|记着|记得|别忘了|不要忘了|不要忘记)"
    r"[：:，, ]*(?:一下)?[：:，, ]*(?P<fact>.+)$"
)
_NAME = r"[^，,。！？\s]{1,12}"
_DID = (
    r"(?:去了|去|见了|见到了|看了|买了|吃了|做了|打了|参观了|遇到了|开始了|完成了|拜访了|玩了|逛了|收到了|"
    r"寄了|给.+打了?电话)"
)
_EVERY = r"每(?:个)?(?:天|周|星期|礼拜|晚|年|月|早上|晚上|周末)"
_TIME = r"(?:今天|昨天|今早|今晚|昨晚|前天|这周|今天早上|今天上午|今天下午|早上|刚才)"
# A question is never a statement of fact: "我女儿叫什么名字？" asks for the slot, it does not fill it.
# Question words, the yes/no particles at the end, and the question mark (the policy strips a final
# one before matching, so the particles are what is left).
QUESTION = re.compile(
    r"什么|谁|哪|几(?:个|号|岁|点|天|月|年|时|位|次)|多少|怎么|怎样|为什么|为啥|是不是|有没有|对不对|"
    r"[吗呢么嘛][\s。！？!?]*$|[？?]"
)


def is_question(text: str) -> bool:
    return QUESTION.search(text) is not None


class _Statement:
    """A write rule's pattern that never matches a question (the policy calls `.search`)."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern

    def search(self, text: str) -> re.Match[str] | None:
        return None if is_question(text) else self.pattern.search(text)


_RULES: list[tuple[re.Pattern[str], Kind, str, float]] = [
    (
        re.compile(
            rf"我(?:的)?(?P<rel>{_REL})(?:的名字)?(?:叫做|叫|名叫|的名字是)(?![我你他她它])(?P<v>{_NAME})"
        ),
        Kind.PERSON,
        "{rel}.name",
        0.8,
    ),
    (
        re.compile(rf"我有一?(?:个|只|条|位)?(?P<rel>{_REL})(?:叫做|叫|名叫)(?P<v>{_NAME})"),
        Kind.PERSON,
        "{rel}.name",
        0.7,
    ),
    (
        re.compile(rf"^我(?:的名字)?(?:叫做|叫(?![了过])|名叫|的名字是)(?![我你他她它])(?P<v>{_NAME})$"),
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
        re.compile(rf"(?:我.*{_EVERY}|{_EVERY}.*我)"),
        Kind.ROUTINE,
        "",
        0.5,
    ),
    (
        re.compile(rf"(?:{_TIME}.*我|我.*{_TIME}).*{_DID}"),
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
RULES: list[tuple[_Statement, Kind, str, float]] = [(_Statement(p), k, key, imp) for p, k, key, imp in _RULES]
