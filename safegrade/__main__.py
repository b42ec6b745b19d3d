"""`python -m safegrade …` runs the same command as `safegrade …`."""

import sys

from safegrade.cli import main

sys.exit(main())
