"""The simulator's parts wired together once: engine, order entry, auth, limits, faults, feeds."""

from __future__ import annotations

from dataclasses import dataclass

from mm_sim.auth import Authenticator
from mm_sim.clock import Clock, ManualClock, WallClock
from mm_sim.exchange import Exchange
from mm_sim.faults import Faults
from mm_sim.order_changes import OrderChanges
from mm_sim.order_entry import OrderEntry
from mm_sim.public_feed import PublicFeed
from mm_sim.rate_limit import RateLimiter
from mm_sim.settings import SimSettings


@dataclass
class Venue:
    """Everything a request handler may need; built by `build_venue`."""

    settings: SimSettings
    clock: Clock
    exchange: Exchange
    entry: OrderEntry
    changes: OrderChanges
    auth: Authenticator
    limiter: RateLimiter
    faults: Faults
    feed: PublicFeed


def build_venue(settings: SimSettings) -> Venue:
    """Engine time is a manual clock when `settings.manual_clock`; signatures use the wall clock."""
    clock: Clock = ManualClock() if settings.manual_clock else WallClock()
    exchange = Exchange(settings, clock)
    faults = Faults(settings.faults)
    entry = OrderEntry(exchange)
    return Venue(
        settings=settings,
        clock=clock,
        exchange=exchange,
        entry=entry,
        changes=OrderChanges(entry),
        auth=Authenticator(settings.api_keys, WallClock()),
        limiter=RateLimiter(clock),
        faults=faults,
        feed=PublicFeed(exchange, faults),
    )
