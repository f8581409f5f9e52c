"""Nothing made up. A small model asked for the weather says "68 degrees" and for a share price
"28 dollars 50": it has no way to know either. Two guards keep such answers from being spoken:

1. Before the reply: a request for live or personal facts (weather, prices, news, scores, traffic,
   opening hours, the user's own calendar) that no tool answered and no memory covers gets an honest
   answer composed without the model: Twin says it cannot check and what it can do instead.
2. While the reply streams: each sentence the model writes is checked against the turn's sources
   (the user's words, the conversation, recalled memories, tool results, the prompt's own facts). A
   sentence stating a live figure (a temperature, an amount of money, a percentage, a speed) that no
   source gave is not spoken; on a live-facts turn any figure counts, and on one about the world
   the clock is no source (it says what time it is now, not when a price was quoted). If nothing is
   left, Twin says it has no source rather than guess.

A live fact of the world that one third-party tool answered in a short plain line is said as the
tool gave it, after the sentence naming its source, without the model (`said_as_given`).

Transparent rules, by design: which topic matched and which figure had no source are recorded in
the turn's notes, so a wrong call can be seen and fixed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from persona.spoken import number_words


@dataclass(frozen=True)
class LiveTopic:
    name: str
    noun: str  # "the weather"
    pattern: str
    offer: str  # what Twin can do instead
    personal: bool = False  # the user's own data: a memory may answer it
    implied_by: str = ""  # a topic word routing reads as implied ("weather": an umbrella and a place)
    said: str = ""  # the whole honest answer, when the generic one does not fit (a thing to control)
    said_zh: str = ""  # the same in Chinese, for a request in Chinese

    def matches(self, text: str) -> bool:
        if re.search(self.pattern, text, re.IGNORECASE) is not None:
            return True
        if self.implied_by:
            from pipeline.acting.routing import implied_words  # one lexicon, routing's

            return self.implied_by in implied_words(text)
        return False


_REMIND = "I can set a reminder for you to check it"
TOPICS: tuple[LiveTopic, ...] = (
    LiveTopic(
        "temperature",
        "the temperature",
        r"\b(?:what(?:'s|\s+is)|tell\s+me|check)\s+the\s+(?:current\s+|indoor\s+|outdoor\s+|outside\s+|"
        r"inside\s+|room\s+)?temperature\b(?!\s+(?:of|at\s+which|needed|for\s+(?:baking|cooking|roasting)))"
        r"|\bhow\s+(?:hot|cold|warm|chilly)\s+is\s+it\s+in\s+(?:here|the\s+\w+)\b"
        r"|\b(?:indoor|room|inside|house)\s+temperature\b"
        r"|\btemperature\s+(?:in\s+here|inside|indoors|at\s+home|in\s+the\s+(?:house|flat|room|\w+room|kitchen|hall))\b",
        _REMIND,
    ),
    LiveTopic(
        "weather",
        "the weather",
        r"\b(weather|forecast|temperature (?:outside|today|tomorrow)|how (?:hot|cold|warm) is it|"
        r"is it (?:cold|hot|warm|chilly|freezing|sunny|windy|cloudy|foggy) (?:in|out|outside|today|tonight)|"
        r"(?:going|gonna|supposed) to (?:rain|snow|storm)|will it (?:rain|snow)|is it (?:raining|snowing)|"
        r"need an? (?:umbrella|coat|jacket)|humidity|wind speed|天气|下雨|气温)\b",
        _REMIND,
        implied_by="weather",
    ),
    LiveTopic(
        "markets",
        "live prices",
        r"\b(stock|share price|shares? (?:of|in)|stock market|nasdaq|dow jones|s&p|ftse|bitcoin|crypto|"
        r"ethereum|exchange rate|"
        r"(?:dollar|euro|pound|yen) (?:to|against|in) (?:the )?(?:dollar|euro|pound|yen)|"
        r"price of (?:gold|oil|silver|petrol|gas)|trading at|[A-Z]{2,5} (?:price|stock)|股价|汇率)\b"
        r"|\b(?:shares|stocks?)\b.{0,24}\b(?:doing|today|now|up|down|worth|trading)\b"
        r"|\bworth on the (?:stock )?market\b|\bmarket (?:value|cap)\b",
        _REMIND,
    ),
    LiveTopic(
        "news",
        "the news",
        r"\b(news|headlines?|what(?:'s| is| has) happen(?:ed|ing) (?:today|in the world|lately)|"
        r"latest on|election results?|新闻)\b",
        "I can tell you what I know in general, without today's events",
    ),
    LiveTopic(
        "sports",
        "live scores",
        r"\b(score|who won (?:the|last)|results? of the (?:game|match|race)|standings|league table|"
        r"(?:game|match) (?:tonight|today|yesterday))\b",
        _REMIND,
    ),
    LiveTopic(
        "travel",
        "live travel information",
        r"\b(traffic|flight (?:status|delayed|on time)|is my (?:flight|train|bus)|train (?:times|delays?)|"
        r"road (?:closures?|works)|commute (?:time|today))\b",
        _REMIND,
    ),
    LiveTopic(
        "places",
        "what's open or nearby",
        r"\b((?:open|close|closing) (?:now|today|tonight|on sunday)|opening hours|near me|nearby|"
        r"closest (?:restaurant|pharmacy|shop|store|cafe)|"
        r"recommend (?:a|some) (?:restaurant|cafe|bar|hotel))\b",
        "I can add it to a list so you remember to look it up",
    ),
    LiveTopic(
        "calendar",
        "your calendar",
        r"\b(my (?:calendar|schedule|agenda|appointments?|meetings?)|am i (?:free|busy)|"
        r"what(?:'s| is| do i have) (?:on )?(?:for )?(?:today|tomorrow|this week)(?: on my)?)\b",
        "I can tell you your reminders and timers, and set new ones",
        personal=True,
    ),
)


# The user's own facts ("what is my daughter allergic to?", "where do I live?", "我女儿叫什么名字？"):
# only a memory (or, for the name, the voice Twin recognised) can say them. Questions only: "my
# daughter is called Mia" is a statement, for memory's write rules. Checked after the topics above,
# so "what's on my calendar" stays the calendar's.
_MINE = (
    r"\b(?:what(?:'s|\s+is|\s+are|\s+was|\s+were)|who(?:'s|\s+is|\s+are|\s+was)"
    r"|where(?:'s|\s+is|\s+are|\s+was|\s+were)"
    r"|when(?:'s|\s+is|\s+was)|how\s+old\s+is)\s+my\s+\w+"
    r"|\bwhat(?:'s|\s+is)\s+the\s+name\s+of\s+my\b"
    r"|\bwhat\s+(?:does|did)\s+my\s+\w+\s+(?:like|love|hate|want|do|study|drink|eat)\b"
    r"|\b(?:where|what)\s+(?:do|did)\s+i\s+(?:use\s+to\s+)?(?:live|work|study)\b"
    r"|\bwhat\s+do\s+i\s+(?:like|love|hate|prefer|do\s+for)\b"
    r"|\bhow\s+old\s+am\s+i\b|\bwhat\s+am\s+i\s+allergic\b|\bwho\s+am\s+i\b"
    r"|\b(?:what|who|where)\s+my\s+\w+(?:'s\s+\w+)?\s+(?:is|are|was)\b"
    r"|\bwhere\s+i\s+(?:used\s+to\s+)?(?:live|lived|work|worked)\b"
    r"|\bwhat\s+(?:did|have)\s+i\s+(?:just\s+)?(?:tell|told|say|said)\b"
    r"|\b(?:do\s+you\s+(?:remember|know)|did\s+i\s+(?:tell|mention))\b[^.?!]{0,40}\b(?:my|i|me)\b"
    r"|我(?:的)?[\u4e00-\u9fff0-9]{0,10}(?:叫什么|是谁|在哪|住在哪|什么时候|几岁|多大|喜欢什么|对什么过敏)"
    r"|你(?:还)?记得我"
)
MINE = LiveTopic(
    "personal",
    "what you've told me",
    _MINE,
    "",
    personal=True,
    said="You haven't told me that, so I won't guess. If you tell me, I'll remember it.",
    said_zh="你还没告诉过我，我不会乱猜。告诉我的话，我会记住。",
)


_OWN_NAME = re.compile(
    r"\bwhat(?:'s|\s+is)\s+my\s+name\b|\bwhat\s+my\s+name\s+is\b|\bwho\s+am\s+i\b|我叫什么", re.IGNORECASE
)


def asks_own_name(text: str) -> bool:
    """ "What's my name?": the voice Twin recognised answers it too."""
    return _OWN_NAME.search(text) is not None


# question words and the words every such question shares: not what it is about
_ASKING = frozenset(
    re.findall(
        r"\w+",
        "what whats where when who which how is are was were my the and you "
        "your do does did remember know tell told about again just me can could please",
    )
)


def _keys(text: str) -> set[str]:
    """A line's content words (English, 3+ letters, no question words) and Chinese character pairs."""
    low = text.lower().replace("'s", "")
    words = {w for w in re.findall(r"[a-z]{3,}", low) if w not in _ASKING}
    for run in re.findall(r"[\u4e00-\u9fff]+", text):
        words |= {run[i : i + 2] for i in range(len(run) - 1)} - {"什么", "我的", "记得", "告诉"}
    return words


def told_in(dialogue: list[dict[str, str]], text: str) -> bool:
    """Whether the user said something in this conversation that shares a content word with the
    question ("my name is Sam" for "what's my name"): the history is a source too, so the model
    answers from it (with the names and figures checked) rather than Twin saying it was not told."""
    asked = _keys(text)
    said = [_keys(m["content"]) for m in dialogue if m["role"] == "user"]
    if not asked:  # "what did I just tell you?": about the conversation itself
        return bool(said)
    return any(asked & s for s in said)


_WHO_NAMED = re.compile(r"\b(?i:who(?:'s|\s+is|\s+was))\s+([A-Z][a-z]+)\b")  # the name capitalised


def asks_about_named(text: str, said: list[str]) -> bool:
    """ "Who is Peter?" where the user named Peter (`said`: their lines in this conversation, the
    memories recalled for this turn): a question about what they told Twin, not general knowledge
    (the model answered "Peter is an AI assistant created by Anthropic." for the user's son)."""
    m = _WHO_NAMED.search(text)
    if m is None:
        return False
    name = re.compile(rf"\b{m.group(1)}\b")
    return any(name.search(line) for line in said)


def user_lines(dialogue: list[dict[str, str]]) -> list[str]:
    return [m["content"] for m in dialogue if m["role"] == "user"]


def from_dialogue(dialogue: list[dict[str, str]], text: str, language: str = "en") -> str | None:
    """The answer to a question about the user's own facts from what they said in this
    conversation: their statement that shares most content words with the question (the latest
    statement for "what did I just tell you?"), said back to them; None when none does."""
    from memory.policy import first_person  # the memory's own way of saying it back
    from pipeline.acting.speech_act import classify  # only what the user stated, not asked for

    asked = _keys(text)
    best, most = None, 0
    for m in dialogue:
        line = m["content"].strip()
        if m["role"] != "user" or not line or classify(line).kind not in ("statement", "report"):
            continue
        shared = len(asked & _keys(line)) if asked else 1
        if shared and shared >= most:
            best, most = line, shared
    if best is None:
        return None
    told = "你告诉过我：{}。" if language == "zh" or best.startswith("我") else "You told me: {}."
    said = first_person(best).rstrip(".。!！")
    return told.format(said if said.startswith("你") else said[:1].lower() + said[1:])


def from_memory(recalled: list[str], language: str = "en") -> str | None:
    """The answer to a question about the user's own facts, said from the memory that best matches
    it, or None when that memory is not one of the user's own sayings (an imported conversation's
    turn: the model words those). Not left to the 0.5B model: with the fact in its prompt it still
    said "You haven't told me" once the conversation held that line, and named people it was
    never told of."""
    if not recalled:
        return None
    line = recalled[0].strip().rstrip(".。")
    if line.endswith("(I know your voice)"):
        return line.replace(" (I know your voice)", "") + ": I know your voice."
    if line.startswith("你"):
        return f"你告诉过我：{line}。"
    first, _, rest = line.partition(" ")
    if first not in ("You", "Your", "You're"):
        return None
    told = "你告诉过我：{}。" if language == "zh" else "You told me: {}."
    return told.format(f"{first.lower()} {rest}")


def is_live_fact(text: str) -> bool:
    """A request for a live fact of the world (weather, prices, news, scores, travel, places, the
    temperature): no tool of Twin's own can know one, only a third-party (MCP) tool."""
    return any(t.matches(text) for t in TOPICS if not t.personal)


def told_back(text: str, language: str, dialogue: list[dict[str, str]], recalled: list[str]) -> str | None:
    """The answer to a question about the user's own facts in their own words: what they said in
    this conversation first (the latest, most specific), else the memory that matches best."""
    return from_dialogue(dialogue, text, language) or from_memory(recalled, language)


def personal_question(text: str) -> bool:
    """A question about the user's own facts: its answer can only come from memory."""
    return MINE.matches(text)


def live_topic(text: str, tools: Iterable[Any] | None = None) -> LiveTopic | None:
    """The live or personal facts this request asks for, or None. A question about the state of a
    thing none of the configured tools declares ("is the front door locked") is such a fact; a
    request to control one ("lock the front door") gets the same honest treatment: no tool, no
    guess (`pipeline/acting/reach.py`). `tools`: every tool the session offers, its MCP servers'
    too; None reads Twin's own tools only."""
    unreached = _unreached(text, tools)
    return unreached or next((t for t in (*TOPICS, MINE) if t.matches(text)), None)


def _unreached(text: str, tools: Iterable[Any] | None = None) -> LiveTopic | None:
    from pipeline.acting.reach import a_thing, misses  # the one reading of what tools declare
    from pipeline.tools.family import catalog

    said = [a for a in misses(text, catalog() if tools is None else tools)[1] if a_thing(a)]
    if not said:
        return None
    a = said[0]
    if len(said) == 1 and a.kind == "state" and a.lang == "en":
        return LiveTopic("home", a.noun, r"(?!)", _REMIND)
    return LiveTopic("home", a.noun, r"(?!)", "", said=" ".join(x.sentence for x in said))


def answered(topic: LiveTopic, plan: Any, recalled: list[str], told: bool = False) -> bool:
    """Whether this turn has a source for `topic`: a third-party (MCP) tool that answered, or for
    the user's own data, one of Twin's tools or a memory recalled for it; for the user's own facts
    also what they said earlier in this conversation (`told`, `told_in`)."""
    if topic is MINE and told:
        return True
    if plan is not None and any(o.done and (topic.personal or "__" in o.tool) for o in plan.outcomes):
        return True  # Twin's own tools know no weather or prices: only a third-party tool counts
    return topic.personal and bool(recalled)


def source_line(topic: LiveTopic, plan: Any, recalled: list[str]) -> str | None:
    """The sentence that says where a live or personal fact comes from, spoken before the model's
    answer: the third-party server(s) whose tools answered, Twin's own tool for the user's own data,
    or what the user told Twin. None when nothing answered (the turn says it cannot check)."""
    done = [o for o in (plan.outcomes if plan is not None else []) if o.done]
    servers = sorted({o.tool.split("__")[0].replace("_", " ") for o in done if "__" in o.tool})
    if servers:
        return f"This comes from the {' and '.join(servers)} server."
    if topic.personal and done:  # a tool of Twin's own: its result says what it is
        return f"This comes from {topic.noun}." if topic is not MINE else None
    if topic.personal and recalled:
        return "This is from what you told me."
    return None


SAID_AS_GIVEN = 160  # a third-party tool's result up to this long is said as it is (planner's SAID_IN_FULL)
_NOT_PLAIN = re.compile(r"[{}\[\]<>|`#*]|https?://")  # structured data or markup: for the model to word


def said_as_given(topic: LiveTopic, plan: Any) -> str | None:
    """A live fact of the world that one third-party tool answered with a short plain line ("NVDA:
    131.42 USD, up 1.8% today", "No quote for Nvidia."): that line, as the tool gave it, to be said
    after `source_line` without the reply model. Handed such a line as context, the 0.5B model
    restated the price with the clock's date and time as if they were the quote's ("... on Monday
    30 November 2026, 01:49"), answered "is it going to snow in Paris" with "Yes" over "14 °C,
    light rain", and "Yes, you will want sunglasses in Madrid" over "No weather station data for
    Madrid." None for the user's own data, several results, or a long or structured one (the model
    words those, its figures checked by the guard)."""
    if topic.personal or plan is None or len(plan.outcomes) != 1:
        return None
    o = plan.outcomes[0]
    if not o.done or "__" not in o.tool or o.tier != "read":
        return None
    from pipeline.llm.sanitize import strip_special_tokens

    lines = [x.strip() for x in o.summary.splitlines()[1:] if x.strip()]  # the first: "facts x answered"
    said = strip_special_tokens(" ".join(lines)).strip()
    if not said or len(said) > SAID_AS_GIVEN or _NOT_PLAIN.search(said) or not re.search(r"[^\W\d_]", said):
        return None
    said = said[:1].upper() + said[1:]
    return said if said.endswith((".", "!", "?")) else said + "."


def cannot_check(topic: LiveTopic, language: str = "en") -> str:
    """The honest answer when nothing can check `topic`: no guess, and what can be done."""
    if language == "zh" and topic.said_zh:
        return topic.said_zh
    if topic.said:
        return topic.said
    offer = topic.offer[:1].upper() + topic.offer[1:]
    return f"I can't check {topic.noun} from here, and I won't guess. {offer}."


# -- figures --------------------------------------------------------------------------------------

_UNITS = (
    r"(?:°\s*[cf]?|degrees?(?:\s+(?:fahrenheit|celsius|c|f))?|fahrenheit|celsius|percent|per\s*cent|%|"
    r"dollars?|bucks|euros?|pounds?|cents?|pence|yen|yuan|usd|eur|gbp|mph|km/h|kph|"
    r"(?:miles|kilometers|kilometres)\s+(?:per|an)\s+hour|points?)"
)
_CURRENCY_BEFORE = r"[$€£¥]"
# 0-99 as words ("sixty-eight", "sixty eight"): the spoken form a reply may use for a figure
_WORD_VALUES = {w: i for i, w in enumerate(number_words(99))}
_WORDS = sorted(_WORD_VALUES, key=len, reverse=True)  # "seventeen" before "seven"
_NUMBER = r"(?:\d[\d,]*(?:\.\d+)?|\b(?:" + "|".join(w.replace("-", r"[\s-]") for w in _WORDS) + r")\b)"
_FIGURE_WITH_UNIT = re.compile(
    rf"(?:{_CURRENCY_BEFORE}\s*(?P<a>\d[\d,]*(?:\.\d+)?))|(?:\b(?P<b>{_NUMBER})\s*{_UNITS}(?![a-z]))",
    re.IGNORECASE,
)
_MONEY = re.compile(r"dollar|buck|euro|pound|cent|pence|yen|yuan|usd|eur|gbp", re.IGNORECASE)
_NOW = re.compile(
    r"\b(now|currently|today|tonight|tomorrow|this (?:morning|afternoon|evening|week|weekend)|"
    r"at the moment|latest|at present|outside|trading)\b",
    re.IGNORECASE,
)
_NARRATES_USER = re.compile(r"\bthe user(?:'s)?\b", re.IGNORECASE)
# A sentence that recites the system prompt ("You speak through a home speaker. Be warm and friendly.
# Reply in plain spoken sentences, at most 3...": the 0.5B model's answer to a bare "next"): one that
# shares RECITED_WORDS words in a row with an instruction. The prompt's first sentence (who Twin is)
# and its live-data sentence are left out: the model may say those in its own right ("I'm Twin, a
# friendly voice assistant"; "I can't see live data such as weather").
RECITED_WORDS = 6
_OWN_RIGHT = re.compile(r"\blive data\b", re.IGNORECASE)


@lru_cache(maxsize=8)
def instruction_runs(system_prompt: str, n: int = RECITED_WORDS) -> frozenset[tuple[str, ...]]:
    """Every run of `n` words of the system prompt's instructions (`_recites`), lower-cased."""
    sentences = re.split(r"(?<=[.!?])\s+", system_prompt.strip())[1:]
    runs: set[tuple[str, ...]] = set()
    for sentence in sentences:
        if _OWN_RIGHT.search(sentence):
            continue
        words = _words(sentence)
        runs |= {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}
    return frozenset(runs)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'"))


_ANY_FIGURE = re.compile(rf"{_CURRENCY_BEFORE}?\b(?P<b>\d[\d,]*(?:\.\d+)?)\b")
# A name in a sentence about the user's own facts: a capitalised word after the sentence's first,
# or, in Chinese, what follows "叫" / "名字是" (the small model's "张三" for a daughter it was never told of).
_NAME = re.compile(r"(?<=\s)[A-Z][a-z]+(?:['’]s)?\b")
_NAME_ZH = re.compile(r"(?:叫|名字是|姓名是|名字叫)([\u4e00-\u9fff]{2,3})")
_NOT_NAMES = frozenset({"I", "I'm", "I've", "I'll", "I'd", "Twin", "OK", "Okay"})
# A sentence that says an action was done ("Actually removed the flour.", "I've set a timer", "The
# light has been turned off"): on a turn where no tool ran, the small model made it up (it said the
# first for "Actually remove the flour" and changed nothing).
_CLAIM_LEAD = r"^\W*(?:(?:ok(?:ay)?|sure|alright|all right|great|actually|done|there you go)\W+)*"
_CLAIM = re.compile(
    # "I've set ...", "I added ...": any of these verbs after "I"
    _CLAIM_LEAD + r"i(?:'ve| have)?\s+(?:just\s+|now\s+|already\s+)?(?:added|removed|set|turned|switched|"
    r"cancell?ed|deleted|sent|ordered|booked|scheduled|started|stopped|paused|locked|unlocked|muted|"
    r"unmuted|saved|created|updated|changed|called|played)\b"
    # "I'm turning the volume up.": an act said to be under way (the 0.5B model's, for "and do that."
    # after "turn the volume up", with nothing changed)
    # (not "I'm starting to see", "I'm calling it a day", "I'm playing it by ear": chat)
    r"|" + _CLAIM_LEAD + r"i(?:'m| am)\s+(?:now\s+)?(?:adding|removing|setting|turning|switching|cancell?ing|"
    r"deleting|sending|ordering|booking|scheduling|pausing|locking|unlocking|muting|unmuting)\b"
    # "Removed the flour.": only past forms that are no advice ("Set a regular bedtime" is one)
    r"|" + _CLAIM_LEAD + r"(?:added|removed|cancell?ed|deleted|sent|ordered|booked|scheduled|paused|"
    r"locked|unlocked|muted|unmuted|saved|(?:turned|switched)\s+(?:on|off|up|down))\b"
    r"|\b(?:has|have) been (?:added|removed|set|turned|switched|cancell?ed|deleted|sent|ordered|booked|"
    r"scheduled|locked|unlocked|muted|saved|updated|changed)\b"
    r"|^\W*done\W*$",
    re.IGNORECASE,
)


# "131 dollars 42", "131 dollars and 42 cents": one amount, 131.42 (persona/spoken.py's `_money`
# says "$131.42" so), not the figures 131 and 42; read wherever figures are read.
_SPOKEN_MONEY = re.compile(
    r"(?<![\d.,])\b(?P<whole>\d[\d,]*)\s+(?:dollars?|euros?|pounds?)\s+"
    r"(?:and\s+(?P<cents>\d{1,2})\s+(?:cents?|pence)\b|(?P<bare>\d{1,2})(?!\d|[.,]\d)(?:\s+(?:cents?|pence)\b)?)",
    re.IGNORECASE,
)


def spoken_amounts(text: str) -> list[tuple[str, float]]:
    """The amounts of money said the spoken way in `text` ("131 dollars 42": 131.42), as said."""
    out = []
    for m in _SPOKEN_MONEY.finditer(text):
        cents = m.group("cents") or m.group("bare")
        out.append((m.group(0), float(m.group("whole").replace(",", "")) + int(cents) / 100))
    return out


def _without_spoken_amounts(text: str) -> str:
    """`text` with its spoken amounts blanked out (read once, as amounts, not again as figures)."""
    return _SPOKEN_MONEY.sub(lambda m: " " * len(m.group(0)), text)


# The clock line each turn's context begins with (pipeline/conversation/context.py `time_line`:
# "It is now Monday 30 November 2026, 08:55."). It says what time it is now, not when a price was
# quoted or a forecast made: on a turn about a live fact of the world it is no source for a figure
# ("NVDA is trading at $131.42 on Monday 30 November 2026, 08:55" presented the clock as the
# quote's time).
CLOCK_LINE = re.compile(r"^It is now [A-Z][a-z]+ \d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2}\.$", re.MULTILINE)


def _value(token: str) -> float | None:
    t = token.lower().replace(",", "").strip()
    try:
        return float(t)
    except ValueError:
        pass
    v = _WORD_VALUES.get(re.sub(r"[\s-]+", "-", t))
    return float(v) if v is not None else None


def _values(text: str) -> set[float]:
    out: set[float] = {v for _, v in spoken_amounts(text)}
    for m in re.finditer(_NUMBER, _without_spoken_amounts(text), re.IGNORECASE):
        v = _value(m.group(0))
        if v is not None:
            out.add(v)
    return out


# A time of day as the model writes it: "23:05", "7:30", "11 pm", "6:45 a.m."
_CLOCK_TIME = re.compile(
    r"\b(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?::\d\d)?(?:\s*(?P<ap>[ap])\.?\s*m\b\.?)?"
    r"|\b(?P<h2>1[0-2]|[1-9])\s*(?P<ap2>[ap])\.?\s*m\b\.?",
    re.IGNORECASE,
)


def _clock_times(text: str) -> list[tuple[str, set[int]]]:
    """Each time of day in `text`, with the minutes of the day it may mean ("7:30" without a.m. or
    p.m.: 07:30 or 19:30)."""
    out = []
    for m in _CLOCK_TIME.finditer(text):
        hour = int(m.group("h") or m.group("h2"))
        minute = int(m.group("m") or 0)
        ap = (m.group("ap") or m.group("ap2") or "").lower()
        if ap:
            hours = {hour % 12 + (12 if ap == "p" else 0)}
        else:
            hours = {hour, hour + 12} if 1 <= hour <= 11 else {hour}
        out.append((m.group(0).strip(), {h * 60 + minute for h in hours}))
    return out


@dataclass
class SourceGuard:
    """Checks the model's sentences against what this turn's sources said."""

    sources: Iterable[str]
    live: bool = False  # a live-facts turn: every figure needs a source
    dropped: list[str] = field(default_factory=list)
    names: bool = False  # a turn about the user's own facts: every name needs a source too
    acted: bool = True  # a tool ran this turn; when not, a sentence that says something was done is dropped
    world: bool = False  # a live fact of the world (weather, prices...): the clock is no source for a figure
    instructions: frozenset[tuple[str, ...]] = frozenset()  # `instruction_runs` of the system prompt

    def __post_init__(self) -> None:
        self._known = set()
        self.sources = list(self.sources)
        self._text = " ".join(self.sources).lower()
        for s in self.sources:
            self._known |= _values(CLOCK_LINE.sub("", s) if self.world else s)
        self._times = {t for s in self.sources for _, times in _clock_times(s) for t in times}

    def unnamed(self, sentence: str) -> list[str]:
        """The names in `sentence` that no source gave (only on a turn about the user's own facts)."""
        if not self.names:
            return []
        out = []
        for m in _NAME.finditer(sentence):
            name = re.sub(r"['’]s$", "", m.group(0))
            if name not in _NOT_NAMES and name.lower() not in self._text:
                out.append(name)
        out += [m.group(1) for m in _NAME_ZH.finditer(sentence) if m.group(1) not in self._text]
        return out

    def unsupported(self, sentence: str) -> list[str]:
        """The figures in `sentence` that no source gave. On a live-facts turn every figure; on
        any other turn a figure with a unit that changes (money always; a temperature, percentage
        or speed when the sentence says it is about now): "water boils at 100 degrees" is general
        knowledge, "it's 68 degrees today" is a live fact."""
        out = [said.strip() for said, v in spoken_amounts(sentence) if v not in self._known]
        # a time of day no source gave, on any turn: "The next alarm is at 23:05." with no alarm set
        out += [said for said, times in _clock_times(sentence) if not times & self._times]
        sentence = _without_spoken_amounts(_CLOCK_TIME.sub(" ", sentence))
        if self.live:
            figures = [(m.group(0), m.group("b")) for m in _ANY_FIGURE.finditer(sentence)]
        else:
            now = _NOW.search(sentence) is not None
            figures = [
                (m.group(0), m.group("a") or m.group("b"))
                for m in _FIGURE_WITH_UNIT.finditer(sentence)
                if now or m.group("a") or _MONEY.search(m.group(0))
            ]
        for said, token in figures:
            v = _value(token)
            if v is not None and v not in self._known:
                out.append(said.strip())
        if self.live:  # figures with units spelled out in words count too
            for m in _FIGURE_WITH_UNIT.finditer(sentence):
                token = m.group("a") or m.group("b")
                v = _value(token)
                if v is not None and v not in self._known and m.group(0).strip() not in out:
                    out.append(m.group(0).strip())
        return out

    def check(self, sentence: str) -> str | None:
        """The sentence to speak, or None when it states a figure no source gave, or talks about
        the user instead of to them ("The user seems to be excited about…": the prompt's framing
        leaking into speech)."""
        if _NARRATES_USER.search(sentence):
            self.dropped.append(f"narrates the user: {sentence.strip()[:80]!r}")
            return None
        if self._recites(sentence):
            self.dropped.append(f"recites its instructions: {sentence.strip()[:80]!r}")
            return None
        if not self.acted and _CLAIM.search(sentence):
            self.dropped.append(f"claims an action no tool did: {sentence.strip()[:80]!r}")
            return None
        bad = self.unsupported(sentence) + self.unnamed(sentence)
        if bad:
            self.dropped.append(f"{', '.join(bad)} in {sentence.strip()[:80]!r}")
            return None
        return sentence

    def _recites(self, sentence: str) -> bool:
        if not self.instructions:
            return False
        words = _words(sentence)
        n = RECITED_WORDS
        return any(tuple(words[i : i + n]) in self.instructions for i in range(len(words) - n + 1))

    NO_SOURCE = "I don't have a source for that, so I won't guess."
    NOT_DONE = "I haven't done that: none of my tools ran for it. Could you say what to change?"
    UNCLEAR = "Sorry, I didn't follow. Could you say that another way?"

    def fallback(self) -> str:
        """What to say when every sentence was dropped: an action it only claimed, a fact with no
        source, or its own instructions recited (the request made no sense to it)."""
        if any(d.startswith("claims an action") for d in self.dropped):
            return self.NOT_DONE
        if any(d.startswith("recites its instructions") for d in self.dropped):
            return self.UNCLEAR
        return self.NO_SOURCE
