"""The moment an order request's bytes leave: a caller-supplied fence, and a caller's observer.

A caller that may lose the right to write (a replica whose symbol lease runs out,
`mm_runtime.symbol_lease`) sets `SEND_GATE` around its request; the transports call
`check_send_gate` after their rate budget granted the slot and right before the write, with no
await in between, so a request that waited for a slot (up to a second when the budget is spent)
is checked again at the moment it would leave. A refused request raises `Fenced` and is never
sent. A caller that times its sends (the executor's tick-to-order sample) sets `SEND_OBSERVER`:
it is called there too, once the gate let the request through, so the time it takes includes
any wait for a slot. Each unset variable costs one context lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from mm_bybit.errors import Fenced

SEND_GATE: ContextVar[Callable[[], bool] | None] = ContextVar("mm_bybit_send_gate", default=None)
SEND_OBSERVER: ContextVar[Callable[[], None] | None] = ContextVar(
    "mm_bybit_send_observer", default=None
)


def check_send_gate(what: str) -> None:
    """Raise `Fenced` when the current send gate refuses; otherwise tell the observer, if any,
    that the request leaves now. Every attempt that leaves calls it (a resend after a 10006, a
    batch split to fit the budget): the observer keeps what it needs."""
    gate = SEND_GATE.get()
    if gate is not None and not gate():
        raise Fenced(f"{what}: not sent, the send gate refused it (lease no longer held)")
    observer = SEND_OBSERVER.get()
    if observer is not None:
        observer()
