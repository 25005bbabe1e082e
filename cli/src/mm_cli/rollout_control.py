"""The rollout controller on the bus: the state in KV `rollout`, its events on stream ROLLOUT.

The controller keeps nothing of its own: each look reads the state (with its KV revision), the
KPI snapshots since the rollout started, decides with `rollout_plan`, and writes the next state
with compare-and-set on that revision (a concurrent `abort` or a second controller makes it look
again instead of overwriting). The event follows the state with `Nats-Msg-Id`
`<rollout id>.<seq>`, so a controller killed between the two and started again re-announces the
transition once; `announce_last` on every start does exactly that. A promotion stores the
candidate through the quoter's own `config-set` (vetted as any config change) before the state
says promoted; a refusal there rolls the rollout back with the quoter's reason.

Every look at a ramping rollout stamps `ts_evaluated_ns`: that stamp is the controller's
heartbeat, and a quoter that misses it for `unjudged_after_ns` puts every symbol back on blue
(no judge, no canary: `quoter.rollout_watch`). When a controller comes back to a rollout left
unjudged that long, the step window starts again from that look: green quoted blue meanwhile,
so the time without a judge counts for nothing (`resume`); only a breach in what was judged
before the gap still rolls back at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable

import msgspec
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

from mm_cli.rollout_plan import Transition, abort, evaluate, event_of, promote, rollback
from mm_proto import (
    ConfigGetRequest,
    ConfigSetRequest,
    CtlReply,
    DecodeError,
    KpiSnapshot,
    codec,
    decode,
    encode,
    subjects,
)
from mm_proto.rollout import RAMPING, RolloutEvent, RolloutState, unjudged_after_ns
from mm_proto.subjects import CtlVerb
from mm_runtime.jetstream import ensure_layout, key_value, publish_fact

_log = logging.getLogger("mm_cli.rollout")
REQUEST_TIMEOUT_S = 3.0
_NS = 1_000_000_000

ReadKpis = Callable[[int], Awaitable[list[KpiSnapshot]]]  # snapshots ending after ts (ns)


class RolloutError(Exception):
    """What keeps a rollout command from acting, with the reason."""


class StateConflictError(RolloutError):
    """The state changed between our read and our write."""


class RolloutStore:
    """The one rollout state and its events, on one connection."""

    def __init__(self, client: Client, venue: str = "bybit", category: str = "linear") -> None:
        self.client = client
        self.venue = venue
        self.category = category

    async def read(self) -> tuple[RolloutState | None, int | None]:
        """The state and its revision; (None, None) when no rollout ever started."""
        js = self.client.jetstream()
        await ensure_layout(js)
        bucket = await key_value(js, subjects.ROLLOUT_BUCKET)
        try:
            entry = await bucket.get(subjects.ROLLOUT_KEY)
        except KeyNotFoundError:
            return None, None
        if entry.value is None:
            return None, entry.revision
        try:
            return decode(entry.value, RolloutState), entry.revision
        except DecodeError as error:
            raise RolloutError(f"the stored rollout state is unreadable: {error}") from None

    async def write(self, state: RolloutState, revision: int | None) -> int:
        """Store `state` if the stored one is still at `revision`; StateConflictError otherwise."""
        bucket = await key_value(self.client.jetstream(), subjects.ROLLOUT_BUCKET)
        try:
            if revision is None:
                return await bucket.create(subjects.ROLLOUT_KEY, encode(state))
            return await bucket.update(subjects.ROLLOUT_KEY, encode(state), last=revision)
        except KeyWrongLastSequenceError:
            raise StateConflictError("the rollout state changed meanwhile; look again") from None

    async def announce(self, event: RolloutEvent) -> bool:
        """Publish the event once (de-duplicated by rollout id and transition number)."""
        subject = subjects.rollout_event(event.venue, event.category, event.rollout_id)
        message_id = f"{event.rollout_id}.{event.seq}"
        return await publish_fact(self.client.jetstream(), subject, event, message_id)

    async def commit(self, state: RolloutState, revision: int | None) -> RolloutEvent:
        """Store the state (compare-and-set), then announce its transition."""
        await self.write(state, revision)
        event = event_of(state, self.venue, self.category)
        await self.announce(event)
        _log.info("rollout transition", extra={"action": event.action, "reason": event.reason})
        return event

    async def ask_quoter(self, verb: CtlVerb, request: msgspec.Struct) -> CtlReply:
        try:
            reply = await self.client.request(
                subjects.ctl("quoter", verb), encode(request), timeout=REQUEST_TIMEOUT_S
            )
        except (NoRespondersError, NatsTimeoutError):
            raise RolloutError(
                f"the quoter did not answer ctl {verb.value}: is it running?"
            ) from None
        return codec.decode(reply.data, CtlReply)


async def store_candidate(store: RolloutStore, state: RolloutState) -> str | None:
    """Write the candidate into `quoter.default` through the quoter's `config-set`; the refusal
    reason, or None once stored."""
    reply = await store.ask_quoter(CtlVerb.CONFIG_GET, ConfigGetRequest(key="quoter.default"))
    entry = json.loads(reply.data.get("quoter.default", "{}")) if reply.ok else {}
    entry.update({name: json.loads(value) for name, value in state.candidate.items()})
    value = json.dumps(entry, sort_keys=True)
    stored = await store.ask_quoter(
        CtlVerb.CONFIG_SET, ConfigSetRequest(key="quoter.default", value=value)
    )
    return None if stored.ok else stored.message


def resume(state: RolloutState, now_ns: int, bound_ns: int) -> RolloutState | None:
    """The state with its step window started afresh when no one judged it for longer than
    `bound_ns` (the quoters held green on blue meanwhile); None when it was judged."""
    if now_ns - state.ts_judged_ns <= bound_ns:
        return None
    return msgspec.structs.replace(state, ts_step_started_ns=now_ns, ts_evaluated_ns=now_ns)


async def look(
    store: RolloutStore,
    read_kpis: ReadKpis,
    now_ns: int | None = None,
    bound_ns: int | None = None,
) -> str:
    """One evaluation of the stored rollout; what happened, in words. `bound_ns` is how long
    the quoters wait for a look (default: `unjudged_after_ns` of the default interval)."""
    state, revision = await store.read()
    if state is None or state.phase != RAMPING:
        return "no rollout is ramping"
    now = time.time_ns() if now_ns is None else now_ns
    transition = evaluate(state, await read_kpis(state.ts_started_ns), now)
    resumed = resume(state, now, unjudged_after_ns() if bound_ns is None else bound_ns)
    if resumed is not None and (transition is None or transition.event.action != "rollback"):
        # A breach in what was judged still rolls back at once; nothing else counts the gap.
        gap = (now - state.ts_judged_ns) / _NS
        await store.write(resumed, revision)  # a lost race: the next look starts over
        _log.warning("rollout resumed after going unjudged", extra={"gap_s": round(gap)})
        return f"resumed after {gap:.0f} s unjudged: step {state.step_index + 1}'s window restarts"
    if transition is None:
        # The heartbeat the quoters wait for; a lost race is harmless (the winner looked).
        with contextlib.suppress(StateConflictError):
            await store.write(msgspec.structs.replace(state, ts_evaluated_ns=now), revision)
        return f"holding at step {state.step_index + 1} ({state.split_pct} %)"
    if transition.event.action == "promote":
        refused = await store_candidate(store, state)
        if refused is not None:
            transition = rollback(state, f"promotion refused by the quoter: {refused}", {}, now)
    await store.commit(transition.state, revision)
    return f"{transition.event.action}: {transition.event.reason}"


async def operator_end(store: RolloutStore, action: str, who: str) -> Transition:
    """`mm rollout abort` / `promote`: end the ramping rollout now, by the operator's word."""
    state, revision = await store.read()
    if state is None or state.phase != RAMPING:
        raise RolloutError("no rollout is ramping")
    now = time.time_ns()
    if action == "abort":
        transition = abort(state, f"aborted by {who}", now)
    else:
        refused = await store_candidate(store, state)
        if refused is not None:
            raise RolloutError(f"promotion refused by the quoter: {refused}")
        transition = promote(state, f"promoted by {who}", {}, now)
    await store.commit(transition.state, revision)
    return transition


async def announce_last(store: RolloutStore) -> None:
    """Re-announce the last transition (a controller may have died between state and event)."""
    state, _ = await store.read()
    if state is not None and state.seq > 0:
        await store.announce(event_of(state, store.venue, store.category))
