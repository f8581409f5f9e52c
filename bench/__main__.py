"""`python -m bench latency --turns 20`: the same as `twin bench latency --turns 20`.

Benchmarks: latency, tools, memory (`memory --real`: bench/memory_real.py), identity,
speaker-encoder (bench/speaker_encoder.py, registered by pipeline/cli/identity.py), emotion
(bench/emotion.py, the same; `identity --data`: bench/identity_real.py),
asr (bench/asr.py, registered by pipeline/cli/vocabulary.py),
duplex (bench/duplex.py, registered by pipeline/cli/duplex.py), turn_end (bench/turn_end.py, registered by
pipeline/cli/turn_end.py), planner_context (bench/planner_context.py, registered by
pipeline/cli/planner_context.py), footprint (bench/footprint.py, registered by pipeline/cli/footprint.py),
partials (bench/partials.py, registered by pipeline/cli/partials.py)."""

import sys

from pipeline.cli.main import main

sys.exit(main(["bench", *sys.argv[1:]]))
