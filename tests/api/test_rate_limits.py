"""Rate limits: budgets of lookups per minute per client IP and per API key, 429 with
Retry-After and RateLimit headers, a flood of bad tokens stopped before the database, shared
through Redis, off with RATE_LIMITS=false."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
import redis.asyncio as redis_client

from api import rate_limits
from config.limits import LimitSettings
from db.api_keys import insert_api_key
from domain.api_keys import generate_key, hash_key
from tests.support import REDIS_URL, running_app, test_settings
from tests.support.keys import IssuedKey
from tests.support.polling import eventually
from tests.support.proxy import proxy_to

# How long a reading of the shared counters is trusted, by default.
SYNC_SECONDS = LimitSettings.model_fields["rate_limit_sync_seconds"].default

LOOKUP = '{ microService(slug: "wall-painting") { id } }'


def aliased(count: int) -> str:
    fields = " ".join(f'a{i}: microService(slug: "wall-painting") {{ id }}' for i in range(count))
    return f"{{ {fields} }}"


async def _post(api: Any, query: str, **kw: Any) -> Any:
    return await api.client.post("/graphql", json={"query": query}, **kw)


async def test_an_anonymous_ip_over_its_budget_gets_429_with_the_headers(
    database_url: str,
) -> None:
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, rate_limit_anonymous=100
    ) as api:
        first = await _post(api, aliased(60))
        assert first.status_code == 200
        assert first.headers["ratelimit-policy"] == '"anonymous";q=100;w=60'
        assert first.headers["ratelimit"].startswith('"anonymous";r=40;t=')
        # An aliased request costs its aliases: 60 more do not fit in the 40 left.
        refused = await _post(api, aliased(60))
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["x-request-id"]
        (error,) = refused.json()["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["limit"] == 100
        assert error["extensions"]["cost"] == 60
        # What still fits is served.
        assert (await _post(api, aliased(40))).status_code == 200
        assert (await _post(api, LOOKUP)).status_code == 429


async def test_a_key_has_its_own_budget_and_its_own_rate(database_url: str) -> None:
    key = generate_key()
    conn = await asyncpg.connect(database_url)
    try:
        await insert_api_key(
            conn, name="small partner", key_sha256=hash_key(key), scopes=[], rate_per_minute=5
        )
    finally:
        await conn.close()
    headers = {"Authorization": f"Bearer {key}"}
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, rate_limit_anonymous=1000
    ) as api:
        assert (await _post(api, aliased(5), headers=headers)).status_code == 200
        refused = await _post(api, LOOKUP, headers=headers)
        assert refused.status_code == 429
        assert refused.headers["ratelimit-policy"] == '"key";q=5;w=60'
        # The same client without the key still has the anonymous budget.
        assert (await _post(api, LOOKUP)).status_code == 200


async def test_random_tokens_are_stopped_before_they_reach_the_database(
    database_url: str,
) -> None:
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, rate_limit_auth_failures=20
    ) as api:
        api.statements.clear()
        statuses = []
        for _ in range(200):
            token = {"Authorization": f"Bearer jw_{secrets.token_urlsafe(32)}"}
            statuses.append((await _post(api, LOOKUP, headers=token)).status_code)
        assert statuses[:20] == [200] * 20
        assert set(statuses[20:]) == {429}
        assert len(api.statements.matching("FROM api_keys")) == 20


def _sharing_redis(namespace: str, *, anonymous: int) -> dict[str, Any]:
    """Settings of apps that keep their counters in one Redis namespace."""
    return {
        "migrate_on_start": False,
        "seed_on_start": False,
        "redis_url": REDIS_URL,
        "cache_namespace": namespace,
        "rate_limit_prefix": namespace + ":rl",
        "rate_limit_anonymous": anonymous,
    }


async def test_counters_are_shared_through_redis(database_url: str, redis_namespace: str) -> None:
    settings = _sharing_redis(redis_namespace, anonymous=10)
    async with (
        running_app(database_url, **settings) as one,
        running_app(database_url, **settings) as other,
    ):
        assert (await _post(one, aliased(8))).status_code == 200
        assert (await _post(other, aliased(3))).status_code == 429
        assert (await _post(other, aliased(2))).status_code == 200


async def test_what_a_process_counts_on_its_own_reaches_the_shared_counters(
    database_url: str, redis_namespace: str
) -> None:
    settings = _sharing_redis(redis_namespace, anonymous=100)
    async with (
        running_app(database_url, **settings) as one,
        running_app(database_url, **settings) as other,
    ):
        # The first request reads the shared counters; the next four are counted by `one`
        # alone, and its headers still say what is left.
        responses = [await _post(one, LOOKUP) for _ in range(5)]
        assert [r.status_code for r in responses] == [200] * 5
        assert responses[-1].headers["ratelimit"].startswith('"anonymous";r=95;')
        # Once its reading is old, `one`'s next request writes those four with its own.
        await asyncio.sleep(SYNC_SECONDS * 2)
        assert (await _post(one, LOOKUP)).status_code == 200
        # Exactly what is left, as `other` reads it: 94, and not one more.
        assert (await _post(other, aliased(94))).status_code == 200
        assert (await _post(other, LOOKUP)).status_code == 429
        # `one` learns of it at its next reading at the latest.
        await asyncio.sleep(SYNC_SECONDS * 2)
        assert (await _post(one, LOOKUP)).status_code == 429


async def test_rate_limits_with_redis_stalled_let_requests_through_within_the_timeout(
    database_url: str, redis_namespace: str
) -> None:
    timeout_ms = 200
    async with proxy_to(REDIS_URL) as proxy:
        # Redis accepts connections and never answers: a paused or wedged server.
        proxy.mode = "stall"
        async with running_app(
            database_url,
            migrate_on_start=False,
            seed_on_start=False,
            cache_warm_up=False,
            # The rate limit is checked before anything else in a request touches Redis.
            response_cache=False,
            redis_url=proxy.url_for(REDIS_URL),
            cache_namespace=redis_namespace,
            rate_limit_prefix=redis_namespace + ":rl",
            rate_limit_anonymous=100,
            cache_redis_timeout_ms=timeout_ms,
        ) as api:
            for _ in range(3):
                # Bounded by CACHE_REDIS_TIMEOUT_MS, with slack for a busy test machine; an
                # unbounded wait on the stalled socket would never end.
                async with asyncio.timeout(timeout_ms / 1000 + 2.0):
                    response = await _post(api, LOOKUP)
                assert response.status_code == 200
                assert response.json()["data"]["microService"]["id"]
            # Counted all the same, in process memory while Redis is skipped.
            assert response.headers["ratelimit"].startswith('"anonymous";r=97;')
            redis = api.app_state.lookup.cache.redis
            assert redis is not None
            # One call waited for the stalled Redis; the guard skipped it for the others (and
            # for the lookup cache, which shares the client).
            assert (proxy.accepted, redis.errors) == (1, 1)
            proxy.cut()


async def test_with_redis_down_a_flood_over_the_budget_gets_429s_from_memory_counters(
    database_url: str, redis_namespace: str
) -> None:
    prefix = redis_namespace + ":rl"
    async with (
        proxy_to(REDIS_URL) as proxy,
        running_app(
            database_url,
            migrate_on_start=False,
            seed_on_start=False,
            redis_url=proxy.url_for(REDIS_URL),
            cache_namespace=redis_namespace,
            rate_limit_prefix=prefix,
            rate_limit_anonymous=100,
        ) as api,
    ):
        assert (await _post(api, aliased(10))).status_code == 200
        health = (await api.client.get("/health")).json()
        assert health["rateLimits"] == {"enabled": True, "storage": "redis"}
        await proxy.refuse()
        statuses = [(await _post(api, aliased(30))).status_code for _ in range(10)]
        # 100 a minute whatever Redis does: three floods of 30 fit, the rest do not.
        assert statuses == [200] * 3 + [429] * 7
        health = (await api.client.get("/health")).json()
        assert health["rateLimits"] == {"enabled": True, "storage": "memory"}

        # Redis is back: once the guard lets a call through, counting goes back there.
        await proxy.restore()

        async def counted_in_redis() -> bool:
            await _post(api, LOOKUP)
            return api.http_state.rate_limits is not None and (
                api.http_state.rate_limits.storage == "redis"
            )

        await eventually(counted_in_redis, timeout=15.0)
        health = (await api.client.get("/health")).json()
        assert health["rateLimits"] == {"enabled": True, "storage": "redis"}
        client: Any = redis_client.Redis.from_url(REDIS_URL)
        try:
            assert [key async for key in client.scan_iter(match=f"{prefix}*")]
        finally:
            await client.aclose()


async def test_rate_limits_false_turns_them_off(
    database_url: str, make_api_key: Callable[..., Awaitable[IssuedKey]]
) -> None:
    async with running_app(
        database_url,
        migrate_on_start=False,
        seed_on_start=False,
        rate_limits=False,
        rate_limit_anonymous=1,
    ) as api:
        for _ in range(3):
            response = await _post(api, aliased(5))
            assert response.status_code == 200
            assert "ratelimit" not in response.headers


async def test_junk_tokens_from_an_address_do_not_lock_out_a_real_key_behind_it(
    database_url: str, make_api_key: Callable[..., Awaitable[IssuedKey]]
) -> None:
    partner = await make_api_key("jobs:write")
    async with running_app(
        database_url, migrate_on_start=False, seed_on_start=False, rate_limit_auth_failures=5
    ) as api:
        assert (await _post(api, LOOKUP, headers=partner.headers)).status_code == 200
        for _ in range(10):
            await _post(api, LOOKUP, headers={"Authorization": "Bearer jw_junk"})
        assert (
            await _post(api, LOOKUP, headers={"Authorization": "Bearer jw_x"})
        ).status_code == 429
        assert (await _post(api, LOOKUP, headers=partner.headers)).status_code == 200


async def test_a_real_key_whose_verdict_expired_is_not_locked_out_by_junk_tokens(
    database_url: str, make_api_key: Callable[..., Awaitable[IssuedKey]]
) -> None:
    partner = await make_api_key("jobs:write")
    async with running_app(
        database_url,
        migrate_on_start=False,
        seed_on_start=False,
        rate_limit_auth_failures=5,
        api_key_cache_ttl_seconds=0.2,
    ) as api:
        assert (await _post(api, LOOKUP, headers=partner.headers)).status_code == 200
        for _ in range(10):  # the address's gate against unknown tokens closes
            await _post(api, LOOKUP, headers={"Authorization": "Bearer jw_junk"})
        await asyncio.sleep(0.3)  # the key's cached verdict expires
        api.statements.clear()
        assert (await _post(api, LOOKUP, headers=partner.headers)).status_code == 200
        assert len(api.statements.matching("FROM api_keys")) == 1  # verified again, once
        assert (await _post(api, LOOKUP, headers=partner.headers)).status_code == 200
        assert len(api.statements.matching("FROM api_keys")) == 1  # and cached again
        # Unknown tokens stay behind the gate.
        refused = await _post(api, LOOKUP, headers={"Authorization": "Bearer jw_other"})
        assert refused.status_code == 429


async def test_the_budgets_counted_in_process_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every client address has a budget: the process keeps at most MAX_TALLIES of them, the
    longest unread dropped first, and counting goes on for all."""
    monkeypatch.setattr(rate_limits, "MAX_TALLIES", 3)
    limits = rate_limits.RateLimits(test_settings(redis_url=None))
    try:
        for n in range(10):
            decision = await limits.hit(limits.anonymous, f"ip:10.0.0.{n}", 1, "anonymous")
            assert decision.allowed
            assert decision.remaining == limits.anonymous.amount - 1
        assert len(limits._tallies) == 3
        again = await limits.hit(limits.anonymous, "ip:10.0.0.0", 1, "anonymous")
        assert again.remaining == limits.anonymous.amount - 2  # counted all the same
    finally:
        await limits.close()


async def test_a_flood_past_the_budget_is_refused_without_the_shared_counters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limits = rate_limits.RateLimits(test_settings(redis_url=None, rate_limit_anonymous=5))
    calls: list[str] = []
    call = limits._call

    async def counted(operation: Any) -> Any:
        calls.append("counters")
        return await call(operation)

    monkeypatch.setattr(limits, "_call", counted)
    try:
        assert (await limits.hit(limits.anonymous, "ip:10.0.0.1", 5, "anonymous")).allowed
        calls.clear()
        refused = [
            await limits.hit(limits.anonymous, "ip:10.0.0.1", 1, "anonymous") for _ in range(20)
        ]
        assert not any(decision.allowed for decision in refused)
        assert refused[-1].remaining == 0
        assert 1 <= refused[-1].reset_seconds <= rate_limits.WINDOW_SECONDS
        assert calls == []  # the reading said so: the counters were not asked
        # Once the reading is old, the counters are asked again (and still say no).
        await asyncio.sleep(SYNC_SECONDS * 2)
        assert not (await limits.hit(limits.anonymous, "ip:10.0.0.1", 1, "anonymous")).allowed
        assert calls
    finally:
        await limits.close()


async def test_a_request_within_the_room_a_reading_left_is_counted_without_a_wait() -> None:
    """`hit_here` decides what `hit` would when the process can alone, and says so (None)
    when the shared counters must be asked: before any reading, and past the room."""
    limits = rate_limits.RateLimits(test_settings(redis_url=None, rate_limit_anonymous=100))
    try:
        item, who = limits.anonymous, "ip:10.0.0.1"
        assert limits.hit_here(item, who, 1, "anonymous") is None  # nothing read yet
        first = await limits.hit(item, who, 1, "anonymous")  # reads: 99 left, room 9
        assert (first.allowed, first.remaining) == (True, 99)
        here = [limits.hit_here(item, who, 1, "anonymous") for _ in range(9)]
        assert all(d is not None and d.allowed for d in here)
        assert [d.remaining for d in here if d is not None] == list(range(98, 89, -1))
        assert limits.hit_here(item, who, 1, "anonymous") is None  # the room is used up
        # What was counted here reaches the shared counters with the next reading.
        after = await limits.hit(item, who, 1, "anonymous")
        assert (after.allowed, after.remaining) == (True, 89)
        never = limits.hit_here(item, who, 101, "anonymous")
        assert never is not None
        assert not never.allowed
    finally:
        await limits.close()


async def test_admitted_here_answers_as_hit_here_would_with_the_headers_alone() -> None:
    """`admitted_here` (the common case, no Decision) counts what `hit_here` would have let in
    here and returns its decision's headers; None wherever `hit_here` would decide otherwise
    or the counters must be asked."""
    limits = rate_limits.RateLimits(test_settings(redis_url=None, rate_limit_anonymous=100))
    twin = rate_limits.RateLimits(test_settings(redis_url=None, rate_limit_anonymous=100))
    try:
        item, who = limits.anonymous, "ip:10.0.0.1"
        assert limits.admitted_here(item, who, 1, "anonymous") is None  # nothing read yet
        for both in (limits, twin):
            await both.hit(item, who, 1, "anonymous")  # reads: 99 left, room 9
        for left in (97, 95, 93, 91):  # two at a time: 8 of the room of 9
            admitted = limits.admitted_here(item, who, 2, "anonymous")
            decided = twin.hit_here(item, who, 2, "anonymous")
            assert decided is not None
            assert decided.allowed
            assert admitted is not None
            # The same headers, but for the seconds to the reset, which each reads off a clock.
            (policy, state), (twin_policy, twin_state) = admitted, decided.raw_headers()
            assert policy == twin_policy == (b"ratelimit-policy", b'"anonymous";q=100;w=60')
            assert state[0] == twin_state[0] == b"ratelimit"
            prefix = f'"anonymous";r={left};t='.encode()
            assert state[1].startswith(prefix)
            assert twin_state[1].startswith(prefix)
            seconds = int(state[1].removeprefix(prefix))
            assert abs(seconds - decided.reset_seconds) <= 1
            assert 0 <= seconds <= rate_limits.WINDOW_SECONDS
        # Past the room, and a cost that never fits: for `hit_here` and the counters.
        assert limits.admitted_here(item, who, 2, "anonymous") is None
        assert limits.admitted_here(item, who, 101, "anonymous") is None
        # The room is still there for what fits, and the reading ages out.
        assert limits.admitted_here(item, who, 1, "anonymous") is not None
        await asyncio.sleep(SYNC_SECONDS * 2)
        assert limits.admitted_here(item, who, 1, "anonymous") is None
    finally:
        await limits.close()
        await twin.close()


async def test_a_reading_is_trusted_for_the_configured_interval() -> None:
    """RATE_LIMIT_SYNC_SECONDS: a process counts on its own that long after a reading."""
    limits = rate_limits.RateLimits(
        test_settings(redis_url=None, rate_limit_anonymous=100, rate_limit_sync_seconds=2.0)
    )
    try:
        item, who = limits.anonymous, "ip:10.0.0.1"
        await limits.hit(item, who, 1, "anonymous")  # reads: 99 left, room 9
        await asyncio.sleep(SYNC_SECONDS * 3)  # past the default interval, within this one
        assert limits.admitted_here(item, who, 1, "anonymous") is not None
        await asyncio.sleep(2.0)
        assert limits.admitted_here(item, who, 1, "anonymous") is None
    finally:
        await limits.close()
