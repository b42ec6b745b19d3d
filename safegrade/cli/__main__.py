"""`python -m safegrade.cli …` runs the same command as `safegrade …`."""

import sys

from safegrade.cli import main

sys.exit(main())
