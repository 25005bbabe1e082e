"""The last check before an order request's bytes go to the socket (a caller-supplied fence).

A caller that may lose the right to write (a replica whose symbol lease runs out,
`mm_runtime.symbol_lease`) sets `SEND_GATE` around its request; the transports call
`check_send_gate` after their rate budget granted the slot and right before the write, with no
await in between, so a request that waited for a slot (up to a second when the budget is spent)
is checked again at the moment it would leave. A refused request raises `Fenced` and is never
sent. Unset (the default) costs one context lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from mm_bybit.errors import Fenced

SEND_GATE: ContextVar[Callable[[], bool] | None] = ContextVar("mm_bybit_send_gate", default=None)


def check_send_gate(what: str) -> None:
    """Raise `Fenced` when the current send gate refuses; do nothing without one."""
    gate = SEND_GATE.get()
    if gate is not None and not gate():
        raise Fenced(f"{what}: not sent, the send gate refused it (lease no longer held)")
