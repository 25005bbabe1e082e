"""Test-only: the quoter with one fault hook, for the drill whose quoter raises on every tick.

`python -m mm_soak.quoter_fault` runs the real quoter (`quoter.service.run`, settings from the
environment as `python -m quoter` does) with `SymbolQuoter.target_ladder` wrapped: while the file
named by `MM_SOAK_QUOTER_FAULT_FILE` exists, every ladder computation raises `OverflowError`, as
a stored `max_inventory: Infinity` made every tick raise. Without the file it is the plain quoter.
Only the drill harness (`mm_soak.stack`) starts it; nothing in the services knows of it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mm_runtime.lifecycle import main
from quoter import strategy
from quoter.service import run
from quoter.settings import QuoterSettings

FAULT_FILE_ENV = "MM_SOAK_QUOTER_FAULT_FILE"


def install(flag: Path) -> None:
    """Make every ladder computation raise while `flag` exists."""
    original = strategy.SymbolQuoter.target_ladder

    def target_ladder(self: strategy.SymbolQuoter, now_ns: int) -> Any:
        if flag.exists():
            raise OverflowError("drill fault: the quoter raises on every tick")
        return original(self, now_ns)

    strategy.SymbolQuoter.target_ladder = target_ladder  # type: ignore[method-assign]


if __name__ == "__main__":
    install(Path(os.environ[FAULT_FILE_ENV]))
    main(QuoterSettings, run)
