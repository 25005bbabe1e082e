"""Typed connection-state events that every WebSocket client reports, each with its timestamps."""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec


class _Event(msgspec.Struct, frozen=True, kw_only=True):
    connection: str
    ts_ns: int = msgspec.field(default_factory=time.time_ns)
    monotonic_ns: int = msgspec.field(default_factory=time.monotonic_ns)


class Connecting(_Event, frozen=True, kw_only=True, tag="connecting"):
    """A connection attempt started; `attempt` counts from 1 since the last stable connection."""

    url: str
    attempt: int


class Connected(_Event, frozen=True, kw_only=True, tag="connected"):
    """The socket is open; auth and subscriptions follow."""


class Subscribed(_Event, frozen=True, kw_only=True, tag="subscribed"):
    """The venue acknowledged these topics on the current connection."""

    topics: tuple[str, ...]


class SubscriptionRejected(_Event, frozen=True, kw_only=True, tag="subscription_rejected"):
    """The venue refused a subscribe request; `reason` is its ret_msg."""

    topics: tuple[str, ...]
    reason: str


class Disconnected(_Event, frozen=True, kw_only=True, tag="disconnected"):
    """The connection ended or could not be opened."""

    reason: str


class BackingOff(_Event, frozen=True, kw_only=True, tag="backing_off"):
    """Waiting `delay_s` before the next attempt."""

    delay_s: float
    attempt: int


ConnectionEvent = (
    Connecting | Connected | Subscribed | SubscriptionRejected | Disconnected | BackingOff
)
StateListener = Callable[[ConnectionEvent], None]
