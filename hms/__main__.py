"""`python -m hms ...` runs the same client as the `hms` console script."""

import sys

from hms.cli import main

sys.exit(main())
