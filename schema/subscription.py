"""The Subscription root (graphql-transport-ws on the /graphql WebSocket): live lookup stats
and alerts, computed once per interval per process whatever the number of subscribers."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from context import Info
from monitoring.alerts import FiredAlert
from resolvers import monitoring
from resolvers.monitoring import WindowStats
from schema.monitoring import Alert, LookupStats


async def _lookup_stats_updated(info: Info, window_minutes: int) -> AsyncGenerator[WindowStats]:
    async for stats in monitoring.lookup_stats_updated(info, window_minutes):
        yield stats


async def _alerts_changed(info: Info) -> AsyncGenerator[list[FiredAlert]]:
    async for alerts in monitoring.alerts_changed(info):
        yield alerts


@strawberry.type
class Subscription:
    lookup_stats_updated: AsyncGenerator[WindowStats] = strawberry.subscription(
        resolver=_lookup_stats_updated,
        graphql_type=LookupStats,
        description="`lookupStats` of the window now, then every few seconds "
        "(LIVE_INTERVAL_SECONDS). A slow client gets the latest figures, not a backlog.",
    )
    alerts_changed: AsyncGenerator[list[FiredAlert]] = strawberry.subscription(
        resolver=_alerts_changed,
        graphql_type=list[Alert],
        description="The alerts that fire now, then again whenever one that is not silenced "
        "fires or resolves, or one is acknowledged or silenced.",
    )
