"""How the `mm` command reaches the bus: a bounded first connection and a clear error without one.

nats-py retries a refused first connection 60 times two seconds apart by default, printing a
traceback for each; an operator typing `mm status` at a stopped stack would wait two minutes.
Every `mm` command connects through `connect`, which gives up after CONNECT_TIMEOUT_S and raises
`BusUnreachableError` naming the URL and the last reason nats-py saw; the half-made connection is
closed, so no socket is left to the garbage collector.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import nats
from nats.aio.client import Client

from mm_runtime.bus import server_list

CONNECT_TIMEOUT_S = 3.0


class BusUnreachableError(Exception):
    """No NATS server accepted the connection (the stack is stopped, the URL or login is wrong)."""


async def connect(
    nats_url: str,
    name: str,
    options: dict[str, Any],
    *,
    on_error: Callable[[Exception], Awaitable[None]] | None = None,
    keep_reconnecting: bool = False,
) -> Client:
    """A connection to `nats_url` with `options` (the operator's credentials), or
    BusUnreachableError. Errors after connecting (a permissions violation) go to `on_error`, by
    default one line on stderr. `keep_reconnecting` is for views that outlive a NATS restart."""
    seen: list[Exception] = []
    connected = asyncio.Event()

    async def note(error: Exception) -> None:
        if not connected.is_set():
            seen[:] = [error]  # nats-py would print each with a traceback; the last is the reason
        elif on_error is not None:
            await on_error(error)
        else:
            print(f"mm: bus error: {error}", file=sys.stderr)

    client = Client()
    try:
        await asyncio.wait_for(
            client.connect(
                server_list(nats_url),
                name=name,
                connect_timeout=2,
                allow_reconnect=keep_reconnecting,
                max_reconnect_attempts=-1 if keep_reconnecting else 1,
                error_cb=note,
                **options,
            ),
            CONNECT_TIMEOUT_S,
        )
    except (OSError, TimeoutError, ValueError, nats.errors.Error) as error:
        # A connect cut off mid-handshake leaves its socket open inside the client: close it.
        await close_quietly(client)
        last = seen[-1] if seen else error
        reason = str(last) or type(last).__name__
        raise BusUnreachableError(
            f"no NATS server at {nats_url}: {reason} "
            f"(gave up after {CONNECT_TIMEOUT_S:g} s; is the stack running?)"
        ) from None
    connected.set()
    return client


async def close_quietly(client: Client) -> None:
    """Close a client whatever state its connect left it in (its socket is released)."""
    with contextlib.suppress(Exception):
        await client.close()
