"""What the user is doing with their words: asking (a question, or a request for information),
requesting an action, stating something, or chatting. Decided from the words and, when the
utterance was spoken, from its final pitch movement, never from a transcript's "?" alone (an ASR
may drop or add one).

The one rule it serves: a question never changes state, and neither do words that ask for
nothing to be done ("no, don't turn it up": a refusal) or tell of what someone did or said ("my
neighbour turned the music up all night": a report). "Remind me — what's my name and where am I
going", transcribed without its question mark, asks for information; "remind me to call mum at six"
asks for an action. Every act or sensitive tool call checks this before it runs.

English and Chinese rules; other languages fall back to the question mark and the pitch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["question", "request", "statement", "chat", "refusal", "report"]

# Words a speaker puts before the real start of a sentence.
_LEAD = re.compile(
    r"^(?:(?:hey|hi|ok|okay|so|well|um+|uh+|er+|hmm+|oh|right|alright|now|and|but|twin|please)\b[\s,.!—–-]*)+",
    re.IGNORECASE,
)
_WH = r"(?:what|what's|whats|who|who's|whom|whose|where|where's|when|when's|which|why|how|how's|whether|if)"
_AUX = (
    r"(?:is|are|was|were|am|do|does|did|has|have|had|should|shall|may|might|will|won't|isn't|aren't|wasn't|"
    r"don't|doesn't|didn't|haven't|hasn't)"
)
# "remind me what…", "tell me where…", "do you know who…", "I wonder if…", "any idea how…"
_INFO_FRAME = re.compile(
    rf"^(?:(?:can|could|would|will)\s+you\s+)?(?:please\s+)?remind\s+(?:me|us)\b[\s,.:;!—–-]*"
    rf"(?:again\s+)?(?:{_WH}\b|about\b)"
    rf"|^(?:(?:can|could|would|will)\s+you\s+)?(?:please\s+)?(?:tell|show)\s+(?:me|us)\b(?!\s+to\b)"
    rf"|^(?:do|did)\s+you\s+(?:know|remember|recall)\b"
    rf"|^(?:i\s+)?wonder\s+{_WH}\b"
    rf"|^(?:any\s+idea|i'?d\s+like\s+to\s+know|i\s+want\s+to\s+know|i\s+need\s+to\s+know|let\s+me\s+know)\s+{_WH}\b",
    re.IGNORECASE,
)
_QUESTION_START = re.compile(rf"^(?:{_WH}|{_AUX})\b", re.IGNORECASE)
# "can you…", "would you mind…", "I want you to…", "I'd like you to…"
_POLITE_REQUEST = re.compile(
    r"^(?:(?:can|could|would|will)\s+you\b|would\s+you\s+mind\b|i\s+(?:want|need|would\s+like|'d\s+like)\s+you\s+to\b"
    r"|let'?s\b|let\s+us\b|help\s+(?:me|us)\b"
    r"|(?:go\s+ahead\s+and|don't\s+(?:let\s+(?:me|us)\s+)?forget\s+to|make\s+sure\s+(?:to|you))\b)",
    re.IGNORECASE,
)
_IMPERATIVE = re.compile(
    r"^(?:set|add|put|remind\s+me\s+(?:to|at|in|on|tomorrow|tonight|that)|send|text|message|email|call|"
    r"turn|switch|create|make|delete|remove|erase|forget|cancel|clear|start|stop|pause|resume|play|"
    r"book|order|schedule|note|write|save|remember|change|move|rename|open|close|lock|unlock|mute|"
    r"unmute|raise|lower|increase|decrease|dim|buy|reply|tell\s+\w+\s+(?:that|to)|let\s+\w+\s+know|"
    r"wake\s+me|mark|check\s+off|tick\s+off|empty|reset|update|share|post|pay|transfer|"
    r"run|look\s+up|search|find|calculate|compute|convert|translate)\b",
    re.IGNORECASE,
)
# "don't turn it up", "no, do not add milk", "please never remind me of that": asks for something
# not to be done. Not "don't let me forget to…" or "don't forget to…" (requests), "don't you…" (a
# question), "don't worry" or "never mind" (small talk).
_REFUSAL = re.compile(
    r"^(?:(?:no|nah|nope)\b[\s,.!—–-]*)*(?:please\s+)?(?:don'?t|do\s+not|never)\s+"
    r"(?!you\b|let\b|forget\b|worry\b|mind\b|be\b|panic\b|bother\b)\w",
    re.IGNORECASE,
)
# Tells of something done or said, not asked of Twin: another person as the subject ("my neighbour…",
# "she…"), a deed in the past tense ("…turned the volume up all night", "…muted the TV"), or words
# reported ("the song says turn it up"). Checked only where the words ask nothing else.
_OTHERS = (
    r"(?:he|she|they|someone|somebody|everyone|everybody|nobody|people|(?:my|his|her|their|our|the|a)\s+"
    r"(?:neighbou?rs?|brothers?|sisters?|mum|mom|mother|dad|father|husband|wife|partner|sons?|daughters?|"
    r"kids?|children|friends?|boss|grandma|grandpa|grandmother|grandfather|granny|aunt|uncle|cousins?|"
    r"colleagues?|flatmates?|roommates?|baby|man|woman|guy|girl|boy|teacher|doctor|family))"
)
_DEED = (
    r"turned|muted|unmuted|cancell?ed|paused|resumed|added|removed|deleted|stopped|silenced|reminded|"
    r"switched|raised|lowered|says|said|sang|sings|wrote|writes|shouted|yelled|told\s+\w+|tells\s+\w+"
)
_REPORT = re.compile(rf"^{_OTHERS}\b|\b(?:{_DEED})\b", re.IGNORECASE)
_TRAILING_Q = re.compile(
    r"\b(?:right|isn't\s+it|aren't\s+you|don't\s+you|correct|yes\s+or\s+no)\s*\??$", re.IGNORECASE
)
_CHAT = re.compile(
    r"^(?:hi|hello|hey|thanks|thank\s+you|good\s+(?:morning|night|evening|afternoon)|bye|goodbye|"
    r"nice|cool|great|wow|lol|haha|ok|okay|yes|no|yeah|nope|sure|fine)\b[\s!.,]*$",
    re.IGNORECASE,
)
# Chinese: a sentence-final question particle or a question word asks; 请/帮我/提醒我… requests.
_ZH_QUESTION = re.compile(
    r"[吗呢嘛][？?。！!\s]*$|什么|谁|哪|几[点个岁天号]|多少|怎么|为什么|是不是|有没有|能不能|对不对"
)
_ZH_INFO_FRAME = re.compile(
    r"^(?:请)?(?:提醒|告诉)(?:我|一下)[，,、\s]*(?:我的?)?.*(?:什么|谁|哪|几|多少|怎么)"
)
_ZH_REQUEST = re.compile(
    r"^(?:请|帮我|帮忙|给我|提醒我|记住|设(?:置|一个)?|添加|加上|发(?:送|个)?|打开|关掉|关闭|删除|取消)"
)
_HAN = re.compile(r"[\u4e00-\u9fff]")

# A rise of this many semitones over the last voiced part of an utterance marks a spoken question
# ("you set the alarm?"). Declarative English ends falling; yes/no questions commonly rise 2-6 st.
RISE_ST = 2.5


@dataclass(frozen=True)
class SpeechAct:
    kind: Kind
    reason: str

    @property
    def asks(self) -> bool:
        return self.kind == "question"

    @property
    def may_change_state(self) -> bool:
        """Whether an act or sensitive tool may run for this utterance: only when something was
        asked to be done or stated (a need), never for a question or small talk."""
        return self.kind in ("request", "statement")

    @property
    def asks_nothing_done(self) -> bool:
        """Words that name a tool's business but ask for nothing to be done: a refusal ("don't set
        a timer") or a report ("my brother muted the TV"). No tool is planned for them."""
        return self.kind in ("refusal", "report")


def _clean(text: str) -> str:
    t = text.strip().strip("\"'“”")
    prev = None
    while prev != t:
        prev = t
        t = _LEAD.sub("", t).strip()
    return t


def classify(text: str, final_rise_st: float | None = None) -> SpeechAct:
    """The utterance's speech act. `final_rise_st`: the pitch movement (semitones) at its end when
    it was spoken; None for typed text or when no pitch was measured."""
    raw = text.strip()
    if _HAN.search(raw):
        return _classify_zh(raw, final_rise_st)
    t = _clean(raw)
    if not t:
        return SpeechAct("chat", "no words")
    if _REFUSAL.search(t):
        if _asks_later(raw):  # "don't set a timer, set an alarm": the later clause asks
            return SpeechAct("request", "asks for something to be done, after what not to do")
        return SpeechAct("refusal", "asks for something not to be done")
    # the first clause decides; "Remind me — what's my name" is one frame across the dash
    if _INFO_FRAME.search(t):
        return SpeechAct("question", "asks to be told something")
    if _POLITE_REQUEST.search(t):
        return SpeechAct("request", "asks for something to be done")
    if _IMPERATIVE.search(t):
        return SpeechAct("request", "starts with an instruction")
    if _QUESTION_START.search(t):
        return SpeechAct("question", "starts like a question")
    if _CHAT.search(t):
        return SpeechAct("chat", "small talk")
    if _TRAILING_Q.search(t):
        return SpeechAct("question", "ends with a question tag")
    if final_rise_st is not None and final_rise_st >= RISE_ST:
        return SpeechAct("question", f"the voice rose {final_rise_st:.1f} semitones at the end")
    if raw.rstrip().endswith("?"):
        return SpeechAct("question", "written as a question")
    if _REPORT.search(t) and not _asks_later(raw):
        return SpeechAct("report", "tells of something done or said")
    return SpeechAct("statement", "says something")


def refused(text: str) -> str:
    """What a refusal asks not to be done, as Twin says it back ("no, don't remind me about the
    dentist" -> "remind you about the dentist"); "" when the words are no refusal."""
    from memory.policy import first_person  # the memory's own way of saying it back

    t = _clean(text.strip())
    m = _REFUSAL.search(t)
    if m is None:
        return ""
    what = first_person(t[m.end() - 1 :]).rstrip(" .!?。")
    return what[:1].lower() + what[1:]


def _asks_later(text: str) -> bool:
    """Whether a clause after the first asks a question or for something to be done."""
    return any(classify(c).kind in ("question", "request") for c in clauses(text)[1:])


# Where a clause ends, for reading an utterance clause by clause (`clauses`): `classify` decides a
# whole utterance by its first clause, and "I feel sad, please play some music" asks in its second.
# The mark stays with its clause ("My name is Sam?" is still written as a question).
_CLAUSE_END = re.compile(r"(?<=[,;，；。!?！？])|\s+(?:and|but|so)\s+", re.IGNORECASE)


def clauses(text: str) -> list[str]:
    """The utterance's clauses, each as said: "My daughter is Mia, can you set a timer" is two."""
    return [c.strip() for c in _CLAUSE_END.split(text) if c and c.strip(" ,;，；。")]


def asks_anything(text: str) -> bool:
    """Whether any clause asks a question or for something to be done: a statement that also asks
    ("My daughter is Mia, can you set a timer for 5 minutes", "I'm sad, tell me a joke") is more
    than a statement, and the turn answers what it asks."""
    return any(classify(c).kind in ("question", "request") for c in clauses(text))


def _classify_zh(text: str, final_rise_st: float | None) -> SpeechAct:
    t = text.strip()
    if _ZH_INFO_FRAME.search(t):
        return SpeechAct("question", "asks to be told something")
    if _ZH_QUESTION.search(t) or t.endswith(("？", "?")):
        return SpeechAct("question", "a Chinese question")
    if _ZH_REQUEST.search(t):
        return SpeechAct("request", "asks for something to be done")
    if final_rise_st is not None and final_rise_st >= RISE_ST:
        return SpeechAct("question", f"the voice rose {final_rise_st:.1f} semitones at the end")
    return SpeechAct("statement", "says something")
