"""`make bench` runs this file. See docs/benchmarks.md for what it measures and how to read it."""

import sys
from pathlib import Path

# Run as a script (`python bench/run.py`): make the repository root importable as for `-m`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
