"""What a request about a named list says, read from its words without a model: which list, which
items, and whether it asks about one item ("are we out of milk?", "is milk on my shopping list?",
"do I need eggs?") or for the whole list ("what's on my shopping list?").

The lists family (`pipeline/tools/families/lists.py`) declares these readers as its tools' `plain`
arguments, so a list read, a question about an item and an explicit "add milk and eggs to the
shopping list" never go through the 0.5B planner, and a list read is said from the tool's own
result (`Tool.answers`), never worded by the reply model (which once said "Apples" for an empty list).

Several items: "milk and eggs", "milk, eggs and bread" are split at commas and "and" into one item
each. A name that is one thing though it has an "and" in it stays whole when it is one of the
common pairs in `ONE_THING` ("salt and pepper crisps", "fish and chips", "mac and cheese"); any other
"and" separates two items ("bread and butter" is bread and butter). "Or" never splits ("milk or
cream" is one item: the user's choice to make in the shop).

English only; the text these readers get has its number words as digits (`quantities.py`).
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.acting.reach import stem
from pipeline.acting.speech_act import classify

# Pairs with an "and" that name one thing on a shopping list; matched inside an item ("salt and
# pepper crisps", "cheese and onion crisps"). Anything else with an "and" is two items.
ONE_THING = (
    "salt and pepper",
    "salt and vinegar",
    "cheese and onion",
    "sour cream and onion",
    "fish and chips",
    "mac and cheese",
    "macaroni and cheese",
    "sweet and sour",
    "bread and butter pudding",
    "ham and cheese",
    "ham and mustard",
    "strawberries and cream",
    "peaches and cream",
    "cookies and cream",
    "gin and tonic",
    "peanut butter and jelly",
    "fruit and nut",
    "rice and peas",
    "bangers and mash",
    "pork and beans",
    "oil and vinegar",
    "black and white",
    "head and shoulders",
    "marks and spencer",
    "lea and perrins",
    "ben and jerry's",
    "m and m's",
)
_LEADS = re.compile(r"^(?:(?:some|more|any|extra|a|an|the|a\s+few|a\s+couple\s+of)\s+)+", re.I)
# A request's lead-in words: "hey twin, um, ..." and the polite frames before the real verb.
_LEAD = re.compile(
    r"^(?:(?:hey|hi|ok|okay|so|well|um+|uh+|er+|oh|right|alright|now|twin|please)\b[\s,.!—–-]*)+", re.I
)
_POLITE = re.compile(
    r"^(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|would\s+you\s+mind\s+|please\s+|"
    r"(?:go\s+ahead\s+and|just)\s+)+",
    re.I,
)
# Words that say an "item" is no thing to put on a list: a pronoun ("put it on the list": the
# conversation says what), another tool's object ("add 5 minutes to the timer").
_NOT_ITEM = re.compile(
    r"^(?:it|that|this|them|those|these|one)$|\b(?:minutes?|mins?|seconds?|secs?|hours?|timers?|alarms?|"
    r"reminders?|notes?)\b",
    re.I,
)
# ...and, where no "to the ... list" bounds the items ("add bread", "remember to buy milk"), a time
# or a place after them: "remember to buy milk tomorrow at six" is a reminder, the planner's to read.
_LOOSE = re.compile(
    r"\b(?:to|on|onto|in|at|by|for|from|with|if|when|before|after|every|today|tonight|tomorrow|later|morning|"
    r"evening|afternoon|week|weekend|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
    r"|\d+\s*(?:am|pm|o'?clock)\b|\d+:\d+",
    re.I,
)
# What a question about the weather asks for ("do I need an umbrella"): not a shopping item.
_WEATHER_THINGS = (
    r"umbrellas?|brolly|raincoats?|rain\s+coats?|jackets?|coats?|sunglasses|sun\s*cream|sunscreen|"
    r"shorts|scarf|scarves|gloves|wellies|wellingtons|jumpers?|sweaters?|layers|hats?"
)

# "Do I need ...": not a thing to buy when it is an action ("to"), a person, one thing with an article
# ("a passport for Spain": general knowledge) or what the weather asks for ("an umbrella").
_NOT_NEEDED = (
    r"(?!(?:to|you|help|it|this|that|anything|something|the|an?|my|your|his|her|their|our|"
    rf"{_WEATHER_THINGS})\b)"
)
# "Are we out of ...": not a household supply ("are we out of time", "running low on patience").
_NOT_SUPPLY = r"(?!(?:time|ideas|luck|patience|options|space|room|road|steam|breath|energy)\b)"
_NAME = r"(?P<name>to[\s-]?do|[a-z][\w'-]*(?:\s+[a-z][\w'-]*)?)"
_LIST = rf"(?:the|my|our)\s+(?:{_NAME}\s+)?list"
_ITEMS = r"(?P<items>[a-z0-9][\w'&, -]*?)"
_TAIL = r"(?:\s+(?:please|now|for\s+me|again))*\s*[.!?]*$"

# A question about items on a list: each reads the items and, when it names one, the list.
_ITEM_QUESTIONS = tuple(
    re.compile(p, re.I)
    for p in (
        # "are we out of milk?", "am I low on eggs", "are we running low on coffee"
        rf"^(?:are|am)\s+(?:we|i)\s+(?:(?:almost|nearly|completely|all|totally|running|getting)\s+)?"
        rf"(?:out\s+of|low\s+on|short\s+(?:of|on)|(?:low|short)\s+on)\s+{_NOT_SUPPLY}(?:any\s+)?{_ITEMS}"
        rf"(?:\s+(?:again|yet|now))?(?:\s+(?:on|according\s+to)\s+{_LIST})?{_TAIL}",
        # "do I need eggs?", "do we still need milk", "do we need to buy bread"
        rf"^(?:do|did)\s+(?:we|i)\s+(?:still\s+)?(?:need|have\s+to\s+(?:buy|get))\s+(?:to\s+(?:buy|get)\s+)?"
        rf"{_NOT_NEEDED}(?:any\s+|more\s+|some\s+)?{_ITEMS}(?:\s+(?:on|from)\s+{_LIST})?{_TAIL}",
        # "is milk on my shopping list?", "is there any milk on the list", "are eggs on it"
        rf"^(?:is|are)\s+(?:there\s+)?(?:any\s+|some\s+)?{_ITEMS}\s+(?:already\s+|still\s+)?(?:on|in)\s+{_LIST}"
        rf"{_TAIL}",
        # "did I put eggs on the list", "have we added bread to the shopping list"
        rf"^(?:did|have|has)\s+(?:i|we|you|someone|anyone)\s+(?:already\s+)?(?:put|add(?:ed)?|written|"
        rf"wr[io]te)\s+(?:down\s+)?{_ITEMS}\s+(?:on|to|onto|in)\s+{_LIST}{_TAIL}",
        # "have we got milk on the list", "got any eggs on the shopping list?"
        rf"^(?:(?:have|has)\s+(?:we|i|you)\s+)?got\s+(?:any\s+|some\s+)?{_ITEMS}\s+(?:on|in)\s+{_LIST}{_TAIL}",
        # "check the shopping list for bread", "check if milk is on the list"
        rf"^(?:check|look)\s+(?:on\s+|at\s+)?{_LIST}\s+for\s+(?:any\s+)?{_ITEMS}{_TAIL}",
        rf"^check\s+(?:if|whether)\s+(?:there\s+is\s+|there's\s+)?(?:any\s+)?{_ITEMS}\s+(?:is\s+|are\s+)?"
        rf"(?:on|in)\s+{_LIST}{_TAIL}",
        # "does my shopping list have milk on it", "does the list include eggs"
        rf"^(?:does|do)\s+{_LIST}\s+(?:have|include|contain|say)\s+(?:any\s+)?{_ITEMS}(?:\s+on\s+it)?{_TAIL}",
    )
)
# What to buy, asked of the shopping list: "what do we need to buy", "what have I got to get"; a
# bare "what should I buy" only with nothing after it (not "what should I buy mum for her birthday").
_TO_BUY = (
    r"\bwhat\s+(?:do|should|must|have)\s+(?:i|we)\s+(?:still\s+)?(?:got\s+)?(?:need\s+to|have\s+to|got\s+to|to)\s+"
    r"(?:buy|get|pick\s+up)\b|\bwhat\s+(?:do|should)\s+(?:i|we)\s+(?:still\s+)?buy(?:\s+(?:today|tonight|this\s+week|"
    r"at\s+the\s+\w+|from\s+the\s+\w+))?\s*[?.!]*$|\bwhat\s+do\s+(?:i|we)\s+need\s+from\s+the\s+(?:shops?|store|supermarket)\b"
)
# A request for the whole list: "what's on my shopping list", "read me the to do list".
_READS = tuple(
    re.compile(p, re.I)
    for p in (
        # "what's on my shopping list", "what was on the list again", "anything on the to do list?",
        # "how many things are on my list"
        r"\b(?:what|what'?s|whats|anything|how\s+many\s+(?:things|items))\b(?:[\w' ]*?\s)?"
        rf"(?:on|in)\s+{_LIST}\b",
        rf"\b(?:read|show|tell|give|list)\s+(?:me\s+|us\s+)?(?:out\s+)?(?:what'?s\s+on\s+)?{_LIST}\b",
        rf"^(?:(?:the|my|our)\s+)?{_NAME}\s+list\s*[?.!]*$",  # "shopping list?"
        _TO_BUY,
    )
)
# An explicit addition: "add milk and eggs to the shopping list", "put bread on my list". A leading
# "add" is often heard as "and" ("And apples to my shopping list.", real recordings and Twin's own
# voice alike): with "to ... list" after it, that is the same request.
_ADD = re.compile(
    rf"^(?:add|and|put|stick|pop|write|jot)\s+(?:down\s+)?{_ITEMS}\s+(?:to|on|onto|in)\s+{_LIST}{_TAIL}", re.I
)
# A removal: "remove milk and eggs from the shopping list", "cross bread off my list".
_REMOVE = re.compile(
    rf"^(?:remove|delete|take|cross|tick|strike|scratch)\s+(?:off\s+)?{_ITEMS}\s+(?:off\s+(?:of\s+)?|from\s+|out\s+of\s+)"
    rf"{_LIST}{_TAIL}",
    re.I,
)
_ADD_BARE = re.compile(rf"^add\s+{_ITEMS}{_TAIL}", re.I)
# "remember to buy milk", "don't forget to get eggs and bread": a thing to buy, said with no time,
# goes on the shopping list (a time makes it a reminder: the planner's to read).
_REMEMBER_TO_BUY = re.compile(
    rf"^(?:remember|don'?t\s+(?:let\s+me\s+)?forget|do\s+not\s+(?:let\s+me\s+)?forget|"
    rf"make\s+sure\s+(?:i|we)\s+(?:remember|don'?t\s+forget))\s+(?:to\s+|that\s+(?:i|we)\s+need\s+to\s+)"
    rf"(?:buy|get|pick\s+up|grab)\s+(?:some\s+|more\s+)?{_ITEMS}{_TAIL}",
    re.I,
)
REMEMBER_TO_BUY = r"\b(?:remember|forget)\s+to\s+(?:buy|get|pick\s+up|grab)\b"

# The words that bring up a question about an item (for the family's cue and topic): those of
# `_ITEM_QUESTIONS` that the list words ("list", "we're out of") do not already bring up.
ITEM_QUESTION = (
    rf"^(?:do|did)\s+(?:we|i)\s+(?:still\s+)?need\s+{_NOT_NEEDED}"
    rf"[a-z]|^(?:are|am)\s+(?:we|i)\s+(?:\w+\s+)?(?:low|short)\s+(?:on|of)\s+{_NOT_SUPPLY}"
    rf"|{_TO_BUY}"
)
# Any list named by its owner's words: "my hardware list", "the to do list", "our list".
NAMED_LIST = r"\b(?:my|the|our)\s+(?:[\w'-]+\s+){0,2}list\b"

_CANONICAL = {
    "to do": "todo",
    "to-do": "todo",
    "todo": "todo",
    "todos": "todo",
    "to dos": "todo",
    "to-dos": "todo",
    "grocery": "shopping",
    "groceries": "shopping",
    "grocery shopping": "shopping",
    "shop": "shopping",
    "shopping": "shopping",
}
# Lists every household has, empty until something goes on them: asked about, they are empty, not
# unknown.
STANDARD = ("shopping", "todo")


def list_key(name: str) -> str:
    """One spelling per list: "To-Do", "to do" and "todo" are the to-do list; "groceries" the shopping
    list; a trailing "list" is not part of the name."""
    n = re.sub(r"\s+", " ", name.lower().strip().strip(".!?\"'")).removesuffix(" list").strip()
    return _CANONICAL.get(n, n)


def spoken_list(key: str) -> str:
    return "to-do" if key == "todo" else key


def item_key(item: str) -> str:
    """An item as compared with the list's: case, leading "some"/"a"/"the" and plural endings aside."""
    words = re.findall(r"[\w']+", _LEADS.sub("", item.lower().strip()))
    return " ".join(stem(w) for w in words)


def split_items(text: str) -> list[str]:
    """The items a phrase names: "milk, eggs and bread" is three, "salt and pepper crisps" one (see
    the module's rule), each without a leading "some"/"a"/"the"."""
    text = re.sub(r"\s+", " ", text.strip().strip(".!?,;"))
    kept: dict[str, str] = {}
    for i, pair in enumerate(ONE_THING):
        rx = re.compile(rf"\b{re.escape(pair)}\b", re.I)
        if rx.search(text):
            token = f"\x00{i}\x00"
            kept[token] = pair
            text = rx.sub(lambda m, t=token: t, text)  # type: ignore[misc]
    pieces = re.split(r"\s*,\s*(?:and\s+|&\s+)?|\s+(?:and|&)\s+", text)
    out: list[str] = []
    for piece in pieces:
        for token, pair in kept.items():
            piece = piece.replace(token, pair)
        piece = _LEADS.sub("", piece.strip()).strip()
        if piece and item_key(piece) not in {item_key(x) for x in out}:
            out.append(piece)
    return out


def said_list(items: list[str]) -> str:
    """ "milk", "milk and eggs", "milk, eggs and bread"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _clean(text: str) -> str:
    t = re.sub(r"\s+", " ", text.strip().strip("\"'“”"))
    prev = None
    while prev != t:
        prev = t
        t = _POLITE.sub("", _LEAD.sub("", t).strip()).strip()
    return t


def _name(m: re.Match[str]) -> str:
    name = m.groupdict().get("name")
    return list_key(name) if name else ""


def _items_ok(items: str, bounded: bool = True) -> bool:
    """Whether these words name things for a list; `bounded`: "to the ... list" ends them."""
    words = items.strip()
    if not words or len(words.split()) > 16 or _NOT_ITEM.search(words):
        return False
    return bounded or not _LOOSE.search(words)


def read_list_request(text: str) -> dict[str, Any] | None:
    """A read of a list from its words: {"list": name} for the whole list ("" when no list is named:
    the tool picks), plus "item" for a question about items ("are we out of milk?" is
    {"list": "shopping", "item": "milk"}). None when the words are no plain list question: the
    planner's model reads them."""
    t = _clean(text)
    for rx in _ITEM_QUESTIONS:  # each a question's own form: no speech act needed
        m = rx.match(t)
        if m and _items_ok(m.group("items"), bounded=False):
            items = split_items(m.group("items"))
            if items:
                return {"list": _name(m) or "shopping", "item": said_list(items)}
    if not classify(t).asks and not re.match(
        r"^(?:read|show|tell|give|list|check)\b|.*\blist\s*\?$", t, re.I
    ):
        return None
    for rx in _READS:
        m = rx.search(t)
        if m:
            buy = "name" not in rx.groupindex  # "what do we need to buy": the shopping list
            return {"list": "shopping" if buy else _name(m)}
    return None


def add_request(text: str) -> dict[str, Any] | None:
    """An explicit addition from its words: "add milk and eggs to the shopping list" is
    {"list": "shopping", "item": "milk and eggs"} (the tool adds each); "add bread" goes on the
    shopping list; "remember to buy milk" too. None for anything else (a need said as a need is
    `lists.plain_need`'s; a request with a time, a pronoun or another tool's object the model's)."""
    t = _clean(text)
    m = _ADD.match(t)
    if m and _items_ok(m.group("items")):
        return {"list": _name(m) or "shopping", "item": m.group("items").strip()}
    m = _ADD_BARE.match(t) or _REMEMBER_TO_BUY.match(t)
    if m and _items_ok(m.group("items"), bounded=False):
        return {"list": "shopping", "item": m.group("items").strip()}
    return None


def remove_request(text: str) -> dict[str, Any] | None:
    """A removal from its words: "cross milk and eggs off the shopping list" is
    {"list": "shopping", "item": "milk and eggs"} (the tool removes each; with no list named, "" and
    the tool takes it off the list that has it); None for anything else."""
    m = _REMOVE.match(_clean(text))
    if m and _items_ok(m.group("items")):
        return {"list": _name(m), "item": m.group("items").strip()}
    return None


# -- an item named without its list: "actually remove the flour", "take the eggs off" ---------------

# What a speaker puts before a correction: "actually", "no wait", "oh and".
_AFTERTHOUGHT = re.compile(
    r"^(?:(?:actually|no|nope|wait|oops|sorry|and|also|then|instead|oh|ok|okay|right|so|well|um+|uh+|"
    r"hey|twin|please|hmm+)\b[\s,.!—–-]*)+",
    re.I,
)
_OFF_TAIL = r"(?:\s+(?:please|now|for\s+me|again|too|as\s+well|instead|then))*\s*[.!]*$"
# A removal whose words name the items and no list ("remove the flour", "scratch the milk", "take the
# eggs off", "take off the bread", "cross milk off"): which list holds them is for the lists to say.
_REMOVE_NAMED = tuple(
    re.compile(p, re.I)
    for p in (
        rf"^(?:remove|delete|scratch)\s+(?:off\s+)?{_ITEMS}(?:\s+off)?{_OFF_TAIL}",
        rf"^(?:take|cross|tick|strike|knock|scratch)\s+{_ITEMS}\s+off{_OFF_TAIL}",
        rf"^(?:take|cross|tick|strike|knock|scratch)\s+off\s+{_ITEMS}{_OFF_TAIL}",
    )
)
_PRONOUN = re.compile(r"^(?:it|them|that|this|those|these|both|both\s+of\s+them|that\s+one)$", re.I)
_OWNED = re.compile(r"\b(?:my|your|his|her|their|our|its)\b", re.I)
# Words that name no one item: "remove everything", "delete all the items" (no list read guesses).
_NO_ONE_ITEM = re.compile(
    r"^(?:all|every|everything|anything|something|nothing|each|the\s+lot|whatever|items?|things?)\b", re.I
)
# Where one clause ends and the next starts: "we've got bread now, take it off".
_CLAUSE_END = re.compile(r"\s*[,;.!:—–]\s*|\s+(?:so|and\s+then|then)\s+", re.I)


def lists_holding(item: str, lists: dict[str, list[str]]) -> list[str]:
    """The lists (their stored names, in order) that have `item` on them, as `item_key` compares."""
    key = item_key(item)
    return [name for name, items in lists.items() if any(item_key(x) == key for x in items)]


def held_in(text: str, lists: dict[str, list[str]]) -> list[str]:
    """The items on the user's lists that `text` names, as the lists spell them, in the order said:
    "we've got bread now" names bread when bread is on a list. Words are compared as `item_key`
    compares items (case and plural endings aside); a longer item wins over one inside it."""
    said = [stem(w) for w in re.findall(r"[\w']+", text.lower())]
    found: list[tuple[int, int, str]] = []
    for items in lists.values():
        for x in items:
            key = item_key(x).split()
            if not key:
                continue
            for i in range(len(said) - len(key) + 1):
                if said[i : i + len(key)] == key:
                    found.append((i, -len(key), x))
    out: list[str] = []
    taken: set[int] = set()
    for i, neg, x in sorted(found):
        span = set(range(i, i - neg))
        if span & taken or item_key(x) in {item_key(y) for y in out}:
            continue
        taken |= span
        out.append(x)
    return out


def named_removal(text: str) -> tuple[str, bool] | None:
    """The items a removal names without naming a list, and whether they were a pronoun ("take it
    off", its items said in an earlier clause): ("the flour", False) for "actually remove the flour".
    None when the words are no such removal, or ask something (a question never changes a list)."""
    if classify(text).asks:
        return None
    parts = [p for p in _CLAUSE_END.split(text.strip()) if p and p.strip()]
    if not parts:
        return None
    last = parts[-1]
    prev = None
    while prev != last:
        prev = last
        last = _AFTERTHOUGHT.sub("", _clean(last)).strip()
    if classify(last).asks:
        return None
    for rx in _REMOVE_NAMED:
        m = rx.match(last)
        if m is None:
            continue
        items = _LEADS.sub("", m.group("items").strip()).strip()
        if _PRONOUN.match(items):
            return (" ".join(parts[:-1]), True) if len(parts) > 1 else None
        if _OWNED.search(items) or _NO_ONE_ITEM.match(items) or len(items.split()) > 6:
            return None
        if not _items_ok(items, bounded=False):
            return None
        return items, False
    return None


def held_removal(text: str, lists: dict[str, list[str]]) -> dict[str, Any] | None:
    """A removal that names items and no list, read from its words and the user's lists (the lists'
    own contents are what says an item is a list's): {"list": "", "item": ...}, the tool taking each
    off the list that holds it. "We've got bread now, take it off" names bread in its first clause.
    For items on no list the words are still read ("remove the flour": flour is on none of them, and
    the tool says so) when some list has items; None otherwise, and for anything else."""
    read = named_removal(text)
    if read is None:
        return None
    words, pronoun = read
    if pronoun:
        named = held_in(words, lists)
        return {"list": "", "item": said_list(named)} if named else None
    if not any(lists.values()):
        return None
    return {"list": "", "item": words}


# The answer to "which list should I take it off?": "the baking list", "baking", "from the shopping
# one", "off the to-do list please".
_WHICH = re.compile(
    r"^(?:(?:from|off|off\s+of|on)\s+)?(?:(?:the|my|our)\s+)?(?P<name>to[\s-]?do|[a-z][\w'-]*(?:\s+[a-z][\w'-]*)?)"
    r"(?:\s+(?:list|one))?(?:\s+(?:please|thanks|thank\s+you))?\s*[.!]*$",
    re.I,
)


def which_list(text: str, asked: list[str]) -> str | None:
    """Of the lists a question offered (`asked`, their stored names), the one a short answer names:
    "the baking list" picks "baking"; None for anything else, and for a question."""
    t = _AFTERTHOUGHT.sub("", _clean(text)).strip()
    if classify(t).asks:
        return None
    m = _WHICH.match(t)
    if m is None:
        return None
    key = list_key(m.group("name"))
    return next((name for name in asked if list_key(name) == key), None)
