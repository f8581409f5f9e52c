"""`twin bench memory`: recall quality on a synthetic multi-session history, against dense-only
and BM25-only baselines in the same run; recall latency at 1k / 10k / 100k items; ingest rate, size
on disk and a kill -9 crash test.

The history generator is ours, and built to be hard for every method rather than easy for one:
several speakers, 64 sessions over three months, thousands of user turns per speaker, played through
the real write policy. Most turns are chit-chat (not written) or small talk about the same few topics
(errands, likes, outings with the same friends), so each speaker ends up with ~1,500 items full of
near-duplicates: several pets and several people with the same relation, many trades people, flights,
parcels and boxes, colleagues with look-alike names, the same outing with different friends on
different days, and planted facts that change over time.

Questions come in five kinds, each with the ids of its evidence:
  paraphrase  share no content word with the fact ("Who is my GP?" for "Your doctor is called
              Aiko"): keyword matching cannot find them, meaning has to
  rare        hinge on a rare name or a number ("What's in parcel 4471?"): embeddings blur those
  time        name a day ("Who did I play tennis with on 14 March?"): the same outing recurs
  changed     the current value of a fact that changed (where I live, my job, my dog's name)
  plain       ordinary wording that shares words with the fact and with its look-alikes
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from memory import Kind, Memory
from memory.index import Partition, terms
from memory.items import MemoryItem
from memory.policy import extract, parse_command

from .config import TwinConfig

SPEAKERS = ("anna", "ben", "chloe", "dev")
SESSIONS = 64
TURNS_PER_SESSION = 190
SPAN_DAYS = 90
CATEGORIES = ("paraphrase", "rare", "time", "changed", "plain")
METHODS = ("hybrid", "dense", "bm25")

CITIES = [
    "Leeds",
    "Manchester",
    "York",
    "Bristol",
    "Glasgow",
    "Cardiff",
    "Norwich",
    "Bath",
    "Oxford",
    "Derby",
]
FAR_CITIES = [
    "Lisbon",
    "Porto",
    "Krakow",
    "Seville",
    "Naples",
    "Split",
    "Tallinn",
    "Bergen",
    "Lyon",
    "Bruges",
]
JOBS = ["a nurse", "a teacher", "a baker", "an engineer", "a librarian", "a gardener", "a pilot", "a chef"]
PET_NAMES = ["Rex", "Milo", "Luna", "Bella", "Oscar", "Daisy", "Charlie", "Poppy", "Biscuit", "Pepper"]
FRIENDS = ["Sam", "Priya", "Tom", "Ines", "Kofi", "Mei", "Lars", "Ana", "Omar", "Zoe", "Ravi", "Elena"]
# Names for the people in someone's life, and for trades people: rare words, each used once.
RARE_NAMES = (  # noqa: SIM905 - a list of 140 names reads better as text
    "Zbigniew Wojciech Grzegorz Siobhan Niamh Oisin Tadhg Aoife Eilidh Ruaridh Dervla Caoimhe "
    "Padraig Bartholomew Thaddeus Ignatius Leopold Casimir Evander Isidore Ottoline Philippa Imogen "
    "Persephone Xanthe Zuleika Kwabena Oluwaseun Chiamaka Babajide Nkechi Temitope Yevgeny Svetlana "
    "Radoslav Miroslav Bogdan Dragomir Ljubica Vesna Aurelija Tarquin Peregrine Crispin Lysander "
    "Benedikt Wilhelmina Gwendolyn Rhiannon Bronwen Cerys Dafydd Gruffydd Iolo Ffion Hamish Fergus "
    "Lachlan Morag Isla Alasdair Seamus Declan Cormac Finnian Ronan Brigid Orla Eamon Ciaran Anouk "
    "Maarten Sjoerd Femke Joost Wouter Lieke Henrik Sigrid Torvald Astrid Leif Ingrid Solveig Bjorn "
    "Dagny Thorsten Gunnar Ottavio Ludovica Benedetta Gianluca Serafina Ilaria Raffaele Concetta "
    "Matteo Ximena Itzel Tenoch Citlali Anahi Yaretzi Kaito Haruki Sakura Ren Takumi Hinata Aiko "
    "Daichi Nkosana Thandiwe Sipho Zanele Lindiwe Themba Ayodele Folasade Chidi Ngozi Adaeze Emeka "
    "Bolormaa Tuvshin Enkhjin Altan Zhanar Aigerim Nurlan Dauren Assel Yerlan Madina Timur"
).split()
# Colleagues whose names look alike: the right one is told apart by the exact name only.
LOOKALIKES = [
    ["Siobhan", "Sinead", "Saoirse"],
    ["Tomas", "Thomas", "Tamas"],
    ["Mikhail", "Michal", "Mikael"],
    ["Katarzyna", "Katrina", "Katharina"],
    ["Jurgen", "Jurgis", "Jorgen"],
    ["Aleksander", "Alessandro", "Alexandru"],
    ["Marek", "Marko", "Mirek"],
    ["Ilse", "Ilona", "Ilka"],
]
COLLEAGUE_ROLES = [
    ("runs the Tuesday stand-up", "Who leads our weekly team huddle?"),
    ("handles the payroll", "Who sorts out salaries?"),
    ("sits next to me", "Whose desk is beside mine?"),
    ("is my mentor", "Who coaches me at the office?"),
    ("approves the holiday requests", "Who signs off time away?"),
    ("fixes the laptops", "Who repairs our computers?"),
    ("organises the quiz night", "Who arranges trivia evenings?"),
    ("writes the newsletter", "Who edits our bulletin?"),
]
TRADES = ["plumber", "electrician", "window cleaner", "gardener", "builder", "piano tuner", "locksmith"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
PARCELS = ["kettle", "new headphones", "birthday present for Mum", "printer ink", "garden hose", "rain coat"]
BOXES = ["Christmas lights", "old photo albums", "winter jumpers", "camping gear", "tax papers", "toy trains"]

# relation, its paraphrase (no shared content word), the plain question's wording
RELATIONS = [
    ("doctor", "Who is my GP?", "What is my doctor called?"),
    ("boss", "Who is my manager at work?", "What is my boss called?"),
    ("daughter", "What's my little girl's name?", "What is my daughter called?"),
    ("son", "What's my boy's name?", "What is my son called?"),
    ("mother", "What's my mum's name?", "What is my mother called?"),
    ("neighbour", "Who lives next door to me?", "What is my neighbour called?"),
    ("best friend", "Who is my closest pal?", "What is my best friend called?"),
    ("cat", "What's my kitty's name?", "What is my cat called?"),
]
CHANGING_PEOPLE = ("doctor", "boss")
# the same relation words in other people's things: look-alikes for the questions above
REL_DISTRACTORS = [
    "my neighbour's dog is called {n}",
    "my sister's cat is called {n}",
    "my boss's daughter is called {n}",
    "my doctor's receptionist is called {n}",
    "my best friend's son is called {n}",
    "my mother's cat was called {n}",
    "my son's teacher is called {n}",
    "my daughter's best friend is called {n}",
    "the cat next door is called {n}",
    "my old boss was called {n}",
]
# topic, how it is said, values, paraphrase question (no shared content word), plain question
PREFERENCES = [
    (
        "music",
        "I really like {v}",
        ["jazz", "opera", "folk music", "heavy metal", "reggae", "country music"],
        "What kind of tunes do I enjoy?",
        "What music do I like?",
    ),
    (
        "drink",
        "I love {v}",
        ["green tea", "espresso", "hot chocolate", "ginger beer", "cider", "oat milk lattes"],
        "Which beverage is my favourite?",
        "What do I love to drink?",
    ),
    (
        "exercise",
        "I enjoy {v}",
        ["swimming", "cycling", "rock climbing", "yoga", "rowing", "pilates"],
        "How do I keep fit?",
        "What sport do I enjoy?",
    ),
    (
        "food",
        "I hate {v}",
        ["coriander", "olives", "mushrooms", "blue cheese", "anchovies", "beetroot"],
        "Which ingredient should you leave out of my meals?",
        "What food do I hate?",
    ),
    (
        "films",
        "I really enjoy {v}",
        ["horror films", "romantic comedies", "westerns", "documentaries", "science fiction films"],
        "What should we put on the telly tonight?",
        "What films do I enjoy?",
    ),
    (
        "allergy",
        "I'm allergic to {v}",
        ["penicillin", "peanuts", "shellfish", "wasp stings", "latex", "sesame"],
        "Is there anything that could give me a dangerous reaction?",
        "What am I allergic to?",
    ),
    (
        "hobby",
        "I love {v}",
        ["knitting", "birdwatching", "woodwork", "stamp collecting", "sudoku", "pottery"],
        "What do I do in my spare time?",
        "What hobby do I love?",
    ),
    (
        "holidays",
        "I prefer {v}",
        ["beach holidays", "city breaks", "camping trips", "cruises", "walking holidays"],
        "Where would I rather go when I get time off?",
        "What holidays do I prefer?",
    ),
    (
        "season",
        "I really love {v}",
        ["autumn", "winter", "spring", "summer"],
        "What time of year suits me best?",
        "Which season do I love?",
    ),
]
# a routine each speaker keeps, and a paraphrase of the question about it
ROUTINE_FACTS = [
    ("Every Sunday I phone my mother", "How often do I ring Mum?"),
    ("Every Friday I go to the market", "When do I buy fresh vegetables?"),
    ("Every night I read for half an hour", "What do I do before bed?"),
    ("Every morning I do the crossword", "What puzzle fills my breakfast time?"),
]
ACTIVITIES = [
    ("played tennis with {f}", "Who did I play tennis with"),
    ("went to the cinema with {f}", "Who did I go to the cinema with"),
    ("had lunch with {f} at the Italian place", "Who did I have lunch with"),
    ("visited {f} in hospital", "Who did I visit in hospital"),
    ("went hiking in the Dales with {f}", "Who did I go hiking with"),
    ("helped {f} move house", "Who did I help move house"),
    ("baked a birthday cake for {f}", "Who did I bake a birthday cake for"),
    ("went swimming with {f}", "Who did I go swimming with"),
    ("cooked dinner for {f}", "Who did I cook dinner for"),
    ("went to a concert with {f}", "Who did I go to a concert with"),
    ("phoned {f} about the holiday", "Who did I phone about the holiday"),
    ("walked the dog with {f}", "Who did I walk the dog with"),
    ("went to the market with {f}", "Who did I go to the market with"),
    ("played cards with {f}", "Who did I play cards with"),
    ("drove {f} to the airport", "Who did I drive to the airport"),
    ("painted the fence with {f}", "Who did I paint the fence with"),
]
# small talk the policy keeps as episodes and likes: near-duplicates about the same topics
ERRANDS = [
    "I went to the {place} today",
    "I walked past the {place} this morning",
    "Yesterday I met {f} at the {place}",
    "I bought {thing} today",
    "This morning I had {thing} for breakfast",
    "I saw {f} at the {place} yesterday",
    "Today I finished {thing}",
    "I called {f} this morning",
]
PLACES = [
    "park",
    "post office",
    "library",
    "bakery",
    "pharmacy",
    "garden centre",
    "supermarket",
    "museum",
    "swimming pool",
    "dentist",
    "bank",
    "market",
    "station",
    "hairdresser",
    "pub",
    "church hall",
]
THINGS = [
    "a new umbrella",
    "some bread",
    "a birthday card",
    "porridge",
    "the crossword",
    "a jigsaw puzzle",
    "new shoes",
    "a bag of apples",
    "the ironing",
    "a library book",
    "some flowers",
    "toast and jam",
    "a pot of tea",
    "the washing up",
    "batteries",
    "a map of the Dales",
]
ADJ = ["new", "old", "little", "red", "blue", "green", "big", "cosy", "quiet", "busy", "cheap", "famous"]
NOUNS = [
    "cafe",
    "bakery",
    "park",
    "bench",
    "mug",
    "scarf",
    "jumper",
    "armchair",
    "bookshop",
    "pub",
    "market",
    "library",
    "cinema",
    "bus route",
    "radio show",
    "podcast",
    "quiz show",
    "recipe",
    "blanket",
    "teapot",
]
WHERE = ["", " on Mill Lane", " by the river", " in town", " near the station", " at work", " next door"]
LIKE_VERBS = ["I like", "I really like", "I love", "I enjoy", "I don't like", "I can't stand"]
FEELINGS = ["tired", "lonely", "worried", "stressed", "sad", "anxious"]
ROUTINES = [
    "Every morning I do the crossword",
    "Every evening I water the plants",
    "Every Sunday I phone my mother",
    "Every Friday I go to the market",
    "Every night I read for half an hour",
    "Every week I clean the windows",
]
CHATTER = [
    "What a lovely morning.",
    "Tell me a joke.",
    "What time is it?",
    "Thanks, that's helpful.",
    "How are you today?",
    "Can you say that again?",
    "That's funny.",
    "Okay, never mind.",
    "What is the capital of Peru?",
    "How far is the moon?",
    "Good night.",
    "Hello there.",
    "Turn the volume up a bit.",
    "Set a timer for ten minutes.",
    "What's the weather like in {c}?",
    "How do you spell necessary?",
    "Play something relaxing.",
    "Is it going to rain in {c} tomorrow?",
    "How many grams in a pound?",
    "Who won the match last night?",
    "Stop.",
    "Tell me about the history of {c}.",
]
HOUSEHOLD_FACTS = [
    ("The bins go out on Thursday night", "When is the rubbish collected?"),
    ("The boiler service is due in October", "When does the heating engineer need to check the furnace?"),
    ("The wifi router is in the hall cupboard", "Where is the internet box?"),
    ("The stopcock is under the kitchen sink", "Where do I turn the water off?"),
    ("The recycling goes out every other Monday", "How often are bottles and paper picked up?"),
]


@dataclass
class Question:
    query: str
    speaker: str
    evidence: set[str]
    category: str
    stale: set[str] = field(default_factory=set)  # superseded versions of the same fact


@dataclass
class History:
    questions: list[Question]
    turns: int
    sessions: int
    ingest_s: float
    lost_facts: int  # planted facts the write policy merged into a look-alike


@dataclass
class _Note:
    """A one-off thing said once, and (for the planted ones) the questions about it."""

    text: str
    holds: str  # the word the stored item must keep (else the policy merged it away)
    questions: list[tuple[str, str]] = field(default_factory=list)  # (category, query)


class _Life:
    """One person's life: the planted facts and the look-alikes around them."""

    def __init__(self, rng: random.Random, names: list[str]) -> None:
        self.people = {rel: names.pop() for rel, _, _ in RELATIONS}
        self.new_people = {rel: names.pop() for rel in CHANGING_PEOPLE}  # a new doctor, a new boss
        self.routine = rng.choice(ROUTINE_FACTS)
        self.prefs = {topic: rng.choice(values) for topic, _, values, _, _ in PREFERENCES}
        self.cities = rng.sample(CITIES, 3)
        self.jobs = rng.sample(JOBS, 2)
        self.dogs = rng.sample(PET_NAMES, 3)
        notes = [_Note(f"Remember that {d.format(n=(n := names.pop()))}", n) for d in REL_DISTRACTORS]
        # colleagues from four look-alike groups: one is asked about, the others are look-alikes
        for group, (role, para) in zip(
            rng.sample(LOOKALIKES, 4), rng.sample(COLLEAGUE_ROLES, 4), strict=True
        ):
            name = group[0]
            qs = [("rare", f"What does {name} do?"), ("paraphrase", para)]
            notes.append(_Note(f"Remember that my colleague {name} {role}", name, qs))
            for other in group[1:]:
                other_role = rng.choice([r for r, _ in COLLEAGUE_ROLES if r != role])
                notes.append(_Note(f"Remember that my colleague {other} {other_role}", other))
        for _ in range(6):
            trade, name, day = rng.choice(TRADES), names.pop(), rng.choice(WEEKDAYS)
            qs = [("rare", f"When is {name} coming?"), ("plain", f"When is the {trade} coming?")]
            notes.append(_Note(f"Remember that the {trade} {name} is coming on {day}", name, qs))
        for city in rng.sample(FAR_CITIES, 5):
            code = rng.choice(["TP", "FR", "BA", "LH", "KL", "EZ", "VY"]) + str(rng.randint(1000, 9999))
            notes.append(
                _Note(
                    f"Remember that my flight to {city} is {code}", code, [("rare", f"Where does {code} go?")]
                )
            )
        for what, n in zip(rng.sample(PARCELS, 4), rng.sample(range(1000, 10000), 4), strict=True):
            num = str(n)
            notes.append(
                _Note(
                    f"Remember that parcel {num} is the {what}", num, [("rare", f"What's in parcel {num}?")]
                )
            )
        for what, n in zip(rng.sample(BOXES, 4), rng.sample(range(10, 100), 4), strict=True):
            num = str(n)
            qs = [("rare", f"What did I put in box {num}?"), ("plain", f"Where are the {what}?")]
            notes.append(_Note(f"Remember that the {what} are in box {num}", num, qs))
        rng.shuffle(notes)
        self.notes = notes


class _Writer:
    """Plays user turns through the real write policy, at the session's time."""

    def __init__(self, mem: Memory) -> None:
        self.mem = mem
        self.turns = 0

    def say(self, text: str, speaker: str, at: float) -> MemoryItem | None:
        self.turns += 1
        if parse_command(text) is not None:
            return None
        written = None
        for c in extract(text):
            written = self.mem.remember(c.text, speaker, c.kind, c.key, c.importance, at=at)
        return written

    def episode(self, text: str, speaker: str, at: float) -> MemoryItem:
        """An outing, as the background extractor writes it: an episode with its time."""
        self.turns += 1
        return self.mem.remember(text, speaker, Kind.EPISODE, at=at, importance=0.4)


def _small_talk(rng: random.Random) -> tuple[str, object]:
    """One ordinary turn: chit-chat (not written), an errand, a like, an outing, a feeling."""
    r = rng.random()
    if r < 0.40:
        return "chat", rng.choice(CHATTER).format(c=rng.choice(CITIES))
    if r < 0.62:
        text = rng.choice(ERRANDS).format(
            place=rng.choice(PLACES), thing=rng.choice(THINGS), f=rng.choice(FRIENDS)
        )
        return "say", text
    if r < 0.76:
        return "say", f"{rng.choice(LIKE_VERBS)} the {rng.choice(ADJ)} {rng.choice(NOUNS)}{rng.choice(WHERE)}"
    if r < 0.93:
        return "outing", (rng.choice(ACTIVITIES)[0], rng.choice(FRIENDS))
    if r < 0.97:
        return "say", f"I feel really {rng.choice(FEELINGS)} today"
    return "say", rng.choice(ROUTINES)


def _when(day: datetime, today: datetime, rng: random.Random) -> str:
    days_ago = (today.date() - day.date()).days
    if days_ago == 1:
        return "yesterday"
    if days_ago < 7 and rng.random() < 0.7:
        return f"last {WEEKDAYS[day.weekday()]}"
    if rng.random() < 0.5:
        return f"{days_ago} days ago"
    return f"on {day.day} {day.strftime('%B')}"


def build_history(mem: Memory, seed: int = 7, scale: float = 1.0) -> History:
    """Play the sessions through the write policy; return the questions about what was said."""
    rng = random.Random(seed)
    today = datetime.now().astimezone()
    names = RARE_NAMES[:]
    rng.shuffle(names)
    lives = {s: _Life(rng, names) for s in SPEAKERS}
    offsets = sorted(rng.sample(range(2, SPAN_DAYS), SESSIONS - 1), reverse=True) + [1]  # one was yesterday
    days = [(today - timedelta(days=o)).replace(hour=8, minute=0, second=0, microsecond=0) for o in offsets]
    per_speaker = SESSIONS // len(SPEAKERS)
    n_small = max(20, int(TURNS_PER_SESSION * scale))
    w = _Writer(mem)
    questions: list[Question] = []
    facts: dict[tuple[str, str], MemoryItem | None] = {}  # (speaker, fact as said) -> its item
    notes: list[tuple[str, _Note, MemoryItem | None]] = []
    outings: dict[tuple[str, str, str], set[str]] = {}  # (speaker, day, activity) -> episode ids
    t0 = time.monotonic()

    household = {text: mem.remember(text, "household", at=days[0].timestamp()) for text, _ in HOUSEHOLD_FACTS}
    for s, day in enumerate(days):
        who = SPEAKERS[s % len(SPEAKERS)]
        life = lives[who]
        nth = s // len(SPEAKERS)  # this speaker's nth session
        planned: list[str] = []
        if nth == 0:  # the first session: they introduce themselves
            planned += [f"My {rel} is called {n}" for rel, n in life.people.items()]
            planned += [PREFERENCES[i][1].format(v=v) for i, v in enumerate(life.prefs.values())]
            planned += [
                life.routine[0],
                f"I live in {life.cities[0]}",
                f"I work as {life.jobs[0]}",
                f"My dog is called {life.dogs[0]}",
            ]
        elif rng.random() < 0.5:  # and now and then say one of it again (merged, not duplicated)
            rel = rng.choice([r for r in life.people if r not in CHANGING_PEOPLE])
            planned.append(f"My {rel} is called {life.people[rel]}")
        # facts that change over the weeks: two moves, a new job, a new doctor and boss, two new dogs
        changes = [
            (per_speaker // 4, f"My doctor is called {life.new_people['doctor']}"),
            (per_speaker // 3, f"I live in {life.cities[1]} now"),
            (per_speaker // 3, f"My dog is called {life.dogs[1]}"),
            (per_speaker // 2, f"I work as {life.jobs[1]}"),
            (5 * per_speaker // 8, f"My boss is called {life.new_people['boss']}"),
            (2 * per_speaker // 3 + 1, f"I live in {life.cities[2]} now"),
            (3 * per_speaker // 4 + 1, f"My dog is called {life.dogs[2]}"),
        ]
        planned += [text for when, text in changes if when == nth]
        turns: list[tuple[str, object]] = [("fact", t) for t in planned]
        turns += [("note", n) for i, n in enumerate(life.notes) if i % per_speaker == nth]
        turns += [_small_talk(rng) for _ in range(n_small)]
        rng.shuffle(turns)
        for i, (what, payload) in enumerate(turns):
            at = day.timestamp() + i * 240  # a turn every four minutes from 8 am
            if what == "outing":
                act, friend = payload  # type: ignore[misc]
                item = w.episode(f"You {act.format(f=friend)}", who, at)
                outings.setdefault((who, day.date().isoformat(), act), set()).add(item.id)
            elif what == "note":
                assert isinstance(payload, _Note)
                notes.append((who, payload, w.say(payload.text, who, at)))
            else:
                item = w.say(str(payload), who, at)
                if what == "fact":
                    facts[(who, str(payload).removesuffix(" now"))] = item
    ingest_s = time.monotonic() - t0

    # -- the questions ---------------------------------------------------------------------------
    lost = 0

    def ask(category: str, query: str, who: str, item: MemoryItem | None, holds: str) -> None:
        nonlocal lost
        if item is None or holds.lower() not in item.text.lower():
            lost += 1  # the write policy merged this fact into a look-alike: reported
            return
        if category == "paraphrase":
            shared = set(terms(query)) & set(terms(item.text))
            assert not shared, f"a paraphrase question shares {shared} with its fact: {query!r}"
        questions.append(Question(query, who, {item.id}, category))

    for who, life in lives.items():
        for rel, para, plain in RELATIONS:
            if rel in CHANGING_PEOPLE:  # asked below, for the current value
                name = life.new_people[rel]
                ask("rare", f"Who is {name}?", who, facts.get((who, f"My {rel} is called {name}")), name)
                continue
            item = facts.get((who, f"My {rel} is called {life.people[rel]}"))
            ask("paraphrase", para, who, item, life.people[rel])
            ask("plain", plain, who, item, life.people[rel])
            ask("rare", f"Who is {life.people[rel]}?", who, item, life.people[rel])
        ask("paraphrase", life.routine[1], who, facts.get((who, life.routine[0])), life.routine[0].split()[1])
        for topic, said, _, para, plain in PREFERENCES:
            item = facts.get((who, said.format(v=life.prefs[topic])))
            ask("paraphrase", para, who, item, life.prefs[topic])
            ask("plain", plain, who, item, life.prefs[topic])
        relations = {rel: (para, plain) for rel, para, plain in RELATIONS}
        for key, now, plain, para in (
            ("user.lives_in", life.cities[2], "Where do I live?", "Which town is home these days?"),
            ("user.job", life.jobs[1], "What is my job?", "What do I do for a living?"),
            ("dog.name", life.dogs[2], "What is my dog called?", "What's my puppy's name?"),
            ("doctor.name", life.new_people["doctor"], relations["doctor"][1], relations["doctor"][0]),
            ("boss.name", life.new_people["boss"], relations["boss"][1], relations["boss"][0]),
        ):
            versions = [i for i in mem.list(who, include_history=True) if i.key == key]
            current = [i for i in versions if i.current]
            if len(versions) < 2 or not current or now not in current[0].text:
                lost += 1  # the change was merged into the old value instead of superseding it
                continue
            stale = {i.id for i in versions if not i.current}
            assert not set(terms(para)) & set(terms(current[0].text)), para
            questions.append(Question(plain, who, {current[0].id}, "changed", stale))
            questions.append(Question(para, who, {current[0].id}, "changed", stale))
    for note_who, note, item in notes:
        for category, query in note.questions:
            ask(category, query, note_who, item, note.holds)
    for text, para in HOUSEHOLD_FACTS:
        ask("paraphrase", para, rng.choice(SPEAKERS), household[text], text)
    # time: the same outing recurs on many days; the question names the day
    asked: Counter[str] = Counter()
    keys = list(outings)
    rng.shuffle(keys)
    for who, day_key, act in keys:
        if asked[who] < 25:
            asked[who] += 1
            day = datetime.fromisoformat(day_key).replace(hour=12, tzinfo=today.tzinfo)
            q = next(q for a, q in ACTIVITIES if a == act)
            questions.append(
                Question(f"{q} {_when(day, today, rng)}?", who, outings[(who, day_key, act)], "time")
            )
    return History(questions, w.turns, len(days), ingest_s, lost)


def evaluate(mem: Memory, questions: list[Question], mode: str, vectors: np.ndarray) -> dict[str, object]:
    """Recall@1/5/10 over all questions and by kind; the current-value rate of changed facts;
    hits from another speaker. The baselines are plain dense or keyword retrieval over the same
    items: no time-aware filtering, no fusion."""
    hits_at = {1: Counter(), 5: Counter(), 10: Counter()}  # type: dict[int, Counter[str]]
    count: Counter[str] = Counter()
    current = changed = leaks = 0
    for q, vec in zip(questions, vectors, strict=True):
        hits = mem.search(q.query, q.speaker, k=10, mode=mode, time_aware=mode == "hybrid", query_vector=vec)
        ids = [h.item.id for h in hits]
        count[q.category] += 1
        for k, counter in hits_at.items():
            counter[q.category] += bool(q.evidence & set(ids[:k]))
        leaks += sum(h.item.speaker not in (q.speaker, "household") for h in hits)
        if q.stale:
            changed += 1
            versions = [i for i in ids if i in q.evidence or i in q.stale]
            current += bool(versions) and versions[0] in q.evidence
    n = max(1, len(questions))
    return {
        "recall@1": round(sum(hits_at[1].values()) / n, 3),
        "recall@5": round(sum(hits_at[5].values()) / n, 3),
        "recall@10": round(sum(hits_at[10].values()) / n, 3),
        "current_value_rate": round(current / max(1, changed), 3),
        "cross_speaker_leaks": leaks,
        "questions": len(questions),
        "changed_fact_questions": changed,
        "recall@10_by_kind": {c: round(hits_at[10][c] / count[c], 3) for c in CATEGORIES if count[c]},
        "recall@1_by_kind": {c: round(hits_at[1][c] / count[c], 3) for c in CATEGORIES if count[c]},
    }


def latency_at(mem: Memory, size: int, queries: list[str], rng: random.Random) -> dict[str, float]:
    """Recall latency with `size` items in the asking speaker's partition. Vectors for the extra
    items are real embeddings of generated notes (a pool of 5,000, perturbed), since embedding
    100k texts would take this benchmark minutes; the index work is the same."""
    pool_texts = [
        f"You {rng.choice(ACTIVITIES)[0].format(f=rng.choice(FRIENDS))} near {rng.choice(CITIES)} {i}"
        for i in range(5000)
    ]
    pool = mem.embedder.embed(pool_texts)
    part = Partition(mem.embedder.dim)
    for i in range(size):
        vec = pool[i % len(pool)] + rng.gauss(0, 0.02)
        item = MemoryItem(text=pool_texts[i % len(pool_texts)], speaker="scale", kind=Kind.EPISODE)
        part.add(item, (vec / np.linalg.norm(vec)).astype(np.float32))
        mem.items[item.id] = item
    mem.parts["scale"] = part
    times = []
    for _ in range(3):
        for q in queries:
            t = time.perf_counter()
            mem.search(q, "scale", k=10)
            times.append((time.perf_counter() - t) * 1000)
    for item_id in part.ids:
        mem.items.pop(item_id, None)
    del mem.parts["scale"]
    arr = np.array(times)
    return {"p50_ms": round(float(np.median(arr)), 2), "p95_ms": round(float(np.percentile(arr, 95)), 2)}


_WRITER = """
import sys
from memory import Memory
m = Memory(sys.argv[1])
for i in range(100_000):
    print(m.remember(f"note number {i} about topic {i % 17}", "anna").id, flush=True)
"""


def crash_test(work: Path, at_least: int = 40) -> dict[str, int]:
    """A writer process is killed with SIGKILL mid-stream; every id it reported as written
    (remember() returned) must be in the reopened store."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(work / "crash")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env=env,
    )
    committed: list[str] = []
    deadline = time.monotonic() + 120
    while len(committed) < at_least and time.monotonic() < deadline:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            break
        committed.append(line.strip())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    mem = Memory(work / "crash")
    try:
        lost = sum(i not in mem.items for i in committed)
    finally:
        mem.close()
    return {"committed": len(committed), "lost": lost}


def run_memory_bench(
    cfg: TwinConfig, sizes: list[int], json_path: Path | None, scale: float = 1.0, seed: int = 7
) -> int:
    """`scale` shrinks the small talk per session (0.1 for a quick look); the default is the full run."""
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="twin-bench-memory-"))
    try:
        mem = Memory(work / "memory")
        h = build_history(mem, seed=seed, scale=scale)
        stored = len(mem.items)
        by_speaker = Counter(it.speaker for it in mem.items.values())
        kinds = Counter(q.category for q in h.questions)
        print(
            f"history: {h.sessions} sessions over {SPAN_DAYS} days, {h.turns} user turns, {len(SPEAKERS)} "
            f"speakers -> {stored} items kept ({', '.join(f'{s} {by_speaker[s]}' for s in SPEAKERS)}; "
            f"{h.ingest_s:.1f} s through the write policy and store)"
        )
        print(
            f"questions: {len(h.questions)} ("
            + ", ".join(f"{kinds[c]} {c}" for c in CATEGORIES)
            + f"); planted facts merged away by the write policy: {h.lost_facts}"
        )
        vectors = np.stack([mem.embedder.embed([q.query])[0] for q in h.questions])
        quality = {mode: evaluate(mem, h.questions, mode, vectors) for mode in METHODS}
        print(
            f"\n{'method':8} {'recall@1':>9} {'recall@5':>9} {'recall@10':>10} {'current':>8} {'leaks':>6}"
            f"   ({len(h.questions)} questions)"
        )
        for mode, r in quality.items():
            print(
                f"{mode:8} {r['recall@1']:9.3f} {r['recall@5']:9.3f} {r['recall@10']:10.3f} "
                f"{r['current_value_rate']:8.3f} {r['cross_speaker_leaks']:6d}"
            )
        print(f"\nrecall@10 by kind of question\n{'method':8} " + " ".join(f"{c:>10}" for c in CATEGORIES))
        for mode, r in quality.items():
            by_kind = r["recall@10_by_kind"]
            assert isinstance(by_kind, dict)
            print(f"{mode:8} " + " ".join(f"{by_kind.get(c, 0.0):10.3f}" for c in CATEGORIES))

        # ingest rate: bulk, embedded and written to the store
        rng = random.Random(3)
        bulk = [
            MemoryItem(
                text=f"Note {i}: you {rng.choice(ACTIVITIES)[0].format(f=rng.choice(FRIENDS))}",
                speaker=rng.choice(SPEAKERS),
            )
            for i in range(2000)
        ]
        t0 = time.monotonic()
        mem.add_many(bulk)
        ingest_rate = len(bulk) / (time.monotonic() - t0)
        size_mb = sum(p.stat().st_size for p in (work / "memory").rglob("*") if p.is_file()) / 2**20
        per_item_kb = size_mb * 1024 / len(mem.items)
        print(
            f"\ningest: {ingest_rate:.0f} items/s (embed + durable write); on disk {size_mb:.1f} MB for "
            f"{len(mem.items)} items ({per_item_kb:.1f} KB/item)"
        )

        queries = [q.query for q in h.questions[:: max(1, len(h.questions) // 40)]][:40]
        latency = {}
        print(
            f"\n{'items':>8} {'p50 ms':>8} {'p95 ms':>8}"
            "   (speaker-scoped hybrid recall, query embedding included)"
        )
        for size in sizes:
            latency[str(size)] = latency_at(mem, size, queries, rng)
            print(f"{size:8d} {latency[str(size)]['p50_ms']:8.2f} {latency[str(size)]['p95_ms']:8.2f}")
        mem.close()
        crash = crash_test(work)
        print(f"\ncrash test: {crash['committed']} items committed before kill -9, {crash['lost']} lost")
        elapsed = time.monotonic() - started
        load = [round(x, 1) for x in os.getloadavg()]
        print(
            f"({elapsed:.0f} s in all; load average {load[0]} / {load[1]} / {load[2]}, "
            f"{os.cpu_count()} cores)"
        )
        report = {
            "sessions": h.sessions,
            "speakers": len(SPEAKERS),
            "turns": h.turns,
            "items": stored,
            "items_by_speaker": dict(by_speaker),
            "questions": len(h.questions),
            "questions_by_kind": {c: kinds[c] for c in CATEGORIES},
            "planted_facts_merged_away": h.lost_facts,
            "quality": quality,
            "ingest_items_per_s": round(ingest_rate, 1),
            "disk_mb": round(size_mb, 2),
            "disk_kb_per_item": round(per_item_kb, 2),
            "latency_ms": latency,
            "crash_test": crash,
            "embedder": mem.embedder.name,
            "scale": scale,
            "seed": seed,
            "seconds": round(elapsed, 1),
            "load_average": load,
        }
        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(report, indent=1))
            print(f"wrote {json_path}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
