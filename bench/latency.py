"""Voice-to-voice latency benchmark; the same as `twin bench latency`.

.venv/bin/python bench/latency.py --turns 20 --json bench/results/latency.json
"""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "latency", *sys.argv[1:]]))
