"""`python server.py backfill`: fill `jobs.micro_uuid` of slug-only jobs, batch after batch.

Each batch is one call of the SQL function `migrate_job_uuids`, committed on its own. Ctrl-C
asks to stop after the batch in flight (a second Ctrl-C cancels it: PostgreSQL rolls that batch
back), so an interrupted backfill leaves whole batches only and the next run carries on from
there. The final stats are printed either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from db.analytics import (
    BackfillBatch,
    MigrationStats,
    fetch_migration_stats,
    fetch_unmatched_slugs,
    migrate_job_uuids,
)
from db.migrate import apply_migrations
from db.pool import Connection

# When a concurrent runner took the whole batch, wait this long before asking again.
RACE_RETRY_DELAY = 0.5
EXIT_INTERRUPTED = 130  # the shell's convention for "stopped by SIGINT"


@dataclass(frozen=True, slots=True)
class BackfillOutcome:
    migrated: int
    batches: int
    interrupted: bool
    last: BackfillBatch | None


async def run_backfill(
    conn: Connection,
    *,
    batch_size: int,
    on_batch: Callable[[BackfillBatch], None] = lambda batch: None,
    stop: asyncio.Event | None = None,
) -> BackfillOutcome:
    """Call `migrate_job_uuids` until nothing matchable is left, or until `stop` is set (checked
    between batches). `conn` must not be inside a transaction: each batch commits by itself."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    migrated = batches = 0
    last: BackfillBatch | None = None
    while True:
        if stop is not None and stop.is_set():
            return BackfillOutcome(migrated, batches, True, last)
        last = await migrate_job_uuids(conn, batch_size=batch_size)
        migrated += last.migrated
        batches += 1
        on_batch(last)
        if last.remaining == 0:
            return BackfillOutcome(migrated, batches, False, last)
        if last.migrated == 0:
            await asyncio.sleep(RACE_RETRY_DELAY)  # a concurrent runner took this batch


class RateColumn(ProgressColumn):
    """Rows per second since the start (steadier than rich's 30-second moving estimate)."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.0f} rows/s", style="progress.data.speed")


def stats_table(stats: MigrationStats, unmatched: list[tuple[str, int]]) -> Table:
    table = Table(title="UUID migration", show_header=False)
    table.add_row("total jobs", f"{stats.total_jobs:,}")
    table.add_row("with UUID", f"{stats.with_uuid:,}")
    table.add_row("without UUID", f"{stats.without_uuid:,}")
    table.add_row("unmatched (no such slug)", f"{stats.unmatched:,}")
    table.add_row("completion (of matchable jobs)", f"{stats.completion_percent:.2f} %")
    for slug, count in unmatched:
        table.add_row(f"  unmatched slug {slug!r}", f"{count:,} job(s)")
    return table


async def backfill_with_progress(
    database_url: str, *, batch_size: int, console: Console
) -> BackfillOutcome:
    conn = await asyncpg.connect(database_url)
    stop = asyncio.Event()
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()

    def on_sigint() -> None:
        if stop.is_set() and task is not None:
            task.cancel()  # second Ctrl-C: abandon the batch in flight (rolled back)
            return
        stop.set()
        console.print("[yellow]Stopping after the current batch (Ctrl-C again to abort it)…")

    loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        await apply_migrations(conn)
        before = await fetch_migration_stats(conn)
        todo = before.without_uuid - before.unmatched
        columns = (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
        )
        started = time.perf_counter()
        with Progress(*columns, console=console) as progress:
            bar = progress.add_task("backfilling", total=todo)
            done = 0

            def on_batch(batch: BackfillBatch) -> None:
                nonlocal done
                done += batch.migrated
                # The total follows what is really left, in case jobs arrive meanwhile.
                progress.update(bar, completed=done, total=done + batch.remaining)

            try:
                outcome = await run_backfill(
                    conn, batch_size=batch_size, on_batch=on_batch, stop=stop
                )
            except asyncio.CancelledError:
                outcome = BackfillOutcome(done, 0, True, None)
        seconds = time.perf_counter() - started
        verb = "interrupted after" if outcome.interrupted else "done:"
        rate = outcome.migrated / seconds if seconds > 0 else 0.0
        console.print(
            f"Backfill {verb} {outcome.migrated:,} job(s) in {seconds:.1f} s ({rate:,.0f} rows/s)."
        )
        if outcome.interrupted:
            console.print("Run the same command again to resume.")
        # A fresh connection if the old one was closed by an aborted batch.
        if conn.is_closed():
            conn = await asyncpg.connect(database_url)
        stats = await fetch_migration_stats(conn)
        console.print(stats_table(stats, await fetch_unmatched_slugs(conn, limit=10)))
        return outcome
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        with contextlib.suppress(Exception):
            await conn.close()


def run_backfill_command(
    database_url: str, *, batch_size: int, console: Console | None = None
) -> int:
    """The `backfill` subcommand: 0 when finished, 130 when interrupted (resumable)."""
    console = console or Console()
    if batch_size < 1:
        console.print(f"--batch-size must be at least 1, got {batch_size}")
        return 2
    outcome = asyncio.run(
        backfill_with_progress(database_url, batch_size=batch_size, console=console)
    )
    return EXIT_INTERRUPTED if outcome.interrupted else 0
