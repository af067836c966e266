"""A notice missed while the invalidation listener was disconnected: once it is back, the app
drops what the missed notice would have dropped (response cache, lookup cache, key verdicts),
so nothing changed during the gap is served stale."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.support import error_codes, running_app
from tests.support.jobs import PUBLISH, publish_input
from tests.support.keys import issue_api_key
from tests.support.polling import eventually
from tests.support.proxy import TcpProxy

TREE = "{ categories { slug name } }"


def _painting(body: dict[str, Any]) -> str:
    names: dict[str, str] = {c["slug"]: c["name"] for c in body["data"]["categories"]}
    return names["painting"]


async def test_changes_missed_while_the_listener_was_down_are_not_served_after_it_is_back(
    empty_database_url: str, pg_proxy: TcpProxy
) -> None:
    async with running_app(pg_proxy.url_for(empty_database_url)) as api:
        conn = await asyncpg.connect(empty_database_url)  # straight to PostgreSQL, no proxy
        try:
            key = await issue_api_key(conn, name="gap", scopes=["jobs:write"])
            invalidation = api.state["invalidation"]
            await eventually(invalidation.live, what="the listener connected")
            # Both caches hold what is about to change: the tree's answer, the key's verdict.
            before = await api.graphql(TREE)
            assert _painting(before) == "Painting & decorating"
            assert "errors" not in await api.graphql(PUBLISH, publish_input(), headers=key.headers)
            api.statements.clear()
            assert await api.graphql(TREE) == before
            assert "errors" not in await api.graphql(PUBLISH, publish_input(), headers=key.headers)
            assert api.statements.matching("FROM api_keys") == []  # both served from cache

            # The listener loses its connection; the changes happen in the gap, unheard.
            await pg_proxy.refuse()
            await eventually(lambda: not invalidation.live(), what="the listener noticed")
            heard = invalidation.notices
            await conn.execute("UPDATE categories SET name = 'Renamed' WHERE slug = 'painting'")
            await conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = $1", key.id)
            await pg_proxy.restore()
            await eventually(invalidation.live, timeout=30, what="the listener reconnected")
            assert invalidation.notices == heard  # the notices themselves were missed

            assert _painting(await api.graphql(TREE)) == "Renamed"
            body = await api.graphql(PUBLISH, publish_input(), headers=key.headers)
            assert error_codes(body) == ["UNAUTHENTICATED"]
        finally:
            await conn.close()
