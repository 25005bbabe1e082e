"""Fixtures for the deploy tests: a real nats-server on the generated least-privilege config,
clients per bus user, and the metric names the services really export."""

from __future__ import annotations

import importlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from nats.aio.client import Client
from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

from mm_runtime.bus_auth import BusCredentials, inbox_prefix, prepare_bus_credentials
from mm_runtime.loop_metrics import LoopCounter, LoopHistogram
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
            inbox_prefix=inbox_prefix(user),
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


# Each service's metrics live in one class created on the service's registry (plus the runtime's).
METRIC_CLASSES = (
    ("mm_runtime.metrics", "RuntimeMetrics"),
    ("md_gateway.metrics", "GatewayMetrics"),
    ("quoter.metrics", "QuoterMetrics"),
    ("risk.metrics", "RiskMetrics"),
    ("executor.metrics", "ExecutorMetrics"),
    ("mm_runtime.tasks", "TaskSupervisor"),
    ("mm_runtime.lease_keeper", "LeaseMetrics"),  # replicas in lease mode (executor, quoter)
    ("ledger.metrics", "LedgerMetrics"),
    ("recorder.metrics", "RecorderMetrics"),
    ("policy.metrics", "PolicyMetrics"),
)
# The series name suffixes prometheus_client exposes per metric type.
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
}
# Series Prometheus itself adds to every scrape target.
SCRAPE_SERIES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})
TARGET_LABELS = frozenset({"job", "instance"})  # attached by Prometheus to every scraped series


@pytest.fixture(scope="session")
def metric_families() -> dict[str, str]:
    """Every metric family the services define: name -> type, from their real registries."""
    registry = CollectorRegistry()
    for module_name, class_name in METRIC_CLASSES:
        getattr(importlib.import_module(module_name), class_name)(registry)
    return {family.name: family.type for family in registry.collect()}


@pytest.fixture(scope="session")
def series_labels(metric_families: dict[str, str]) -> dict[str, frozenset[str]]:
    """Series name -> the label names it carries (its own, plus those Prometheus attaches)."""
    registry = CollectorRegistry()
    labels: dict[str, frozenset[str]] = {}
    for module_name, class_name in METRIC_CLASSES:
        metrics = getattr(importlib.import_module(module_name), class_name)(registry)
        for metric in vars(metrics).values():
            if isinstance(metric, MetricWrapperBase):
                # prometheus_client has no public accessor for a metric's name, type and labels.
                family, kind = metric._name, metric._type
                own = frozenset(metric._labelnames) | TARGET_LABELS
            elif isinstance(metric, LoopCounter | LoopHistogram):
                family, kind = metric.name, metric.type
                own = frozenset(metric.labelnames) | TARGET_LABELS
            else:
                continue
            for suffix in _SUFFIXES[kind]:
                labels[family + suffix] = own | ({"le"} if suffix == "_bucket" else set())
    for name in SCRAPE_SERIES:
        labels[name] = TARGET_LABELS
    return labels


@pytest.fixture(scope="session")
def exported_series(metric_families: dict[str, str]) -> frozenset[str]:
    """Every series name a scrape of the services can show, plus Prometheus's own."""
    names = {
        family + suffix for family, kind in metric_families.items() for suffix in _SUFFIXES[kind]
    }
    return frozenset(names | SCRAPE_SERIES)
