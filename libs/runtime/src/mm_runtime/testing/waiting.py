"""Waiting for state in tests without bare sleeps: poll a condition until it holds or times out."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


@overload
async def eventually(
    condition: Callable[[], Awaitable[T]],
    timeout: float = ...,  # noqa: ASYNC109
    interval: float = ...,
    message: str = ...,
) -> T: ...


@overload
async def eventually(
    condition: Callable[[], T],
    timeout: float = ...,  # noqa: ASYNC109
    interval: float = ...,
    message: str = ...,
) -> T: ...


async def eventually(
    condition: Callable[[], Any],
    timeout: float = 5.0,  # noqa: ASYNC109 - a deadline on a poll, not on one await
    interval: float = 0.01,
    message: str = "",
) -> Any:
    """Return the first truthy value of `condition()`; raise AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        result = condition()
        last = await result if inspect.isawaitable(result) else result
        if last:
            return last
        if time.monotonic() >= deadline:
            detail = f": {message}" if message else ""
            raise AssertionError(f"condition not met within {timeout}s{detail} (last: {last!r})")
        await asyncio.sleep(interval)
