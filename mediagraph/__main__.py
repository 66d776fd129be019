"""`python -m mediagraph` runs the command line."""

import sys

from mediagraph.cli import main

sys.exit(main())
