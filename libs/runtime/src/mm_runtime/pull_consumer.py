"""A durable JetStream pull consumer that nothing on the bus can stop: bind, fetch, lag, close.

The fetch side of every service that must not go blind to a stream (risk's EXEC feed; the rules
were learned the hard way): a timeout is an empty batch (nats' own TimeoutError and asyncio's plain
one, which `fetch` raises when its deadline passes between its two pull requests); JetStream off
or restarting (`ServiceUnavailableError`) and a connection that is reconnecting or has no
responders are counted, logged (rate limited) and retried after `retry_s`; any other JetStream
error unbinds, so the next fetch binds afresh (a deleted or moved consumer). A message on the
consumer's inbox that is not from the stream (a forged or stray publish) cannot be acked or
termed: it is dropped from the batch and counted. What still escapes (a closed connection, a
bug) ends the caller's task, which its supervisor logs and restarts.

In order, from where the service resumes (`resume_at`, for a service that stores what it has
applied, as risk and the ledger do): the server's own delivery state cannot be trusted for that. A
killed process leaves messages delivered but unacked, which the server hands out again only after
`ack_wait`, behind newer ones; a fetch reply lost with a dropped connection leaves the same hole
inside one life. A caller that skips by sequence what it has applied would then skip those for
good. So with `resume_at` every bind deletes the durable and creates it afresh at `resume_at()`
(the first sequence the caller has not applied), and a delivery that jumps past the next expected
sequence is a gap: the batch ends before it (counted as `reason="gap"`) and the next fetch binds
again at `resume_at()`. The first message after a bind is taken whatever its sequence: the server
started at `resume_at()`, so what lies between is no longer in the stream (aged out or deleted;
counted as `reason="not_in_stream"`). A redelivery (a sequence below the next expected) passes
through: the caller has it already and acks it again.

What to do with the messages (decode by subject, apply, persist, ack) stays with the service: its
ack rules are its own. Counters, by consumer: `mm_bus_follow_failures_total{follower, reason}`,
`mm_bus_messages_dropped_total{subscription, reason="not_jetstream"}`; how far behind the consumer
is (pending plus delivered-but-unacked, asked of the server by `pending()`) is
`mm_bus_follow_pending{follower}`, as for the other followers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from mm_runtime.logs import RateLimitedLog
from mm_runtime.metrics import RuntimeMetrics

_log = logging.getLogger("mm_runtime.pull_consumer")

# (reason, error): a service's own count of a failed fetch or lag look, besides the runtime's
FailureHook = Callable[[str, Exception], None]
StrayHook = Callable[[], None]
ResumeAt = Callable[[], int]  # the first stream sequence the caller has not applied


class DeliveryGapError(Exception):
    """The server skipped stream sequences this consumer was owed (see the module's docstring)."""


class PullConsumer:
    """One durable pull consumer on `stream` filtered to `subject`, configured by `config`."""

    def __init__(
        self,
        js: JetStreamContext,
        stream: str,
        subject: str,
        config: api.ConsumerConfig,
        metrics: RuntimeMetrics,
        *,
        retry_s: float = 0.25,
        on_failure: FailureHook | None = None,
        on_stray: StrayHook | None = None,
        resume_at: ResumeAt | None = None,
    ) -> None:
        assert config.durable_name, "a pull consumer here is durable"
        self._js = js
        self.stream = stream
        self._subject = subject
        self._config = config
        self._metrics = metrics
        self._retry_s = retry_s
        self._on_failure = on_failure
        self._on_stray = on_stray
        self._resume_at = resume_at
        self._expected: int | None = None  # the next stream sequence owed, with `resume_at`
        self._bound_at = 0  # where the last bind started, with `resume_at`
        self.name = f"{stream}-{config.durable_name}"
        self._subscription: JetStreamContext.PullSubscription | None = None
        self._failure_log = RateLimitedLog(_log)
        self.failing = False  # last fetch failed or stopped at a gap: says nothing of lag

    @property
    def durable(self) -> str:
        assert self._config.durable_name is not None
        return self._config.durable_name

    async def bind(self) -> None:
        config = self._config
        if self._resume_at is not None:
            start = self._resume_at()
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await self._js.delete_consumer(self.stream, self.durable)
            config = dataclasses.replace(
                config,
                deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=start,
            )
            self._bound_at, self._expected = start, None
        self._subscription = await self._js.pull_subscribe(
            self._subject, durable=self.durable, stream=self.stream, config=config
        )

    async def fetch(self, batch: int, timeout_s: float) -> list[Msg]:
        """Up to `batch` messages from the stream; [] on a timeout or after a failure."""
        if self._subscription is None:
            await self.bind()
        assert self._subscription is not None
        self.failing = True
        try:
            messages = await self._subscription.fetch(batch, timeout=timeout_s)
        except TimeoutError:
            self.failing = False
            return []
        except nats.js.errors.ServiceUnavailableError as error:
            self.failed("jetstream_unavailable", error)
        except nats.js.errors.APIError as error:
            self.failed("api_error", error)
            await self.close()  # bound afresh on the next fetch
        except (nats.errors.ConnectionReconnectingError, nats.errors.NoRespondersError) as error:
            self.failed("not_connected", error)
        else:
            self.failing = False
            taken = [msg for msg in messages if self._from_stream(msg)]
            return taken if self._resume_at is None else await self._in_order(taken)
        await asyncio.sleep(self._retry_s)
        return []

    async def _in_order(self, messages: list[Msg]) -> list[Msg]:
        """The batch up to the first gap; after a gap, unbound (the next fetch binds again)."""
        for index, msg in enumerate(messages):
            sequence = msg.metadata.sequence.stream
            if self._expected is None:  # the first delivery since the bind at `_bound_at`
                if sequence > self._bound_at:
                    self._skipped("not_in_stream", self._bound_at, sequence)
            elif sequence > self._expected:
                self._skipped("gap", self._expected, sequence)
                await self.close()
                self.failing = True  # what follows the gap is unread: no word on the backlog
                return messages[:index]
            elif sequence < self._expected:
                continue  # a redelivery: the caller has it
            self._expected = sequence + 1
        return messages

    def _skipped(self, reason: str, first: int, upto: int) -> None:
        self._metrics.follow_failures.labels(self.name, reason).inc()
        if self._on_failure is not None:
            self._on_failure(reason, DeliveryGapError(f"sequences {first}..{upto - 1}"))
        self._failure_log.warning(
            reason,
            "delivery skipped stream sequences",
            consumer=self.name,
            first=first,
            last=upto - 1,
            then="binds again at the first unapplied sequence" if reason == "gap" else "goes on",
        )

    def _from_stream(self, msg: Msg) -> bool:
        try:
            msg.metadata  # noqa: B018 - raises for a message that is not from the stream
        except nats.errors.NotJSMessageError:
            self._metrics.dropped.labels(self.name, "not_jetstream").inc()
            self._failure_log.warning(
                "not_jetstream", "dropped a message on the inbox that is not from the stream"
            )
            if self._on_stray is not None:
                self._on_stray()
            return False
        return True

    def failed(self, reason: str, error: Exception) -> None:
        self._metrics.follow_failures.labels(self.name, reason).inc()
        if self._on_failure is not None:
            self._on_failure(reason, error)
        self._failure_log.warning(
            reason, "fetch failed, retrying", consumer=self.name, error=repr(error)
        )

    async def pending(self, timeout_s: float) -> int | None:
        """Messages the consumer still owes (pending plus unacked), or None when the server
        could not say (counted as `lag_unknown`)."""
        try:
            info = await self._js.consumer_info(self.stream, self.durable, timeout=timeout_s)
        except (nats.errors.Error, TimeoutError) as error:
            self.failed("lag_unknown", error)
            return None
        pending = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
        self._metrics.follow_pending.labels(self.name).set(pending)
        return pending

    @property
    def inbox(self) -> str:
        """The subject the server delivers this consumer's messages on (tests forge onto it)."""
        assert self._subscription is not None
        return str(self._subscription._deliver)

    async def close(self) -> None:
        """Drop the pull subscription, so that late pull replies cannot stall the bus's drain."""
        if self._subscription is not None:
            subscription, self._subscription = self._subscription, None
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
