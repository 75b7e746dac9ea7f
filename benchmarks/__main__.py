"""``python -m benchmarks``: see benchmarks/all.py."""

import sys

from benchmarks.all import main

sys.exit(main())
