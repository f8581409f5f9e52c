"""Speaker identity benchmark; the same as `twin bench identity`.

.venv/bin/python bench/identity.py --json bench/results/identity.json
"""

import sys
from pathlib import Path

# Run as a script, this folder would come first on sys.path and bench/memory.py would shadow the
# `memory` package: look from the project root instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from pipeline.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench", "identity", *sys.argv[1:]]))
