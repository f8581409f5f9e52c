"""What no tool can reach: a request to control a thing ("lock the front door", "set bed light
brightness 50%", "play the Beatles") or a question about a thing's state ("is the front door
locked") whose thing no configured tool declares. Such a request gets an honest answer ("I can't
lock the front door from here"), never a different tool that happens to sit near it by meaning
(the speaker volume for a light's brightness, a list removal for a lock) and never a state made up.

The deterministic layer where safety needs one: the request's grammar (a verb of control and its
object; a state question's subject and state) is read here with fixed rules, and whether a tool
covers it is read from what the tool declares: the words of its name, its description, its
example request and `Tool.objects` (what it acts on, in the words people use). A new MCP server
whose tools declare lights covers "turn on the lights" the moment it is configured.

A tool covers a request when its declared words name the head word of the request's object
("the front door": door; a pronoun object, "turn it up", is the conversation's: never blocked),
and, for verbs that say a specific action (`SPECIFIC`: lock, play, dim, activate...), when it
declares that verb too. Routing drops every tool that does not cover the request; the honest "I
can't" (`unreachable`) is said only for a thing one controls at home, a device's verb or something
to play, so "start a story about dragons" keeps the model's reply.

Every configured tool counts, Twin's own and MCP servers' alike. What an MCP tool declares is
derived from what its server presents, by one fixed rule (`schema_words`, applied in
`pipeline/tools/mcp.py` as the tool's `objects`): the words of its name (after the server's
prefix, split at "_", "-" and case changes) and of its sanitised description, as for any tool, plus
from its input schema each property's name, title, description (sanitised the same way, directive
sentences dropped) and string enum values, at most `SCHEMA_PROPERTIES` properties and
`SCHEMA_CHARS` characters in all. No model and no meaning is involved: the same server gives the
same words. A Chinese description declares its nouns as they are written ("打开或关闭窗帘" covers
窗帘).

A compound request is read clause by clause (`misses`): "set a timer for 5 minutes and turn on the
porch light" plans the timer and says the porch light is out of reach, in whichever position the
out-of-reach part comes.

Chinese (`_zh_ask`): a small table of the common home controls, read when the text starts in Chinese
(`memory.language.starts_chinese`, as the session picks the reply language): a control verb
(`_ZH_VERBS`: 打开/开/关闭/关/锁/解锁/播放/调暗...) before its object or after it (把-form,
"客厅的灯关掉"), a state question ("门锁了吗", "空调是不是开着", "门有没有锁") and the indoor
temperature ("现在几度", "卧室温度多少"). The object must name a thing in `_ZH_THINGS` (灯, 门,
空调, 电视...), each mapped to the English words a tool declares; anything else is the
conversation's. The honest answer is said in Chinese.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from memory.language import starts_chinese
from pipeline.tools.base import Tool

_LEAD = re.compile(
    r"^(?:(?:hey|hi|ok|okay|so|well|um+|uh+|er+|oh|right|alright|now|and|but|twin|please|just)\b[\s,.!—–-]*)+",
    re.IGNORECASE,
)
_POLITE = re.compile(
    r"^(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|please\s+|go\s+ahead\s+and\s+|"
    r"i\s+(?:want|need|would\s+like|'d\s+like)\s+(?:you\s+)?to\s+)",
    re.IGNORECASE,
)
# The verbs of control. Those in SPECIFIC name the action itself: a tool must declare it ("play"
# is not "stop what is playing"); the others ("set", "turn up") take their meaning from the object.
_MORE = "brighter|darker|dimmer|warmer|cooler|hotter|colder"  # "make the lamp brighter"
_VERB = (
    r"(?P<verb>turn|switch|power|flip|put(?=\s+on\b|.*\son\s*(?:please)?\W*$)|"
    rf"make(?=.*\s(?:{_MORE})\b)|set|dim|brighten|lock|unlock|open|close|shut|activate|deactivate|"
    r"enable|disable|arm|disarm|start|preheat|play|resume|unpause|shuffle|skip|raise|lower|"
    r"increase|decrease|adjust|change)"
)
SPECIFIC = frozenset(
    re.findall(r"\S+", "dim brighten lock unlock activate deactivate arm disarm preheat play resume unpause")
    + ["shuffle", "skip", "put"]
)
_PARTICLE = r"(?:on|off|up|down)"
_CONTROL = re.compile(rf"^{_VERB}\b(?:\s+(?P<pre>{_PARTICLE})\b)?(?P<rest>.*)$", re.IGNORECASE)
# Where the object ends: a preposition, a conjunction, a number, a particle, punctuation.
_OBJECT_END = re.compile(
    r"\s+(?:to|for|in|at|by|until|till|from|and|then|so|because|when|with|please|now|again|a\s+bit|"
    rf"about|into|like|as|of|{_MORE}|"
    r"on|off|up|down|back\s+(?:on|off|up|down)|all\s+the\s+way)\b|\s*\d|\s*[,.;:!?%]|$",
    re.IGNORECASE,
)
_PRONOUN = re.compile(
    r"^(?:it|this|that|them|these|those|me|us|yourself|one|"
    r"(?:it|this|that)\s+\w+er)$",
    re.IGNORECASE,
)
# "bedroom lamp to 30 percent", "hall lights off": a thing and a setting, without a verb
_VERBLESS = re.compile(
    r"^(?P<obj>[a-z][\w' -]*?)\s+(?:on|off|to\s+\d+(?:\s*(?:percent|%))?(?:\s+[a-z]+)?)"
    r"(?:\s+please)?\s*[.!]*$",
    re.IGNORECASE,
)
_NOT_THING = frozenset(
    re.findall(
        r"\S+",
        "i you we he she it they is are was were be been am do does did have has had can could will would "
        "should what who how why when where which there here this that going want need like get got go "
        "come put set turn switch let me us my",
    )
)
_GAME = re.compile(r"\b(?:games?|quiz|trivia|riddles?|i\s+spy|questions|rock\s+paper)\b", re.IGNORECASE)
_STATE = (
    r"(?P<state>on|off|open|opened|closed|shut|locked|unlocked|running|plugged\s+in|switched\s+(?:on|off)|"
    r"turned\s+(?:on|off)|lit|armed|disarmed|charging|connected|left\s+(?:on|open))"
)
_SUBJECT = r"(?P<obj>(?:the|my|our|your|any\s+of\s+the|all\s+(?:of\s+)?the)\s+[\w' -]+?)"
_ASK_FRAME = re.compile(
    r"^(?:(?:can|could|would)\s+you\s+)?(?:please\s+)?(?:check|see|tell\s+me|find\s+out|let\s+me\s+know|"
    r"do\s+you\s+know|i\s+wonder)\s+(?:if|whether)\s+",
    re.IGNORECASE,
)
_Q_STATE = re.compile(
    rf"^(?P<be>is|are|was|were)\s+{_SUBJECT}\s+(?:still\s+|now\s+)?{_STATE}\b(?!\s+(?:the|a|my|your)\b)",
    re.IGNORECASE,
)
_Q_FRAMED = re.compile(
    rf"^{_SUBJECT}\s+(?P<be>is|are|was|were)\s+(?:still\s+|now\s+)?{_STATE}\b", re.IGNORECASE
)
_Q_LEFT = re.compile(
    r"^did\s+(?:i|we|you|someone|anyone|somebody|anybody)\s+"
    r"(?P<verb>leave|lock|unlock|close|shut|turn\s+off|switch\s+off|turn\s+on|switch\s+on)\s+"
    rf"{_SUBJECT}(?:\s+(?P<state>on|open|unlocked|running))?\s*[?.!]*$",
    re.IGNORECASE,
)
_Q_SETTING = re.compile(r"^what(?:'s|\s+is)\s+(?P<obj>the\s+[\w' -]+?)\s+set\s+to\b", re.IGNORECASE)
_LEFT_STATE = {
    "lock": "locked",
    "unlock": "unlocked",
    "close": "closed",
    "shut": "closed",
    "turn off": "off",
    "switch off": "off",
    "turn on": "on",
    "switch on": "on",
}
_WORD = re.compile(r"[^\W_]+")
_SHORT = frozenset({"tv", "ac"})  # things named in two letters
_FILLER = frozenset(
    re.findall(
        r"\S+",
        "a an the my our your their his her its of all any some this that these those please bit little "
        "lot more less much very",
    )
)


@dataclass(frozen=True)
class Ask:
    """A request's grammar as far as reach needs it."""

    kind: str  # "control" (do something to a thing) or "state" (what state a thing is in)
    verb: str  # "lock", "turn on"; "" for a state question
    obj: str  # the thing as the user said it ("the front door"); "" when only the verb was said
    state: str = ""  # a state question's state ("locked")
    plural: bool = False  # "are the lights on"
    after: str = ""  # said after the object: "make the lamp brighter"
    lang: str = "en"  # "zh": read by the Chinese rules, answered in Chinese
    keys: tuple[str, ...] = ()  # the head word(s) a tool must declare; () reads it from `obj`
    said: str = ""  # a Chinese verb as said ("打开"); a state question's whole noun ("门是不是锁了")

    @property
    def sentence(self) -> str:
        """What Twin says when no tool reaches it."""
        if self.lang == "zh":
            if self.kind == "state":
                return f"我在这里查不到{self.noun}，也不会乱猜。"
            return f"我在这里没办法{self.said}{self.obj}：我的工具都做不到。"
        if self.kind == "state":
            return f"I can't check {self.noun} from here, and I won't guess."
        what = f"{self.verb} {self.obj} {self.after}".strip() if self.obj else f"{self.verb} anything"
        return f"I can't {what} from here: none of my tools can do that."

    @property
    def not_done(self) -> str:
        """What Twin says when a tool reaches it but none was called: not done, and no guess."""
        if self.lang == "zh":
            if self.kind == "state":
                return f"我没能查到{self.noun}，也不会乱猜。"
            return f"我没有{self.said}{self.obj}：我没弄清该用哪个工具。"
        if self.kind == "state":
            return f"I couldn't check {self.noun}, and I won't guess."
        what = f"{self.verb} {self.obj} {self.after}".strip() if self.obj else self.verb
        return f"I didn't {what}: I couldn't work out how with my tools."

    @property
    def heads(self) -> tuple[str, ...]:
        """The words a tool must declare for the object: its head word, or the Chinese noun's."""
        return self.keys or ((head(self.obj),) if self.obj else ())

    @property
    def noun(self) -> str:
        """How the honest answer names it: "whether the front door is locked", "the front door"."""
        if self.lang == "zh":
            return self.said if self.kind == "state" else self.obj
        if self.kind == "state":
            if self.state == "set to":
                return f"what {self.obj} is set to"
            return f"whether {self.obj} {'are' if self.plural else 'is'} {self.state}"
        return self.obj or self.verb


def _clean(text: str) -> str:
    t = text.strip().strip("\"'“”")
    prev = None
    while prev != t:
        prev = t
        t = _LEAD.sub("", t).strip()
        t = _POLITE.sub("", t).strip()
    return t


def stem(word: str) -> str:
    """A word without its plural ending ("batteries" -> "battery", "lights" -> "light"); routing's too."""
    word = word.lower()
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def words(text: str) -> set[str]:
    """Content words, stemmed; split at case changes too (turnOnLight)."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    return {
        stem(w)
        for w in _WORD.findall(text)
        if (len(w) > 2 or w.lower() in _SHORT) and w.lower() not in _FILLER
    }


def _same(a: str, b: str) -> bool:
    """One word: equal stems, or one the other with an ending ("light" / "lighting", "time" /
    "timer", "remind" / "reminder"; not "tell" / "telly")."""
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 4 and long_.startswith(short) and long_[len(short) :] in _ENDINGS


_ENDINGS = frozenset({"r", "er", "ers", "ing", "ings", "ed", "d", "es"})


def _shares(said: Iterable[str], declared: Iterable[str]) -> bool:
    declared = list(declared)
    return any(_same(a, b) for a in said for b in declared)


def _state_ask(t: str) -> Ask | None:
    framed = _ASK_FRAME.match(t)
    m = _Q_FRAMED.match(t[framed.end() :]) if framed else _Q_STATE.match(t)
    if m:
        state = re.sub(r"\s+", " ", m.group("state")).lower()
        return Ask("state", "", m.group("obj"), state, m.group("be").lower() in ("are", "were"))
    m = _Q_LEFT.match(t)
    if m:
        verb = re.sub(r"\s+", " ", m.group("verb").lower())
        state = m.group("state") or _LEFT_STATE.get(verb, "on")
        return Ask("state", "", m.group("obj"), state.lower(), False)
    m = _Q_SETTING.match(t)
    if m:
        return Ask("state", "", m.group("obj"), "set to")
    return None


def ask(text: str) -> Ask | None:
    """The request's verb of control and its object, or its state question; None when it is
    neither, or when its object is a pronoun (the conversation says what "it" is)."""
    if starts_chinese(text.strip().strip("\"'“”「」")):
        return _zh_ask(text)
    t = _clean(text)
    if not t:
        return None
    state = _state_ask(t)
    if state is not None:
        return state
    m = _CONTROL.match(t)
    if m is None:
        bare = _VERBLESS.match(t)
        obj = bare.group("obj").strip() if bare else ""
        if not obj or any(w.lower() in _NOT_THING for w in obj.split()) or not words(obj):
            return None
        if re.search(r"\bto\s+\d", t) and len(obj.split()) < 2 and not re.search(r"percent|%", t):
            return None  # "count to 10" is no setting
        return Ask("control", "control", obj)
    verb = m.group("verb").lower()
    rest = m.group("rest")
    obj = rest[: _OBJECT_END.search(rest).start()].strip() if rest.strip() else ""
    if re.match(r"(?:me|us)\b", obj, re.IGNORECASE):
        obj = re.sub(r"^(?:me|us)\b\s*", "", obj, flags=re.IGNORECASE)  # "set me a timer"
    particle = m.group("pre") or ""
    if not particle and obj:  # "turn the lights on"
        tail = re.match(rf"\s*{re.escape(obj)}\s+(?P<p>{_PARTICLE})\b", rest, re.IGNORECASE)
        tail = tail or re.search(rf"\s(?P<p>{_PARTICLE})(?:\s+please)?\W*$", rest, re.IGNORECASE)
        particle = tail.group("p") if tail else ""
    phrase = f"{verb} {particle.lower()}".strip()
    if not obj:
        if verb in SPECIFIC and not rest.strip(" .!?"):
            return Ask("control", phrase, "")  # "Resume." / "Play."
        return None
    if _PRONOUN.match(obj) or not words(obj):
        return None
    if verb == "play" and _GAME.search(obj):
        return None  # "play a game with me" is the conversation's
    more = re.search(rf"\b({_MORE})\b", rest, re.IGNORECASE) if verb == "make" else None
    after = more.group(1).lower() if more else ""
    plural = stem(obj.split()[-1]) != obj.split()[-1].lower()
    return Ask("control", phrase, obj, plural=plural, after=after)


def declared(tool: Tool) -> set[str]:
    """What a tool says it is about: the words of its name, description, example and objects."""
    return _words(_declared_text(tool))


def _declared_text(tool: Tool) -> str:
    example = tool.example[0] if tool.example is not None else ""
    name = tool.name.split("__")[-1].replace("_", " ").replace("-", " ")
    return " ".join([name, tool.description, example, tool.objects])


# An MCP tool's input schema, read for what the tool acts on (`schema_words`): so many properties
# and so many characters at most, so a long schema cannot claim every thing in the house.
SCHEMA_PROPERTIES = 24
SCHEMA_CHARS = 600


def schema_words(schema: dict[str, Any], sanitize: Callable[[str], str] = lambda s: s) -> str:
    """The words an MCP tool's input schema declares: each property's name (split at "_", "-" and
    case changes), title, description (through `sanitize`: the MCP layer drops directive
    sentences) and string enum values, in the schema's order, nested objects' properties after
    their parent's. At most `SCHEMA_PROPERTIES` properties and `SCHEMA_CHARS` characters.
    Deterministic: the same schema gives the same words."""
    out: list[str] = []
    seen = 0

    def walk(node: Any, depth: int) -> None:
        nonlocal seen
        props = node.get("properties") if isinstance(node, dict) else None
        if not isinstance(props, dict) or depth > 2:
            return
        for name, spec in props.items():
            if seen >= SCHEMA_PROPERTIES:
                return
            seen += 1
            out.append(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(name)).replace("_", " ").replace("-", " "))
            if not isinstance(spec, dict):
                continue
            out.extend(sanitize(spec[k]) for k in ("title", "description") if isinstance(spec.get(k), str))
            items = spec.get("items") if isinstance(spec.get("items"), dict) else {}
            options = [spec, items, *(o for o in spec.get("anyOf", []) if isinstance(o, dict))]
            for option in options:
                if isinstance(option.get("enum"), list):
                    out.extend(e for e in option["enum"] if isinstance(e, str))
            walk(spec, depth + 1)
            walk(items, depth + 1)

    walk(schema, 0)
    defs = schema.get("$defs") if isinstance(schema, dict) else None
    for spec in (defs or {}).values() if isinstance(defs, dict) else ():
        if isinstance(spec, dict) and isinstance(spec.get("enum"), list):  # an Enum class's values
            out.extend(e for e in spec["enum"] if isinstance(e, str))
    text = " ".join(" ".join(w.split()) for w in out if w.strip())
    return text if len(text) <= SCHEMA_CHARS else text[:SCHEMA_CHARS].rsplit(" ", 1)[0]


@cache
def _words(text: str) -> frozenset[str]:
    return frozenset(words(text))


def head(obj: str) -> str:
    """The word an object is about: its last content word ("the front door": door, "bed light
    brightness": brightness); a modifier ("reading light") says which one, not what."""
    found = [stem(w) for w in _WORD.findall(obj) if (len(w) > 2 or w.lower() in _SHORT)]
    found = [w for w in found if w not in _FILLER]
    return found[-1] if found else ""


def covers(tool: Tool, a: Ask) -> bool:
    """Whether `tool` declares what the request is about: its object's head word, and a specific
    verb ("lock", "play") when the request uses one."""
    mine = declared(tool)
    # a tool described in Chinese declares its nouns and verbs as written: read them as text
    text = _declared_text(tool) if a.lang == "zh" else ""
    verb = a.verb.split()[0] if a.kind == "control" else ""
    # "put the kettle on" switches a thing on; "put on some jazz" is media and says its verb
    if verb in SPECIFIC and not (verb == "put" and any(h in THINGS for h in a.heads)):
        verbs = tool.verbs and re.search(tool.verbs, verb, re.IGNORECASE)
        zh = any(v in text for v in _ZH_SPECIFIC.get(verb, ()))
        if verb not in mine and not verbs and not zh:
            return False
    heads = a.heads
    if not heads:
        return True
    return _shares(heads, mine) or any(_HAN.match(h) and h in text for h in heads)


def out_of_reach(text: str, tools: Iterable[Tool]) -> Ask | None:
    """The request's ask when none of `tools` covers it; None when some tool does, or when the
    request is no control request or state question. Routing drops every tool that does not
    cover the ask: a wrong tool is never offered, whatever the object ("start a story": no timer)."""
    a = ask(text)
    if a is None:
        return None
    return None if any(covers(t, a) for t in tools) else a


# What Twin says it cannot do is narrower than what routing keeps from tools: "start a story about
# dragons" or "lower your voice" is the conversation's, and the model answers it. An honest "I
# can't" replaces the reply only for a thing one controls at home, a verb only a device takes, or
# something to play; a state question ("is the garage door shut") always asks for a live fact.
THINGS = frozenset(
    stem(w)
    for w in re.findall(
        r"\S+",
        "light lights lamp lamps bulb bulbs lighting brightness dimmer chandelier door doors lock locks "
        "deadbolt gate garage window windows blind blinds curtain curtains shutter shutters shade shades "
        "thermostat heating heater heat radiator radiators boiler ac aircon conditioning conditioner fan "
        "fans humidifier dehumidifier purifier temperature tv television telly oven stove hob cooker "
        "kettle toaster microwave dishwasher washer machine dryer fridge freezer vacuum hoover robot "
        "roomba mower sprinkler sprinklers plug plugs socket sockets outlet switch camera cameras doorbell "
        "projector console xbox playstation chromecast sonos car engine mode jacuzzi",
    )
)
DEVICE_VERBS = frozenset({"lock", "unlock", "dim", "brighten", "activate", "deactivate", "arm", "disarm"})
_MEDIA_VERBS = frozenset({"play", "put", "shuffle", "skip", "resume", "unpause"})
_NOT_MEDIA = re.compile(
    r"^(?:the\s+)?(?:role|part|along|pretend|dead|nice|fair|catch|hard\s+to\s+get|it\s+cool)\b", re.IGNORECASE
)


def _a_thing(a: Ask) -> bool:
    if a.kind == "state":
        return True
    verb = a.verb.split()[0]
    if verb in DEVICE_VERBS or verb == "preheat":
        return True
    if verb in _MEDIA_VERBS:
        return not (a.obj and _NOT_MEDIA.search(a.obj))
    return any(h in THINGS for h in a.heads)


def unreachable(text: str, tools: Iterable[Tool]) -> Ask | None:
    """The ask Twin should say it cannot reach: out of reach of `tools`, and about a thing."""
    a = out_of_reach(text, tools)
    return a if a is not None and _a_thing(a) else None


def a_thing(a: Ask) -> bool:
    """Whether Twin says out loud that it cannot reach `a` (a thing, a device's verb, media)."""
    return _a_thing(a)


# -- a compound request, clause by clause ----------------------------------------------------------

# Where a clause ends: routing's joiners ("and", "then", "also"), and in Chinese a full-width comma
# or semicolon (with its 然后 / 接着 / 再) or a bare 然后 / 接着 / 并且.
_SPLIT = re.compile(
    r"\s*,?\s*\b(?:and\s+then|and\s+also|and|then|also)\b\s*|\s*[，；。]\s*(?:然后|接着|再|并且|还有)?|然后|接着|并且",
    re.IGNORECASE,
)


def misses(text: str, tools: Iterable[Tool]) -> tuple[str, list[Ask]]:
    """A compound request read clause by clause: the text left to plan (the clauses some tool
    reaches, or that are no control request or state question, joined again; `text` itself when
    none is out of reach) and the asks no tool reaches, in the order said. A clause after one whose
    tool takes the user's own words ("remind me to call mum and lock the door") is part of those
    words, never split off (routing's `takes_free_text`)."""
    from pipeline.acting.routing import takes_free_text  # routing reads reach: imported when used
    from pipeline.tools.base import ToolRegistry

    tools = list(tools)
    registry = ToolRegistry(tools)
    spans: list[tuple[int, int]] = []  # each clause's place in `text`
    start = 0
    for m in [*_SPLIT.finditer(text), None]:
        end = m.start() if m is not None else len(text)
        if text[start:end].strip():
            if spans and takes_free_text(text[slice(*spans[-1])], registry):
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
        if m is not None:
            start = m.end()
    out: list[Ask] = []
    kept: list[str] = []
    for piece in (text[a:b].strip() for a, b in spans):
        a = out_of_reach(piece, tools)
        if a is None:
            kept.append(piece)
        else:
            out.append(a)
    if not out:
        return text, []
    joiner = "，" if starts_chinese(text.strip()) else " and "
    return joiner.join(kept), out


# -- Chinese ---------------------------------------------------------------------------------------

_HAN = re.compile(r"[\u4e00-\u9fff]")
# The things a Chinese request controls or asks about, each with the English words a tool declares
# for it (a tool described in Chinese declares the noun itself). The last one named is the head:
# 客厅的灯: 灯; 车库门: 门; 门锁: 锁.
_ZH_THINGS: dict[str, tuple[str, ...]] = {
    "灯": ("light", "lamp"),
    "台灯": ("lamp", "light"),
    "灯光": ("light", "lighting"),
    "门": ("door",),
    "大门": ("door", "gate"),
    "锁": ("lock",),
    "门锁": ("lock",),
    "窗": ("window",),
    "窗户": ("window",),
    "窗帘": ("curtain", "blind"),
    "百叶窗": ("blind", "shutter"),
    "空调": ("ac", "aircon", "conditioner", "conditioning"),
    "电视": ("tv", "television"),
    "暖气": ("heating", "radiator", "heater"),
    "地暖": ("heating",),
    "风扇": ("fan",),
    "电扇": ("fan",),
    "热水器": ("heater", "boiler"),
    "加湿器": ("humidifier",),
    "除湿机": ("dehumidifier",),
    "净化器": ("purifier",),
    "洗衣机": ("washer", "washing"),
    "烘干机": ("dryer",),
    "洗碗机": ("dishwasher",),
    "扫地机": ("vacuum", "robot"),
    "扫地机器人": ("vacuum", "robot"),
    "吸尘器": ("vacuum",),
    "烤箱": ("oven",),
    "微波炉": ("microwave",),
    "水壶": ("kettle",),
    "插座": ("plug", "socket", "outlet"),
    "摄像头": ("camera",),
    "投影仪": ("projector",),
    "音乐": ("music",),
    "歌": ("song", "music"),
    "歌曲": ("song", "music"),
    "电台": ("radio",),
    "广播": ("radio",),
    "温度": ("temperature", "thermostat"),
}
_ZH_THING = re.compile("|".join(sorted(_ZH_THINGS, key=len, reverse=True)))
_OPENS = frozenset({"door", "gate", "window", "curtain", "blind", "shutter"})  # opened, not switched on
# The verbs of control: what each means in English (for a thing that opens, for anything else).
_ZH_VERBS: dict[str, tuple[str, str]] = {
    "打开": ("open", "turn on"),
    "开开": ("open", "turn on"),
    "开启": ("open", "turn on"),
    "拉开": ("open", "open"),
    "开": ("open", "turn on"),
    "关闭": ("close", "turn off"),
    "关掉": ("close", "turn off"),
    "关上": ("close", "turn off"),
    "拉上": ("close", "close"),
    "关": ("close", "turn off"),
    "锁上": ("lock", "lock"),
    "锁好": ("lock", "lock"),
    "锁起来": ("lock", "lock"),
    "锁": ("lock", "lock"),
    "解锁": ("unlock", "unlock"),
    "开锁": ("unlock", "unlock"),
    "播放": ("play", "play"),
    "放": ("play", "play"),
    "调亮": ("brighten", "brighten"),
    "调暗": ("dim", "dim"),
    "调高": ("raise", "turn up"),
    "调大": ("raise", "turn up"),
    "调低": ("lower", "turn down"),
    "调小": ("lower", "turn down"),
    "启动": ("start", "start"),
}
# How a tool described in Chinese declares a specific verb.
_ZH_SPECIFIC = {
    "lock": ("锁",),
    "unlock": ("解锁", "开锁"),
    "play": ("播放",),
    "dim": ("调暗",),
    "brighten": ("调亮",),
}
# A verb first ("打开客厅的灯", "锁门", "放一首歌"); single characters only where they mean control.
_ZH_FRONT = re.compile(
    r"^(?P<verb>打开|开启|拉开|关闭|关掉|关上|拉上|锁上|锁好|解锁|开锁|播放|调亮|调暗|调高|调大|调低|调小|启动|"
    r"开(?!心|始|玩笑|发|会|车(?!库)|学|口|放)|关(?!于|心|注|系|键)|锁(?!定|屏)|"
    r"放(?=一首|首|点|些|一点|一些|个|歌|音乐))(?:一下|一点|一些|点)?(?P<obj>.+)$"
)
# The object first, with 把 ("把门锁上", "把灯关了") or without it ("客厅的灯关掉"; "灯关了" without
# 把 says what is, not what to do)
_ZH_BACK_VERBS = (
    "打开|开开|开启|拉开|关闭|关掉|关上|拉上|锁上|锁好|锁起来|解锁|调亮|调暗|调高|调大|调低|调小|启动"
)
_ZH_SAID = {"关": "关掉", "锁": "锁上", "开": "打开", "锁起来": "锁上"}  # how the answer says it, verb first
_ZH_BA = re.compile(
    rf"^(?:把|将)(?P<obj>.+?)(?P<verb>{_ZH_BACK_VERBS}|关|锁|开)(?:一下|一点|一些|点)?(?:了)?$"
)
_ZH_BACK = re.compile(rf"^(?P<obj>.+?)(?P<verb>{_ZH_BACK_VERBS})(?:一下|一点|一些|点)?$")
_ZH_LEAD = re.compile(
    r"^(?:(?:请你?|麻烦你?|帮我|帮忙|给我|你(?:能|可以|能不能|可不可以)(?:帮我)?|能不能|可不可以|可以|"
    r"嘿|喂|那个|好的|现在|马上|顺便|我想|我要)[，,、\s]*)+"
)
_ZH_TAIL = re.compile(r"(?:[吧呢啊呀哦嘛]|好吗|好不好|可以吗|行吗|谢谢你?|[。！？!?.，,\s])+$")
# A state question: "门锁了吗", "空调关了没有", "灯是不是开着", "门有没有锁", "灯关没关"
_ZH_STATE = re.compile(
    r"^(?P<obj>.+?)(?:是不是|有没有|是否)?(?:还)?(?P<state>锁|关|开|亮)(?:上|好|着)?(?:了)?(?:的)?(?:吗|没有|没)$"
    r"|^(?P<obj2>.+?)(?:是不是|有没有|是否)(?:还)?(?P<state2>锁|关|开|亮)(?:上|好|着)?(?:了)?(?:的)?$"
    r"|^(?P<obj3>.+?)(?P<state3>锁|关|开|亮)没(?P=state3)(?:上|好)?$"
)
_ZH_STATES = {"锁": ("locked", "锁上了"), "关": ("off", "关着"), "开": ("on", "开着"), "亮": ("on", "亮着")}
# The indoor temperature: "现在几度", "卧室温度多少", "屋里多少度". What comes before must be a
# room or a thing (a city or "外面" is the weather's).
_ZH_TEMP = re.compile(
    r"^(?P<where>.*?)(?:的)?(?:温度(?:是|有)?(?:多少|几度|多高|怎么样)?(?:度)?|几度|多少度)$"
)
_ZH_ROOM = re.compile(
    r"^(?:现在|目前|这会儿|)(?:的)?(?:屋里|室内|家里|房间|屋子|客厅|卧室|主卧|次卧|厨房|书房|浴室|卫生间|"
    r"儿童房|这里|这儿|里面|楼上|楼下|)(?:现在|目前|)$"
)


def _zh_keys(obj: str) -> tuple[str, ...]:
    found = _ZH_THING.findall(obj)
    if not found:
        return ()
    return (found[-1], *_ZH_THINGS[found[-1]])


def _zh_ask(text: str) -> Ask | None:
    """The Chinese rules (see the module's docstring); None when the request is none of them."""
    t = text.strip().strip("\"'“”「」")
    prev = None
    while prev != t:
        prev = t
        t = _ZH_LEAD.sub("", t).strip()
        t = _ZH_TAIL.sub("", t).strip()
    if not t:
        return None
    m = _ZH_TEMP.match(t)
    if m and (_ZH_ROOM.match(m.group("where")) or _zh_keys(m.group("where"))):
        where = re.sub(r"^(?:现在|目前)|的$|(?:现在|目前)$", "", m.group("where"))
        keys = ("温度", "temperature", "thermostat", *_zh_keys(where)[1:])
        said = f"{where}的温度" if where else "现在的温度"
        return Ask("state", "", "温度", "temperature", lang="zh", keys=keys, said=said)
    m = _ZH_STATE.match(t)
    if m:
        obj = m.group("obj") or m.group("obj2") or m.group("obj3")
        state = m.group("state") or m.group("state2") or m.group("state3")
        keys = _zh_keys(obj)
        if keys:
            english, said = _ZH_STATES[state]
            if keys[1] in _OPENS and state in "开关":
                english = "open" if state == "开" else "closed"
            return Ask("state", "", obj, english, lang="zh", keys=keys, said=f"{obj}是不是{said}")
    t = re.sub(r"吗$", "", t)  # "你能打开灯吗": a request asked politely
    for rx in (_ZH_FRONT, _ZH_BA, _ZH_BACK):
        m = rx.match(t)
        if m is None:
            continue
        obj, verb = m.group("obj").strip("的 "), m.group("verb")
        keys = _zh_keys(obj)
        meaning = _ZH_VERBS[verb]
        if not keys and meaning[0] == "play" and rx is _ZH_FRONT:
            keys = (obj, "music", "song", "audio", "track")  # "播放晴天": a title
        if not keys:
            continue
        english = meaning[0] if keys[1] in _OPENS or meaning[0] == meaning[1] else meaning[1]
        said = (
            verb
            if rx is _ZH_FRONT
            else {"关": "关掉", "锁": "锁上", "开": "打开", "锁起来": "锁上"}.get(verb, verb)
        )
        return Ask("control", english, obj, lang="zh", keys=keys, said=said)
    return None
