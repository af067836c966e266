"""What a process drops when it hears a notice (db/notifications.py), and the wiring of the
listener into the caches it keeps fresh.

- `catalogue <version>`: the response cache and the lookup cache move to the new version (every
  key of both levels carries it: old keys are unreachable, in Redis too) and empty their
  in-process levels; compiled plans and cache verdicts are recompiled on demand; reads leave
  the replica until it has replayed the change (db/replica.py).
- `key <sha256>`: that key's cached verdict is dropped.
- A gap (the listening connection was lost and is back): the version is re-read. Unchanged, no
  catalogue notice was missed and every catalogue cache is kept (dropping them would turn a
  database blip into a second outage: the lookup breaker may still be open when the listener is
  back, and the warm lookup cache is then all that serves); changed, as a `catalogue` notice.
  Cached key verdicts are dropped either way: no version tells whether a revocation was missed.

While the listener is not connected the caches it keeps fresh are bypassed (`live()` is False):
a process that cannot hear a change must not serve what the change would have dropped.
"""

from __future__ import annotations

import logging

from api.plans import Plans
from api.response_cache import ResponseCache
from context.key_cache import KeyCache
from db.notifications import CATALOGUE, KEY, InvalidationListener, Notice
from db.replica import Replica
from loaders.lookup import MicroServiceLookup

log = logging.getLogger(__name__)


class Invalidation:
    def __init__(
        self,
        *,
        response_cache: ResponseCache | None,
        lookup: MicroServiceLookup,
        plans: Plans,
        keys: KeyCache,
        replica: Replica | None = None,
    ) -> None:
        self.response_cache = response_cache
        self.replica = replica
        self.lookup = lookup
        self.plans = plans
        self.keys = keys
        self.listener: InvalidationListener | None = None
        self.notices = 0
        self.version: int | None = None  # the catalogue version the caches hold; None: unknown
        self.gaps_kept = 0  # reconnects after which the caches were kept

    def live(self) -> bool:
        return self.listener is not None and self.listener.listening

    async def start(self, dsn: str) -> None:
        """LISTEN (failures are logged: the process then serves with those caches bypassed,
        and keeps trying to connect)."""
        self.listener = InvalidationListener(dsn, on_notice=self.on_notice, on_gap=self.on_gap)
        if self.response_cache is not None:
            self.response_cache.live = self.live
        self.keys.bind(self.live)
        try:
            version = await self.listener.start()
        except Exception as exc:
            log.warning("invalidation listener cannot start (%r); caches bypassed", exc)
            self.listener.keep_trying()
            return
        self.version = version
        if self.response_cache is not None:
            self.response_cache.version = version  # nothing cached yet: nothing to drop
        self.lookup.cache.catalogue_changed(version)

    async def close(self) -> None:
        if self.listener is not None:
            await self.listener.close()

    def on_notice(self, notice: Notice) -> None:
        self.notices += 1
        if notice.kind == CATALOGUE:
            try:
                version = int(notice.value)
            except ValueError:
                return
            # Versions only grow; one the caches already hold (committed between LISTEN and
            # the version read at start) changes nothing.
            if self.version is not None and version <= self.version:
                return
            self.catalogue_changed(version)
        elif notice.kind == KEY:
            self.keys.drop(notice.value)

    def on_gap(self, version: int) -> None:
        self.keys.clear()
        if version == self.version:
            self.gaps_kept += 1
            log.info(
                "invalidation listener back; catalogue version %d unchanged, caches kept", version
            )
            return
        log.info("invalidation listener back; catalogue version now %d, caches dropped", version)
        self.catalogue_changed(version)

    def catalogue_changed(self, version: int) -> None:
        # First: no read after this one may use a replica that has not replayed the change.
        if self.replica is not None:
            self.replica.catalogue_changed()
        self.version = version
        cache = self.response_cache
        if cache is not None:
            cache.version = version
            cache.clear_local()
        self.lookup.cache.catalogue_changed(version)
        self.plans.clear()
