"""`python -m bench.name_wake [--json FILE] [--sweep]`: the spoken-name wake ("Twin, ...", `twin
live --wake name`) on voices that are not Twin's own, with and without the name heard again
(pipeline/runtime/name_hearing.py).

Each clip is transcribed by the default ASR (Whisper tiny.en, no vocabulary), as the live front end
does (a synthetic clip framed by the endpointer's pre-roll and end-of-turn silence); the words alone
decide whether it begins with the name (`WakeGate.addressed`); when they do not, the readings that
would are read against the clip and the best is taken within MARGIN.

Sets (each reported apart; MARGIN was chosen on DEV alone, with `--sweep` over its clips):
- DEV: requests said after the name, and sentences not for Twin, some beginning with words spelled
  like it ("When is dinner ready?", "Quinn, ..."), by the wake bench's five DEV espeak-ng voices at
  three speeds;
- TEST: other requests and sentences, written for this bench before any was run, in the wake
  bench's five TEST voices at two speeds;
- TEST2: requests and sentences written after TEST had been run (its "Twinkle, twinkle" woke the
  name-led prompt, and the rule against a name said over and over was written for it), in the TEST
  voices at two other speeds: the held-out check of the prompt and that rule;
- real: recordings of people (speech_to_phrase_en and speechbrain's ASR samples), none of them
  addressed to Twin: every wake there is a false accept.

Per set: requests woken by the words alone and with the second hearing, false accepts of each, and
what a second hearing cost (encoder and alignment; median / p95 ms). With `--prompt` every set is
heard a second time with the name leading Whisper's previous-text prompt ("Twin.", as `twin live
--wake name` has it: `[wake] name_in_prompt`), and both are reported side by side.
"""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
import time
from pathlib import Path

import numpy as np

NAME = "Twin"
DEV_REQUESTS = (
    "what is the date today?",
    "set a timer for five minutes",
    "what time is it?",
    "turn the volume down",
    "add milk to the shopping list",
    "remind me to call mum at six",
)
DEV_OTHERS = (
    "When is dinner ready?",
    "Will you pass the salt?",
    "With milk and two sugars, please.",
    "Win or lose, we go home at six.",
    "What is the date today?",
    "Set a timer for five minutes.",
    "Quinn, what time is it?",
    "Tim, turn the volume down.",
    "Twins run in our family.",
    "Between you and me, it is late.",
)
TEST_REQUESTS = (
    "pause the music",
    "how long is left on my timer?",
    "is it going to rain tomorrow?",
    "call my daughter",
    "what's on my calendar?",
    "cancel all timers",
)
TEST_OTHERS = (
    "When does the bus come?",
    "Will it rain tomorrow?",
    "Wind the clock, please.",
    "Quentin, call your sister.",
    "Twinkle, twinkle, little star.",
    "How long is left on the timer?",
    "Tell me a joke.",
    "Wait, what did you say?",
    "Ten minutes, then we leave.",
    "Where is my phone?",
)
# TEST2: written on 2026-12-02 after TEST had shown the name-led prompt waking on "Twinkle, twinkle"
# (and the rule against a repeated name written for it), before this set was ever run
TEST2_REQUESTS = (
    "turn it up a little",
    "what's the weather like?",
    "start a timer for ten minutes",
    "add bread to the shopping list",
    "what day is it?",
    "stop the alarm",
)
TEST2_OTHERS = (
    "Twenty minutes until the train.",
    "Twilight is my favourite time.",
    "Tweet it to your friends.",
    "Twine the rope around the post.",
    "Winter is coming soon.",
    "Which one do you want?",
    "Queen of hearts, your turn.",
    "Tin cans go in the recycling.",
    "Row, row, row your boat.",
    "Turn off the lights when you leave.",
)
SPEEDS_DEV = (130, 160, 190)
SPEEDS_TEST = (130, 190)
SPEEDS_TEST2 = (145, 175)
REAL = ("speech_to_phrase_en/wav/*.wav", "speechbrain_samples/ASR/*.wav")
LEAD, TAIL = 4800, 4000  # samples at 16 kHz
SWEEP = (0.0, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)


def framed(samples: np.ndarray) -> np.ndarray:
    """An espeak-ng clip as the live front end hands it to the ASR: the endpointer's 300 ms of
    pre-roll before the onset and the end-of-turn silence after it (espeak-ng's own has neither)."""
    return np.concatenate([np.zeros(LEAD, np.float32), samples, np.zeros(TAIL, np.float32)])


def clips(data: Path) -> dict[str, list[tuple[str, bool, np.ndarray]]]:
    """Each set's clips: (what was said, addressed to Twin, 16 kHz samples)."""
    from bench.wake import VOICES_DEV, VOICES_TEST, espeak
    from voice.audio import load_audio

    out: dict[str, list[tuple[str, bool, np.ndarray]]] = {}
    for split, requests, others, voices, speeds in (
        ("dev", DEV_REQUESTS, DEV_OTHERS, VOICES_DEV, SPEEDS_DEV),
        ("test", TEST_REQUESTS, TEST_OTHERS, VOICES_TEST, SPEEDS_TEST),
        ("test2", TEST2_REQUESTS, TEST2_OTHERS, VOICES_TEST, SPEEDS_TEST2),
    ):
        said = [(f"{NAME}, {r}", True) for r in requests] + [(o, False) for o in others]
        out[split] = [
            (t, to_twin, framed(espeak(t, v, s))) for t, to_twin in said for v in voices for s in speeds
        ]
    real = sorted(p for pattern in REAL for p in data.glob(pattern))
    out["real"] = [(p.stem, False, load_audio(p).samples) for p in real]
    return out


def measure(transcribe, hearing, gate, items) -> tuple[dict, list[dict]]:
    """`transcribe(samples, language)`: the ASR's, with or without the name leading its prompt."""
    rows = []
    for said, to_twin, samples in items:
        heard = transcribe(samples, "en").text
        by_words = gate.addressed(heard) is not None
        t0 = time.perf_counter()
        again = None if by_words else hearing.heard(samples, heard)
        spent = (time.perf_counter() - t0) * 1000
        base, ranked = (0.0, []) if by_words else hearing.scores(samples, heard)
        rows.append(
            {
                "said": said,
                "to_twin": to_twin,
                "heard": heard,
                "by_words": by_words,
                "reheard": again.text if again is not None else None,
                "best_below": round(ranked[0][0] - base, 3) if ranked else None,
                "ms": round(spent, 1) if ranked else None,
            }
        )
    return summarize(rows, hearing.margin), rows


def summarize(rows: list[dict], margin: float) -> dict:
    def woken(r: dict) -> bool:
        return r["by_words"] or (r["best_below"] is not None and r["best_below"] >= -margin)

    ms = [r["ms"] for r in rows if r["ms"] is not None]
    asked = [r for r in rows if r["to_twin"]]
    others = [r for r in rows if not r["to_twin"]]
    return {
        "margin": margin,
        "requests": len(asked),
        "woken_by_words": sum(r["by_words"] for r in asked),
        "woken": sum(woken(r) for r in asked),
        "others": len(others),
        "false_by_words": sum(r["by_words"] for r in others),
        "false": sum(woken(r) for r in others),
        "ms_median": round(float(np.median(ms)), 1) if ms else None,
        "ms_p95": round(float(np.percentile(ms, 95)), 1) if ms else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.name_wake", description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, help="write every clip's hearing and the summary here")
    ap.add_argument("--sweep", action="store_true", help="also print DEV's sweep of MARGIN")
    ap.add_argument("--prompt", action="store_true", help="also hear each clip with the name as the prompt")
    ap.add_argument("--sets", default="dev,test,test2,real", help="which sets to run (default: all)")
    args = ap.parse_args(argv)
    from bench.duplex import FIXTURES
    from pipeline.config import ensure_data_dir, load_config
    from pipeline.runtime import name_hearing as nh
    from pipeline.runtime.components import Components
    from pipeline.runtime.hands_free import WakeGate

    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(data_dir=Path(tmp))
        ensure_data_dir(cfg.data_path)
        c = Components(cfg)
        asr = c.asr
        asr.vocabulary = None  # a fresh install's: no names of a household
        hearing = nh.NameHearing(asr.phrase_log_probs, NAME)
        gate = WakeGate(None, name=NAME)
        wanted = args.sets.split(",")
        sets = {k: v for k, v in clips(FIXTURES).items() if k in wanted}
        results = {name: measure(asr.transcribe, hearing, gate, items) for name, items in sets.items()}
        if args.prompt:
            # as `twin live --wake name` has it (`[wake] name_in_prompt`)
            led = functools.partial(asr.transcribe, lead=NAME)
            results |= {f"{name}+prompt": measure(led, hearing, gate, items) for name, items in sets.items()}
        c.pools.shutdown()
    print(f"the spoken-name wake heard again (MARGIN {nh.MARGIN} nats, chosen on DEV)")
    print(
        "| set | requests | woken by the words | with the second hearing | others | false accepts by the"
        " words | with the second hearing | ms median / p95 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, (s, _) in results.items():
        print(
            f"| {name} | {s['requests']} | {s['woken_by_words']} | {s['woken']} | {s['others']} |"
            f" {s['false_by_words']} | {s['false']} | {s['ms_median']} / {s['ms_p95']} |"
        )
    for name, (_, rows) in results.items():
        for r in rows:
            if r["reheard"] is not None:
                mark = "" if r["to_twin"] else "  FALSE ACCEPT"
                print(f"  {name}: {r['heard']!r} -> {r['reheard']!r} (said: {r['said']!r}){mark}")
    dev_sweep = [summarize(results["dev"][1], m) for m in SWEEP] if "dev" in results else []
    if args.sweep:
        print("DEV sweep (margin: requests woken / false accepts):")
        for s in dev_sweep:
            print(f"  {s['margin']:.1f}: {s['woken']}/{s['requests']} / {s['false']}/{s['others']}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "margin": nh.MARGIN,
            "dev_sweep": dev_sweep,
            "prompt": f"{NAME}." if args.prompt else None,
        }
        payload |= {name: {"summary": s, "clips": rows} for name, (s, rows) in results.items()}
        args.json.write_text(json.dumps(payload, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
