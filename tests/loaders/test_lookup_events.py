"""The LookupEvents the pipeline reports are truthful: hit, miss, unknown, unavailable."""

from __future__ import annotations

import asyncio

from loaders.errors import LookupUnavailableError
from tests.proxy import proxy_to
from tests.resilience import SLUGS, lookup_rig


async def test_events_say_hit_miss_unknown_and_unavailable(database_url: str) -> None:
    async with (
        proxy_to(database_url) as proxy,
        lookup_rig(proxy.url_for(database_url), attempts=1) as rig,
    ):
        await rig.lookup.resolve([SLUGS[0], "no-such-service"])
        await proxy.refuse()
        await asyncio.sleep(0.05)
        results = await rig.lookup.resolve_each([SLUGS[0], SLUGS[1]])
        assert results[0] is not None
        assert isinstance(results[1], LookupUnavailableError)

    first, unknown, hit, down = rig.events.events
    assert (first.slug, first.cache_hit, first.success, first.fallback_used) == (
        SLUGS[0],
        False,
        True,
        False,
    )
    assert first.uuid is not None
    assert first.error_kind is None
    assert (unknown.uuid, unknown.success, unknown.fallback_used) == (None, True, False)
    assert (hit.slug, hit.cache_hit, hit.success, hit.uuid) == (SLUGS[0], True, True, first.uuid)
    assert (down.slug, down.cache_hit, down.success, down.fallback_used) == (
        SLUGS[1],
        False,
        False,
        True,
    )
    assert down.error_kind == "ConnectionRefusedError"
    assert hit.lookup_time_ms <= down.lookup_time_ms
