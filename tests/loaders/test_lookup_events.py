"""The LookupEvents the pipeline reports are truthful: hit, miss, unknown, unavailable."""

from __future__ import annotations

import asyncio

from loaders.errors import LookupUnavailableError
from tests.support.proxy import proxy_to
from tests.support.resilience import SLUGS, lookup_rig


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


async def test_a_slug_with_a_nul_is_unknown_without_failing_its_batch(database_url: str) -> None:
    # PostgreSQL text cannot hold NUL: sent along, it would fail the statement for every slug.
    # The HTTP layer refuses such input; internal callers get a definite miss.
    async with lookup_rig(database_url) as rig:
        rig.statements.clear()
        found = await rig.lookup.resolve(["nul\x00slug", SLUGS[0]])
        assert found[0] is None
        assert found[1] is not None
        assert found[1].slug == SLUGS[0]
        assert len(rig.statements.lookups) == 1
        rig.statements.clear()
        assert await rig.lookup.resolve(["\x00"]) == [None]
        assert rig.statements.lookups == []  # nothing to ask
