"""`python -m bench latency --turns 20`: the same as `twin bench latency --turns 20`."""

import sys

from pipeline.cli.main import main

sys.exit(main(["bench", *sys.argv[1:]]))
