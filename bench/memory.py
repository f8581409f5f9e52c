"""Memory benchmark; the same as `twin bench memory`.

.venv/bin/python bench/memory.py --json bench/results/memory.json
"""

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path and this file would shadow the `memory`
# package: look from the project root instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from pipeline.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench", "memory", *sys.argv[1:]]))
