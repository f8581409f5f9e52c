"""`twin bench identity --data RAVDESS_DIR`: who is speaking, on real voices Twin has never met.

RAVDESS (24 actors, one studio, the same two sentences in eight emotions; CC BY-NC-SA 4.0, the
user's own download, read in place). Each split holds 12 actors: the first 6 are enrolled, the
other 6 are strangers who must never be named. Enrolment takes each enrolled actor's four neutral
clips and the first take of their four calm ones (about 10-12 s of speech, as `twin enroll` asks;
a clip the enrolment's own checks refuse is left out and counted). Every other clip is then
identified: the enrolled actors' (the same calm voice, and the voice changed by emotion) and every
clip of the strangers. The naming rules are scored on the same embeddings: "clean" (raw cosine
against thresholds from the clean enrolment clips), "normalised" (the cohort rule) and "strict"
(both must accept: Twin's default since this bench found strangers named by the cohort rule).
DEV = actors 1-12 (choices), TEST = actors 13-24 (only reported). Every speaker says the same
words, which makes strangers closer than in a household, where people say different things.
Figures, never asserts.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.emotion import find_clips
from pipeline.config import TwinConfig

CALM = frozenset({"neutral", "calm"})
RULES = ("clean", "normalised", "strict")


def _enrolment(clips: list) -> list:
    """An actor's four neutral clips and the first take of each calm statement and intensity."""
    picked = []
    for c in clips:
        take = Path(c.path).stem.split("-")[5]
        if c.emotion == "neutral" or (c.emotion == "calm" and take == "01"):
            picked.append(c)
    return sorted(picked, key=lambda c: c.path)


def run_identity_real(cfg: TwinConfig, data: Path, json_path: Path | None) -> int:
    from models.errors import TwinError
    from pipeline.runtime.components import Components
    from voice.audio import load_audio
    from voice.speakers import SpeakerRegistry

    clips = [c for c in find_clips(data) if c.corpus == "ravdess"]
    comps = Components(cfg)
    embedder = comps.speakers.embedder
    results = []
    t0 = time.monotonic()
    for split in ("DEV", "TEST"):
        part = [c for c in clips if c.split == split]
        actors = sorted({c.speaker for c in part})
        if len(actors) < 2:
            continue
        enrolled = actors[: len(actors) // 2]  # the rest are strangers
        reg = SpeakerRegistry(
            Path(tempfile.mkdtemp()), embedder, comps.speakers.synthetic, cohort=comps.speakers.cohort
        )
        used: set[str] = set()
        refused = 0
        for actor in enrolled:
            chosen = _enrolment([c for c in part if c.speaker == actor])
            used |= {c.path for c in chosen}
            checked = []
            for c in chosen:
                try:
                    checked.append(reg.enrolment.check_clip(load_audio(c.path)))
                except TwinError:
                    refused += 1  # e.g. judged to hold two voices
            reg.enroll_embeddings(actor, checked)  # as checked: not embedded a second time
        count: Counter = Counter()
        for c in part:
            if c.path in used:
                continue
            emb = embedder.embed(load_audio(c.path))
            group = "enrolled, calm" if c.emotion in CALM else "enrolled, emotional"
            for rule in RULES:
                got = reg.identify_embedding(emb, rule=rule).name
                if c.speaker in enrolled:
                    outcome = "right" if got == c.speaker else ("abstained" if got == "unknown" else "wrong")
                    count[(rule, group, outcome)] += 1
                else:
                    count[(rule, "strangers", "abstained" if got == "unknown" else "named")] += 1
        for rule in RULES:
            for group in ("enrolled, calm", "enrolled, emotional", "strangers"):
                outcomes = {k[2]: v for k, v in count.items() if k[0] == rule and k[1] == group}
                results.append(
                    {
                        "split": split,
                        "rule": rule,
                        "group": group,
                        "clips": sum(outcomes.values()),
                        **outcomes,
                    }
                )
        results.append({"split": split, "enrolment_clips_refused": refused, "enrolled": len(enrolled)})
    print("Who is speaking, real voices (RAVDESS; 6 enrolled and 6 strangers per split)\n")
    print("| split | rule | clips of | clips | named right | abstained | named wrong / stranger named |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        if "rule" not in r:
            continue
        bad = r.get("wrong", 0) + r.get("named", 0)
        print(
            f"| {r['split']} | {r['rule']} | {r['group']} | {r['clips']} | {r.get('right', '-')} | "
            f"{r.get('abstained', 0)} | {bad} |"
        )
    refusals = {r["split"]: r["enrolment_clips_refused"] for r in results if "enrolment_clips_refused" in r}
    print(f"\nenrolment clips refused by the enrolment's checks: {refusals}; {time.monotonic() - t0:.0f} s")
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({"data": str(data), "results": results}, indent=2))
    comps.close()
    return 0
