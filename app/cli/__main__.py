"""`python -m app.cli`: the same entry point as the `baton` console script."""

import sys

from app.cli import main

sys.exit(main())
