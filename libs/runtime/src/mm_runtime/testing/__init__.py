"""Test support shared by every package: the real NATS server and waiting for state."""

from mm_runtime.nats_server import NatsServer, NatsServerError, find_binary, free_port
from mm_runtime.testing.supervision import kill_and_watch_it_return
from mm_runtime.testing.waiting import eventually

__all__ = [
    "NatsServer",
    "NatsServerError",
    "eventually",
    "find_binary",
    "free_port",
    "kill_and_watch_it_return",
]
