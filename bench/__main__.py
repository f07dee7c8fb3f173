"""`python -m bench`: every benchmark, each writing its section of docs/benchmarks.md."""

import sys

from bench.gateway.__main__ import main

sys.exit(main(sys.argv[1:]))
