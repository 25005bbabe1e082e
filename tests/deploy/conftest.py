"""A real nats-server running the generated least-privilege config, and clients per user."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from nats.aio.client import Client

from mm_runtime.bus_auth import BusCredentials, prepare_bus_credentials
from mm_runtime.nats_server import NatsServer, NatsServerError

ConnectAs = Callable[[str], Awaitable["UserClient"]]


class UserClient:
    """A nats-py client connected as one bus user, keeping every asynchronous error it got."""

    def __init__(self, user: str) -> None:
        self.user = user
        self.errors: list[Exception] = []
        self.client = Client()

    async def on_error(self, error: Exception) -> None:
        self.errors.append(error)

    def violations(self) -> list[str]:
        return [
            str(error) for error in self.errors if "permissions violation" in str(error).lower()
        ]


@pytest.fixture(scope="module")
def bus_credentials(tmp_path_factory: pytest.TempPathFactory) -> BusCredentials:
    return prepare_bus_credentials(tmp_path_factory.mktemp("bus"))


@pytest.fixture(scope="module")
def secured_nats(
    bus_credentials: BusCredentials, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NatsServer]:
    """One nats-server per module with the generated users and permissions."""
    server = NatsServer(
        tmp_path_factory.mktemp("nats-secured"), config_file=bus_credentials.config_path
    )
    try:
        server.start()
    except NatsServerError as error:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI requires a real NATS server: {error}")
        pytest.skip(str(error))
    yield server
    server.stop()


@pytest.fixture
async def connect_as(
    secured_nats: NatsServer, bus_credentials: BusCredentials
) -> AsyncIterator[ConnectAs]:
    """Connect as a named user with the password from its generated file."""
    opened: list[UserClient] = []

    async def connect(user: str) -> UserClient:
        holder = UserClient(user)
        password = bus_credentials.password_files[user].read_text().strip()
        await holder.client.connect(
            secured_nats.url,
            user=user,
            password=password,
            name=f"test-{user}",
            error_cb=holder.on_error,
            allow_reconnect=False,
        )
        opened.append(holder)
        return holder

    yield connect
    for holder in opened:
        if not holder.client.is_closed:
            await holder.client.close()
