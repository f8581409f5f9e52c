"""Tool-use benchmark; the same as `twin bench tools`.

.venv/bin/python bench/tools.py --json bench/results/tools.json
"""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "tools", *sys.argv[1:]]))
