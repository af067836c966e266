"""The Subscription root (graphql-transport-ws on the /graphql WebSocket): live lookup stats
and alerts, computed once per interval per process whatever the number of subscribers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import strawberry

from context import Info
from monitoring.alerts import FiredAlert
from resolvers import monitoring
from resolvers.monitoring import WindowStats
from schema.monitoring import Alert, LookupStats


async def _lookup_stats_updated(info: Info, window_minutes: int) -> AsyncIterator[WindowStats]:
    return await monitoring.lookup_stats_updated(info, window_minutes)


async def _alerts_changed(info: Info) -> AsyncIterator[list[FiredAlert]]:
    return await monitoring.alerts_changed(info)


@strawberry.type
class Subscription:
    lookup_stats_updated: AsyncIterator[WindowStats] = strawberry.subscription(
        resolver=_lookup_stats_updated,
        graphql_type=LookupStats,
        description="`lookupStats` of the window now, then every few seconds "
        "(LIVE_INTERVAL_SECONDS). A slow client gets the latest figures, not a backlog.",
    )
    alerts_changed: AsyncIterator[list[FiredAlert]] = strawberry.subscription(
        resolver=_alerts_changed,
        graphql_type=list[Alert],
        description="The alerts that fire now, then again whenever one that is not silenced "
        "fires or resolves, or one is acknowledged or silenced.",
    )
