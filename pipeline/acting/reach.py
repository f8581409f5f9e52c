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
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

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

    @property
    def sentence(self) -> str:
        """What Twin says when no tool reaches it."""
        if self.kind == "state":
            return f"I can't check {self.noun} from here, and I won't guess."
        what = f"{self.verb} {self.obj} {self.after}".strip() if self.obj else f"{self.verb} anything"
        return f"I can't {what} from here: none of my tools can do that."

    @property
    def noun(self) -> str:
        """How the honest answer names it: "whether the front door is locked", "the front door"."""
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
    example = tool.example[0] if tool.example is not None else ""
    name = tool.name.split("__")[-1].replace("_", " ")
    return _words(" ".join([name, tool.description, example, tool.objects]))


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
    if a.kind == "control" and a.verb.split()[0] in SPECIFIC:
        verb = a.verb.split()[0]
        verbs = tool.verbs and re.search(tool.verbs, verb, re.IGNORECASE)
        if verb not in mine and not verbs:
            return False
    return not a.obj or _shares([head(a.obj)], mine)


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
    return head(a.obj) in THINGS


def unreachable(text: str, tools: Iterable[Tool]) -> Ask | None:
    """The ask Twin should say it cannot reach: out of reach of `tools`, and about a thing."""
    a = out_of_reach(text, tools)
    return a if a is not None and _a_thing(a) else None
