"""Speaker identity benchmark; the same as `twin bench identity`.

.venv/bin/python bench/identity.py --json bench/results/identity.json
"""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "identity", *sys.argv[1:]]))
