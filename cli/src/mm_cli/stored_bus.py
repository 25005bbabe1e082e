"""A stopped stack's JetStream store, served on a private port just long enough to read it.

`mm report` and `mm gate` read the ledger's KPI stream from the running bus; when the stack is
stopped they start a nats-server of their own on its store (`<run_dir>/nats`, with the stack's
`bus/nats.conf` so the operator's credentials still work) and stop it once read.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mm_runtime.nats_server import NatsServer


@contextmanager
def served_store(run_dir: Path) -> Iterator[str]:
    """The URL of a private nats-server on `run_dir`'s store, stopped on leaving the block."""
    config = run_dir / "bus" / "nats.conf"
    with tempfile.TemporaryDirectory() as scratch:
        server = NatsServer(
            run_dir / "nats",
            config_file=config if config.is_file() else None,
            log_file=Path(scratch) / "nats-server.log",
        )
        server.start()
        try:
            yield server.url
        finally:
            server.stop()
