"""pytest plugin (loaded with `-p mm_runtime.testing.plugin`): a real NATS server per test.

`nats_server` starts the nats-server binary with JetStream on a free loopback port and its own store
directory, waits until it accepts connections and stops it afterwards. When the binary is missing
the test is skipped, except under `CI=true`, where it fails: CI must never turn green by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mm_runtime.nats_server import NatsServer, NatsServerError


def _start_or_skip(store_dir: Path) -> NatsServer:
    try:
        server = NatsServer(store_dir)
        server.start()
    except NatsServerError as error:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI requires a real NATS server: {error}")
        pytest.skip(str(error))
    return server


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh nats-server with JetStream for one test."""
    server = _start_or_skip(tmp_path / "nats")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def nats_server_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """One nats-server shared by the tests of a module (faster where isolation is not needed)."""
    server = _start_or_skip(tmp_path_factory.mktemp("nats"))
    yield server
    server.stop()
