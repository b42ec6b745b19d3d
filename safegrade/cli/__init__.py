"""The `safegrade` command. Exit codes: 0 success, 1 refused action or bad input (one clear line on
stderr, followed by the listed problems where there are several), 2 usage."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from safegrade.errors import DOMAIN_ERRORS, speaking


def _offline() -> None:
    """Prefect must never phone home, from any entry point."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def main(argv: Sequence[str] | None = None) -> int:
    _offline()
    from safegrade.cli.app import app  # after the environment is set
    from safegrade.cli.errors import CLI, error_lines

    try:
        with speaking(CLI):  # errors that travel as text (refusals, job records) name options and commands
            app(args=list(sys.argv[1:] if argv is None else argv), prog_name="safegrade")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except DOMAIN_ERRORS as exc:
        print("\n".join(error_lines(exc)), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("safegrade: interrupted", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
