"""The history generator for `twin bench memory`, built to be hard for every method rather than easy
for one: several speakers, 64 sessions over three months, thousands of user turns per speaker, played
through the real write policy. Most turns are chit-chat (not written) or small talk about the same few
topics (errands, likes, outings with the same friends), so each speaker ends up with ~1,500 items full
of near-duplicates: several pets and several people with the same relation, many trades people,
flights, parcels and boxes, colleagues with look-alike names, the same outing with different friends
on different days, and planted facts that change over time.

Questions come in five kinds, each with the ids of its evidence:
  paraphrase  share no content word with the fact ("Who is my GP?" for "Your doctor is called
              Aiko"): keyword matching cannot find them, meaning has to
  rare        hinge on a rare name or a number ("What's in parcel 4471?"): embeddings blur those
  time        name a day ("Who did I play tennis with on 14 March?"): the same outing recurs
  changed     the current value of a fact that changed (where I live, my job, my dog's name)
  plain       ordinary wording that shares words with the fact and with its look-alikes
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bench.memory_data import (
    ACTIVITIES,
    ADJ,
    BOXES,
    CHANGING_PEOPLE,
    CHATTER,
    CITIES,
    COLLEAGUE_ROLES,
    ERRANDS,
    FAR_CITIES,
    FEELINGS,
    FRIENDS,
    HOUSEHOLD_FACTS,
    JOBS,
    LIKE_VERBS,
    LOOKALIKES,
    NOUNS,
    PARCELS,
    PET_NAMES,
    PLACES,
    PREFERENCES,
    RARE_NAMES,
    REL_DISTRACTORS,
    RELATIONS,
    ROUTINE_FACTS,
    ROUTINES,
    SESSIONS,
    SPAN_DAYS,
    SPEAKERS,
    THINGS,
    TRADES,
    TURNS_PER_SESSION,
    WEEKDAYS,
    WHERE,
)
from memory import Kind, Memory
from memory.index import terms
from memory.items import MemoryItem
from memory.policy import extract, parse_command


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
