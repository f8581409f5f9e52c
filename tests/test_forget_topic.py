"""Issue 10: "forget everything about my old job" must reach the memories about the old job, by
meaning, never every memory that shares one word with it. The threshold (memory/relevance.py
FORGET_MIN_COSINE) is calibrated on CALIBRATION below and checked on HELD_OUT, other topics and
other sentences: the pairs it was tuned on are not the pairs asserted."""

from __future__ import annotations

import numpy as np
import pytest

from memory import Memory
from memory.embedding import UseEmbedder
from memory.index import terms
from memory.language import is_cjk
from memory.relevance import FORGET_MIN_COSINE, FORGET_MIN_COSINE_CROSS_SCRIPT

# (topic as the command parser gives it, memories about it, look-alikes that are not)
CALIBRATION = [
    (
        "old job",
        [
            "Your old job was at the bakery",
            "You left your old job at the bakery in March",
            "Your previous job was at the call centre",
        ],
        [
            "You started a new job at the hospital",
            "Your brother works at the bank",
            "You have an old car",
            "Your daughter's name is Lily",
            "You live in an old house by the river",
        ],
    ),
    (
        "dentist appointment",
        ["Your dentist appointment is on Friday at nine", "You moved the dentist appointment to Monday"],
        [
            "Your doctor is Dr Patel",
            "You have a haircut appointment on Tuesday",
            "You brush your teeth twice a day",
        ],
    ),
    (
        "my sister",
        ["Your sister is called Maria", "Your sister lives in Madrid"],
        ["Your brother is called Tom", "Your daughter is called Lily", "Your neighbour Maria has a dog"],
    ),
    (
        "the garden",
        ["You planted tomatoes in the garden", "Your garden has an apple tree"],
        [
            "You like the Garden of Eden painting",
            "You bought a new kitchen table",
            "Your park run is on Saturday",
        ],
    ),
    (
        "my car",
        ["Your car is a blue Toyota", "You park your car on level three"],
        ["Your bike has a flat tyre", "You take the bus to work", "Your card number is set"],
    ),
    ("牙医", ["你的牙医预约在周五", "你的牙医姓王"], ["你的医生是李大夫", "你女儿叫莉莉", "你喜欢喝茶"]),
]
HELD_OUT = [
    (
        "my doctor",
        ["Your doctor is called Dr Patel", "Your doctor's surgery is on Mill Road"],
        ["Your dentist is Dr Green", "Your dog is called Rex", "You like doctor who"],
    ),
    (
        "my dog",
        ["Your dog is called Rex", "Your dog needs a walk every morning"],
        ["Your cat is called Tom", "You like hot dogs", "Your daughter walks to school"],
    ),
    (
        "the bakery",
        ["You worked night shifts at the bakery", "The bakery on King Street sells your favourite bread"],
        ["You like tea", "You bought milk at the supermarket", "Your brother works at the bank"],
    ),
    ("面包店", ["你以前在面包店工作", "面包店的老板叫张三"], ["你喜欢喝茶", "你哥哥在银行工作"]),
    (
        "my birthday",
        ["Your birthday is on the 3rd of May", "You want a quiet dinner for your birthday"],
        [
            "Your daughter's birthday is in June",
            "You bought a birthday card for Tom",
            "Your anniversary is in May",
        ],
    ),
    (
        "my neighbour",
        ["Your neighbour is called Mrs Hill", "Your neighbour waters your plants when you travel"],
        ["Your neighbourhood has a new library", "Your friend Mrs Shaw lives in Leeds", "You like the hills"],
    ),
]


@pytest.fixture(scope="module")
def embedder():
    return UseEmbedder()


def _scored(embedder, labelled, old_rule: bool = False) -> list[tuple[float, bool, bool]]:
    """(cosine, about the topic?, across scripts?) for every labelled pair. `old_rule`: the score
    the finding's rule gave (any shared word counted as a full match)."""
    out = []
    for topic, about, not_about in labelled:
        q = embedder.embed([topic])[0]
        texts = about + not_about
        vecs = embedder.embed(texts)
        for text, vec, label in zip(texts, vecs, [True] * len(about) + [False] * len(not_about), strict=True):
            score = float(vec @ q)
            if old_rule and set(terms(topic)) & set(terms(text)):
                score = 1.0
            out.append((score, label, is_cjk(text) != is_cjk(topic)))
    return out


def _measure(scored, floor: float) -> tuple[float, float, float]:
    """Precision, recall and F0.5 (precision weighs more: a wrong deletion cannot be undone)."""
    cross = floor - (FORGET_MIN_COSINE - FORGET_MIN_COSINE_CROSS_SCRIPT)
    picked = [(c >= (cross if x else floor), label) for c, label, x in scored]
    tp = sum(p and t for p, t in picked)
    fp = sum(p and not t for p, t in picked)
    fn = sum(t and not p for p, t in picked)
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    f = 1.25 * precision * recall / max(0.25 * precision + recall, 1e-9)
    return precision, recall, f


def test_the_forget_floor_is_the_calibrated_one_and_holds_on_held_out_topics(embedder):
    scored = _scored(embedder, CALIBRATION)
    grid = np.round(np.arange(0.30, 0.61, 0.01), 2)
    best = max(_measure(scored, float(t))[2] for t in grid)
    p, r, f = _measure(scored, FORGET_MIN_COSINE)
    print(f"\ncalibration at {FORGET_MIN_COSINE}: P {p:.2f} R {r:.2f} F0.5 {f:.2f}, best {best:.2f}")
    assert f >= best - 1e-9  # the constant is the calibration's best (precision-weighted) threshold
    p, r, f = _measure(_scored(embedder, HELD_OUT), FORGET_MIN_COSINE)
    old_p, old_r, _ = _measure(_scored(embedder, HELD_OUT, old_rule=True), 0.5)
    print(f"held out at {FORGET_MIN_COSINE}: precision {p:.2f} recall {r:.2f}")
    print(
        f"held out, the old rule (a shared word, or cosine >= 0.5): precision {old_p:.2f} recall {old_r:.2f}"
    )
    # a guard, not a target: measured 0.73 / 0.67 when calibrated. Cosine alone cannot tell "your
    # daughter's birthday" from "your birthday"; the preview and the spoken yes are the rest.
    assert p >= 0.7 and r >= 0.6


def test_forgetting_my_old_job_leaves_the_unrelated_memories(tmp_path):
    """The finding: five of six unrelated memories went because each shared one word with it."""
    mem = Memory.open(tmp_path / "memory")
    try:
        old = [mem.remember("Your old job was at the bakery", "anna")]
        kept = [
            mem.remember(text, "anna").id
            for text in [
                "Your daughter's name is Lily",
                "You live in a house with a red door",
                "You started a new job at the hospital",
                "Your brother works at the bank",
                "You like your job's coffee machine",
            ]
        ]
        plan = mem.plan_command("forget everything about my old job", "anna")
        assert plan is not None and plan.ids == [old[0].id]
        receipt = mem.carry_out(plan, "anna")
        assert receipt.deleted == 1 and sorted(mem.items) == sorted(kept)
    finally:
        mem.close()
