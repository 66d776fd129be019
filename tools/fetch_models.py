"""Fill the model cache: `python tools/fetch_models.py [--force]` (same as `mediagraph models fetch`)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mediagraph.models import main

if __name__ == "__main__":
    sys.exit(main(["fetch", *sys.argv[1:]]))
