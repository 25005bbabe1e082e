"""Which symbols one gateway replica owns: a stable `--shard i/n` split of the symbol list.

A symbol's owner depends only on the symbol and `n` (CRC-32 of its name modulo `n`), never on the
rest of the list, so adding or removing a symbol never moves the others between replicas. CRC-32 is
the same in every process and Python version, unlike `hash()`, which is salted per process.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Replica `index` of `count` (0 <= index < count)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(
                f"shard must be i/n with n >= 1 and 0 <= i < n, was {self.index}/{self.count}"
            )

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, symbol: str) -> bool:
        """True when this replica publishes `symbol`."""
        return zlib.crc32(symbol.encode()) % self.count == self.index


WHOLE = Shard(0, 1)


def parse_shard(text: str) -> Shard:
    """Read "i/n" (e.g. "0/3"); ValueError naming the expected form otherwise."""
    match = _SHARD.match(text)
    if match is None:
        raise ValueError(f"shard must look like i/n (e.g. 0/3), was {text!r}")
    return Shard(int(match.group(1)), int(match.group(2)))


def shard_symbols(symbols: Iterable[str], shard: Shard) -> list[str]:
    """The symbols `shard` owns, in their given order."""
    return [symbol for symbol in symbols if shard.owns(symbol)]
