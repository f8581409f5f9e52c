"""Where "same voice" ends: acceptance thresholds learnt from the spread of each person's enrolment
utterances and from how close the other voices (and Twin's own) come, so identification abstains
rather than guesses."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from .vectors import unit

# Utterance-vs-utterance cosines (Resemblyzer) for when there is no enrolment data to calibrate from;
# on the fixture speakers one person's utterances come >= 0.76 close, two people <= 0.65.
SAME_VOICE_DEFAULT = 0.72
IMPOSTOR_PAIR_DEFAULT = 0.65


def leave_one_out(g: np.ndarray) -> np.ndarray:
    """Each unit vector's cosine to the centroid of the others: how well every utterance agrees with
    the rest of its enrolment."""
    return np.array([unit(np.delete(g, k, 0).mean(0)) @ g[k] for k in range(len(g))])


def calibrate_threshold(genuine: Sequence[np.ndarray], impostors: Iterable[np.ndarray]) -> float:
    """Accept a voice when it is as close to the profile as the enrolment utterances were to each
    other (leave-one-out, with a margin for their spread), and keep clear of every known impostor."""
    g = np.stack([unit(e) for e in genuine])
    # One utterance gives no spread; enrol() asks for at least two.
    loo = np.array([0.85]) if len(g) == 1 else leave_one_out(g)
    spread = max(float(loo.std()), 0.02)
    threshold = min(float(loo.mean()) - 3 * spread, float(loo.min()) - 0.04)
    centre = unit(g.mean(0))
    imp = [float(unit(e) @ centre) for e in impostors]
    if imp:
        threshold = max(threshold, min(max(imp) + 0.05, float(loo.mean()) - 0.02))
    return float(np.clip(threshold, 0.55, 0.95))


def same_voice_threshold(people: Iterable[Sequence[Sequence[float]]]) -> float:
    """The cosine above which two single utterances are taken for one voice, from each person's
    enrolment utterances: halfway between the low end of how close one person's utterances are to
    one another and the closest two different people come (IMPOSTOR_PAIR_DEFAULT with one person).
    SAME_VOICE_DEFAULT when no one has two utterances to learn from."""
    groups = [np.stack([unit(np.asarray(e, np.float32)) for e in embeddings]) for embeddings in people]
    genuine: list[float] = []
    impostor: list[float] = []
    for k, g in enumerate(groups):
        genuine.extend((g @ g.T)[np.triu_indices(len(g), 1)].tolist())
        for h in groups[k + 1 :]:
            impostor.extend((g @ h.T).ravel().tolist())
    if not genuine:
        return SAME_VOICE_DEFAULT
    low = min(float(np.mean(genuine)) - 2.5 * max(float(np.std(genuine)), 0.02), min(genuine) - 0.03)
    high = max(impostor) if impostor else IMPOSTOR_PAIR_DEFAULT
    threshold = (low + high) / 2 if high < low else low
    return float(np.clip(threshold, 0.6, 0.9))
