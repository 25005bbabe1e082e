"""Lease-gated quoting for a quoter running as one of several replicas.

With `lease.enabled` every replica follows every symbol (books, positions, fills: its strategy
state stays warm) but publishes intents only for the symbols whose lease it holds
(`mm_runtime.symbol_lease` has the design). The gate is asked by `IntentPublisher.emit`
immediately before each publish. On taking a symbol over, the replica forgets what it believes
rests (the previous owner's intents were not its own), so its next timer publishes a fresh
ladder. On losing one it publishes nothing more for it, not even a pull: a pull would overwrite
the new owner's intent at risk. A returning replica does not take its share back while another
holds it (see `executor.shards` for why).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Mapping

from mm_runtime.lease_keeper import LeaseKeeper, start_leases
from mm_runtime.lifecycle import Runtime
from quoter.obligation_facts import ObligationFacts
from quoter.publishing import IntentPublisher
from quoter.settings import QuoterSettings
from quoter.strategy import SymbolQuoter


class QuoterShards:
    """Which symbols this replica may publish intents for."""

    def __init__(self, settings: QuoterSettings, quoters: Mapping[str, SymbolQuoter]) -> None:
        self.settings, self.quoters = settings, quoters
        self.keeper: LeaseKeeper | None = None

    def may_publish(self, symbol: str) -> bool:
        """May an intent for `symbol` go out now (always, outside lease mode)."""
        return self.keeper is None or self.keeper.valid(symbol)

    def start(self, runtime: Runtime, publisher: IntentPublisher, facts: ObligationFacts) -> None:
        """Gate the intents and obligation summaries of `publisher` and `facts` on our leases
        (lease mode only) and start keeping them."""
        publisher.may_publish = facts.owned = self.may_publish
        if not self.settings.lease.enabled:
            return
        settings, boot = self.settings, f"{time.time_ns():x}"
        self.keeper = start_leases(
            runtime, "quoter", (settings.instance_id, boot), settings.lease,
            list(self.quoters), self._on_acquired, self._on_lost, settings.nats.replicas,
        )  # fmt: skip

    async def _on_acquired(self, symbol: str, epoch: int) -> None:
        quoter = self.quoters.get(symbol)
        if quoter is not None:
            quoter.resting = None  # the next decision publishes a full ladder ("first")

    def _on_lost(self, symbol: str, reason: str) -> None:
        """Nothing to undo: the gate stops our intents, and the new owner's stand."""

    async def stop(self) -> None:
        """Release what we hold (after the stop's pulls), so the partner takes it at once."""
        if self.keeper is not None:
            with contextlib.suppress(Exception):
                await self.keeper.release_all()

    def status(self) -> dict[str, str]:
        if self.keeper is None:
            return {}
        return {"leases": json.dumps(self.keeper.status())}

    def and_leases(self, other: Callable[[], dict[str, str]]) -> Callable[[], dict[str, str]]:
        """`other`'s status lines with ours added (the quoter's status reply)."""
        return lambda: {**other(), **self.status()}
