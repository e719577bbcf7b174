"""``python -m hearth`` / ``hearth``: no arguments opens the window; a sub-command runs headless."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    # A packaged app has one executable; the engine host is that executable started with this variable set.
    if os.environ.get("HEARTH_ENGINE_HOST") == "1":
        from hearth.core.engine.host import main as host_main

        return host_main()
    from hearth.cli.main import main as cli_main

    return cli_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
