"""What PostgreSQL stores for a batch of lookups: the events of the batch, field for field."""

import json
import time
from uuid import uuid4

import asyncpg

from loaders.lookup import LookupBatch
from monitoring.events import LookupEventBuffer

AWKWARD = ["wall-painting", 'quo"te\\back', "tab\tnew\nline", "çà-été-🎨", "back\\\\slash\\n"]


async def test_stored_events_are_the_events_of_the_batch(migrated_url: str) -> None:
    """What PostgreSQL expands a batch into is, field for field, `LookupBatch.events()`:
    hits, misses, definite unknowns and unavailable slugs, with awkward text."""
    from db.analytics import create_events_pool

    uuids = [str(uuid4()), None, str(uuid4()), None, None]
    mixed = LookupBatch(
        slugs=AWKWARD,
        uuids=uuids,
        cache_hits=[True, False, False, False, False],
        answered=[True, True, True, False, False],
        cache_ms=0.25,
        elapsed_ms=12.5,
        error_kind='Bad\\"Kind',
        degraded=True,
    )
    buffer = LookupEventBuffer(await create_events_pool(migrated_url))
    buffer.on_lookups(mixed)
    assert await buffer.flush() == len(AWKWARD)
    await buffer.close()
    conn = await asyncpg.connect(migrated_url)
    try:
        rows = await conn.fetch(
            "SELECT event_name, event_properties::text AS p, created_at"
            " FROM analytics_events ORDER BY id"
        )
    finally:
        await conn.close()
    assert {r["event_name"] for r in rows} == {"uuid_lookup"}
    assert [json.loads(r["p"]) for r in rows] == [
        {**e._asdict(), "uuid": None if e.uuid is None else str(e.uuid)} for e in mixed.events()
    ]
    assert all(abs(r["created_at"].timestamp() - time.time()) < 60 for r in rows)
