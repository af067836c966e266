"""An embedded PostgreSQL (the `pgserver` package) for when no `DATABASE_URL` is given, so that
a newcomer's first `make serve` works with nothing else installed."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def start_embedded_postgres(pgdata: Path) -> tuple[str, Any]:
    """Start (or attach to) the server whose data lives in `pgdata`; return its URL and handle.

    The handle stops the server when the last user of that data folder exits.
    """
    # Imported lazily: only this path needs its binaries.
    from pgserver.postgres_server import get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="stop")
    url: str = server.get_uri()
    log.info("embedded PostgreSQL running with data in %s", pgdata)
    return url, server
