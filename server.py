"""Entry point: `python server.py [SUBCOMMAND]` (see ops/cli.py), and `server:app_factory` for
uvicorn's worker processes. Wiring only: the app is assembled in app/root.py."""

from __future__ import annotations

import sys

from app.root import app_factory, create_app
from ops.cli import main

__all__ = ["app_factory", "create_app", "main"]

if __name__ == "__main__":
    sys.exit(main())
