"""Client order ids: unique per create attempt, never repeated across restarts.

An id is `<prefix>-<instance>-<boot>-<counter>`: `boot` is the process start in milliseconds
written in base 36, so a process restarted after SIGKILL (which loses the counter) still never
repeats an id of an earlier life; `counter` is per process. A retry of the same create attempt
reuses its id, which is what makes the retry safe: the venue refuses a second order with the same
client order id (110072). Ids stay within the venue's limit (`CLIENT_ORDER_ID_MAX_LENGTH`).

The order's color (the parameter set it belongs to) rides in the id, so that whoever reads the
venue's orders and executions (a restarted executor, the ledger) recovers it: a color other than
the default `blue` is appended to the counter as `_<color>` (`mm-ex0-lq3k2a-1f_green`); an id
without one is `blue`.
"""

from __future__ import annotations

import functools
import itertools
import re
import time

from mm_bybit.order_requests import CLIENT_ORDER_ID_MAX_LENGTH as MAX_LENGTH
from mm_proto import DEFAULT_COLOR

_ALLOWED = re.compile(r"[A-Za-z0-9_]+")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_COLOR = re.compile(r"[a-z0-9]{1,8}")


def base36(value: int) -> str:
    """Write a non-negative integer in base 36 (lowercase)."""
    if value < 0:
        raise ValueError(f"base36 needs a non-negative integer, was {value}")
    text = ""
    while True:
        value, digit = divmod(value, 36)
        text = _DIGITS[digit] + text
        if value == 0:
            return text


class ClientIdFactory:
    """Makes the client order ids of one executor process; recognises those of earlier ones."""

    def __init__(self, prefix: str, instance_id: str, boot_ms: int | None = None) -> None:
        for name, value in (("prefix", prefix), ("instance_id", instance_id)):
            if not _ALLOWED.fullmatch(value):
                raise ValueError(f"client id {name} must be letters, digits or '_', was {value!r}")
        self.owner = f"{prefix}-{instance_id}-"
        boot = time.time_ns() // 1_000_000 if boot_ms is None else boot_ms
        self.boot = base36(boot)
        self._counter = itertools.count(1)
        # The longest counter we allow still fits: 36 - owner - boot - one separator.
        room = MAX_LENGTH - len(self.owner) - len(self.boot) - 1
        if room < 6:
            raise ValueError(
                f"prefix and instance_id leave {room} characters for the counter, expected >= 6 "
                f"(a client order id is at most {MAX_LENGTH}); shorten {self.owner!r}"
            )
        self._max_counter = 36**room - 1

    def next_id(self, color: str = DEFAULT_COLOR) -> str:
        """A fresh id for one create attempt of an order of `color`."""
        if not _COLOR.fullmatch(color):
            raise ValueError(f"color must be 1-8 lowercase letters or digits, was {color!r}")
        counter = next(self._counter)
        if counter > self._max_counter:
            raise OverflowError(f"client id counter passed {self._max_counter}; restart")
        client_id = f"{self.owner}{self.boot}-{base36(counter)}"
        if color != DEFAULT_COLOR:
            client_id += f"_{color}"
        if len(client_id) > MAX_LENGTH:
            raise ValueError(
                f"color {color!r} makes client order id {client_id!r} {len(client_id)} characters, "
                f"expected <= {MAX_LENGTH}; shorten the prefix or instance id"
            )
        return client_id

    def is_own(self, client_order_id: str) -> bool:
        """True for ids made by this executor instance in this or any earlier process."""
        return client_order_id.startswith(self.owner)


@functools.lru_cache(maxsize=4096)  # read per order on every plan and push; ids repeat
def color_of(client_order_id: str) -> str:
    """The color written into a client order id by `next_id`; `blue` for any other id."""
    last = client_order_id.rsplit("-", 1)[-1]
    _, separator, color = last.partition("_")
    if separator and _COLOR.fullmatch(color):
        return color
    return DEFAULT_COLOR
