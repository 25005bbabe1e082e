"""The embedded default stack that `mm run` starts: NATS, the exchange simulator, the services.

Everything lives under one run directory (default `.run/`): the NATS store, each child's log, and
the simulator's API key and secret and its admin token, generated on first run and handed to the
simulator and the services as `*_FILE` paths, never as literals. Every part listens on loopback
only (NATS's monitor port too: nats-server binds it to the `-a` host). Ports are fixed per stack
so that a person can find `/metrics` and the simulator; a `base_port` shifts all of them at once.
The services, their start order and which of them reach the venue come from the service registry
(`mm_proto.services`); a layout given another registry (a test's toy service) starts that one.
With `nats_nodes=3` (`mm run --nats-cluster 3`) the bus is a three-node JetStream cluster on
loopback (`mm_runtime.nats_cluster`): children `nats-1`..`nats-3`, each with its own store, the
services given every node's URL and told to keep each stream and bucket on all three. With
`monitoring` (`mm run --monitoring`) Prometheus and Alertmanager run too (`mm_cli.monitoring`).
The rollout controller (`mm rollout run`, child `rollout`) runs after the services, restarted
like them when it dies: without it a ramping rollout goes unjudged and the quoter quotes blue.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from mm_cli.monitoring import monitoring_specs
from mm_cli.supervisor import ChildSpec
from mm_proto.rollout import LOOK_INTERVAL_S
from mm_proto.services import REGISTRY, Registry, Service, VenueAccess
from mm_runtime.bus_auth import BusCredentials, connect_options, prepare_bus_credentials
from mm_runtime.nats_cluster import CLUSTER_SIZES, ClusterNode, server_urls, write_node_configs
from mm_runtime.nats_server import find_binary

SERVICES = REGISTRY.names  # in start order
CONTROLLER = "rollout"  # the rollout controller's child, started after the services
PORT_BLOCK = 31  # base .. base+30: NATS, monitor, simulator and the services' side ports
SERVICE_PORT_OFFSET = 20  # the services' side ports: base+20 onwards, in registry order
# Each NATS node's (client, monitor, route) port offsets; a single server is the first.
NODE_PORT_OFFSETS = ((2, 3, 11), (4, 6, 12), (5, 7, 13))
SHARD_PORT_OFFSET = 14  # side ports of the second and later replicas of leased services
MAX_SHARDS = 2
# Lease mode in the local stack: short enough that a drill sees the takeover within seconds.
SHARD_LEASE_TTL_S = "3"
DEMO_MAKER_FEE_RATE = "-0.00005"
# The local demo quotes closer than the production defaults so that fills happen within a minute
# of a simulated market; everything else runs on the services' defaults. Two symbols share the
# account's order budget, which the simulator keeps at Bybit's default tier (10 per second per
# order endpoint): each symbol's ladders go out at most once a second (a pull, a dropped side or
# the first ladder after a fill at once), and obligations are measured so `mm gate` has the
# coverage it judges (docs/benchmarks.md, "the shipped settings").
DEMO_SETTINGS = {
    "quoter": {
        "QUOTER_PARAMS__MIN_SPREAD_BPS": "0.3",
        "QUOTER_PARAMS__K_VOLA_SPREAD": "0.1",
        "QUOTER_PARAMS__REFRESH_PRICE_TICKS": "2",
        "QUOTER_PARAMS__MIN_REQUOTE_INTERVAL_MS": "1000",
        "QUOTER_PARAMS__OBLIGATION_ENABLED": "true",
        "QUOTER_PARAMS__OBLIGATION_NOTIONAL_5BPS": "10",
        "QUOTER_PARAMS__OBLIGATION_NOTIONAL_10BPS": "20",
    },
    "md_gateway": {"MD_GATEWAY_INSTRUMENT_INTERVAL_S": "10"},
    # Snapshots every 10 s so that the live view and `mm report` move while one watches.
    "ledger": {"LEDGER_SNAPSHOT_INTERVAL_S": "10"},
    # The policy decides every 10 s too, in dry run (its default): it publishes what it would
    # change and writes nothing until `mm config set policy.default '{"mode": "on"}'`.
    "policy": {"POLICY_EVALUATE_INTERVAL_S": "10"},
}


@dataclass(frozen=True)
class StackLayout:
    """Where the stack's parts listen and keep their files."""

    run_dir: Path
    base_port: int = 14220
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    registry: Registry = field(default=REGISTRY, repr=False)
    nats_nodes: int = 1  # 1: one nats-server; 3: a JetStream cluster on loopback
    monitoring: bool = False  # Prometheus and Alertmanager too (`mm_cli.monitoring`)
    alert_webhook: str = ""  # where Alertmanager delivers ("" keeps alerts in its UI)
    shards: int = 1  # >1: that many replicas of each leased service, sharing symbols by lease

    def __post_init__(self) -> None:
        if self.nats_nodes not in CLUSTER_SIZES:
            raise ValueError(f"nats_nodes must be one of {CLUSTER_SIZES}, was {self.nats_nodes}")
        if not 1 <= self.shards <= MAX_SHARDS:
            raise ValueError(f"shards must be 1..{MAX_SHARDS}, was {self.shards}")
        if SERVICE_PORT_OFFSET + len(self.registry) > PORT_BLOCK:
            raise ValueError(
                f"the port block holds {PORT_BLOCK - SERVICE_PORT_OFFSET} services' side ports, "
                f"the registry has {len(self.registry)}"
            )

    @property
    def nats_port(self) -> int:
        return self.base_port + 2

    @property
    def nats_url(self) -> str:
        """The bus: one URL, or every node's separated by commas (`mm_runtime.bus.server_list`)."""
        return server_urls(self.nats_cluster)

    @property
    def nats_cluster(self) -> list[ClusterNode]:
        """The NATS nodes (one for a single server)."""
        return [
            ClusterNode(index + 1, *(self.base_port + offset for offset in offsets))
            for index, offsets in enumerate(NODE_PORT_OFFSETS[: self.nats_nodes])
        ]

    def nats_child(self, node: ClusterNode) -> str:
        """The supervisor's name for a node's process: `nats` alone, `nats-<n>` in a cluster."""
        return "nats" if self.nats_nodes == 1 else f"nats-{node.index}"

    @property
    def sim_port(self) -> int:
        return self.base_port + 10

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    @property
    def prometheus_port(self) -> int:
        return self.base_port + 8

    @property
    def alertmanager_port(self) -> int:
        return self.base_port + 9

    def shard_port(self, service: str, index: int) -> int:
        """The side port of replica `index` (1-based beyond the first) of a leased service."""
        leased = [item.name for item in self.registry if item.leases]
        slot = leased.index(service) * (MAX_SHARDS - 1) + index - 1
        if SHARD_PORT_OFFSET + slot >= SERVICE_PORT_OFFSET:
            raise ValueError(f"no side port left for replica {index + 1} of {service}")
        return self.base_port + SHARD_PORT_OFFSET + slot

    def http_port(self, service: str) -> int:
        return self.base_port + SERVICE_PORT_OFFSET + self.registry.names.index(service)

    @property
    def bus_dir(self) -> Path:
        return self.run_dir / "bus"

    def operator_auth(self) -> dict[str, str]:
        """Connection options for operator tools: the `operator` user of the bus."""
        return connect_options(self.bus_dir)

    @property
    def log_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def secrets_dir(self) -> Path:
        return self.run_dir / "secrets"

    @property
    def sim_admin_token_file(self) -> Path:
        return self.secrets_dir / "sim_admin_token"

    def sim_admin_headers(self) -> dict[str, str]:
        """The header `/sim/admin` requires (chaos drills and audits use it)."""
        token = self.sim_admin_token_file.read_text(encoding="utf-8").strip()
        return {"Authorization": f"Bearer {token}"}


def free_base_port(attempts: int = 50) -> int:
    """A base port whose whole block (base .. base+30) is free on loopback right now."""
    # Below the kernel's ephemeral range (32768.. on Linux by default): a port there can be taken
    # as an outgoing connection's source port between this check and a child's bind.
    blocks = max(1, (_ephemeral_floor() - PORT_BLOCK - 20_000) // 50)
    for _ in range(attempts):
        base = 20_000 + 50 * secrets.randbelow(blocks)
        if all(_port_free(base + offset) for offset in range(PORT_BLOCK)):
            return base
    raise RuntimeError(f"expected a free block of {PORT_BLOCK} loopback ports, found none")


def _ephemeral_floor() -> int:
    """The lowest port the kernel hands out to outgoing connections (32768 if it can't say)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def ensure_credentials(layout: StackLayout) -> tuple[Path, Path, Path]:
    """The simulator account's key and secret files (and the simulator's key list), created once
    with owner-only access."""
    layout.secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_file = layout.secrets_dir / "api_key"
    secret_file = layout.secrets_dir / "api_secret"
    keys_file = layout.secrets_dir / "sim_api_keys.json"
    for path, value in (
        (key_file, "mm-" + secrets.token_hex(8)),
        (secret_file, secrets.token_hex(24)),
        (layout.sim_admin_token_file, secrets.token_urlsafe(24)),
    ):
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(value)
    keys = [{"key": key_file.read_text(), "secret": secret_file.read_text(), "uid": 1001}]
    keys_file.touch(mode=0o600)
    keys_file.write_text(json.dumps(keys))
    return key_file, secret_file, keys_file


STARTED = "/startedz"  # a service's start has finished: its ctl handlers listen (mm_runtime.health)


def _http_ready(port: int, path: str) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.5)) as session,
                session.get(f"http://127.0.0.1:{port}{path}") as reply,
            ):
                return reply.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    return probe


def build_stack(layout: StackLayout) -> list[ChildSpec]:
    """The children in start order."""
    key_file, secret_file, keys_file = ensure_credentials(layout)
    bus = prepare_bus_credentials(layout.bus_dir, layout.registry)
    specs = _nats_specs(layout, bus)
    specs += [
        ChildSpec(
            name="sim",
            argv=[sys.executable, "-m", "mm_sim"],
            env={
                "MM_SIM_HOST": "127.0.0.1",
                "MM_SIM_PORT": str(layout.sim_port),
                "MM_SIM_API_KEYS_FILE": str(keys_file),
                "MM_SIM_ADMIN_TOKEN_FILE": str(layout.sim_admin_token_file),
                # A market-maker-program account: makers earn a rebate, as the strategy assumes.
                "MM_SIM_MAKER_FEE_RATE": DEMO_MAKER_FEE_RATE,
            },
            http_port=layout.sim_port,
            ready=_http_ready(layout.sim_port, "/v5/market/time"),
            with_previous=True,  # the simulator needs no bus: it starts beside NATS
        ),
    ]
    services: list[ChildSpec] = []
    for service in layout.registry:
        spec = _service_spec(layout, service, bus, key_file, secret_file)
        services += shard_specs(layout, service, spec) if layout.shards > 1 else [spec]
    # Together, once NATS and the simulator answer: the services wait for each other's facts on
    # the bus themselves. Each is ready on /startedz, which answers once its start has finished
    # (ctl handlers listening), so `mm` commands that follow the start find every service.
    for spec in services[1:]:
        spec.with_previous = True
    specs += services
    specs.append(controller_spec(layout))
    if layout.monitoring:
        specs += monitoring_specs(layout, _http_ready)
    return specs


def controller_spec(layout: StackLayout, interval_s: float = LOOK_INTERVAL_S) -> ChildSpec:
    """The rollout controller (`mm rollout run`) as the operator's bus user: it idles while no
    rollout ramps, and the quoters put green back on blue when it stops looking. The quoters'
    `rollout_look_interval_s` must be `interval_s` too."""
    argv = [sys.executable, "-m", "mm_cli", "rollout", "run", "--interval", f"{interval_s:g}"]
    argv += ["--nats", layout.nats_url, "--bus-dir", str(layout.bus_dir)]
    return ChildSpec(name=CONTROLLER, argv=argv)


def _service_spec(
    layout: StackLayout, service: Service, bus: BusCredentials, key_file: Path, secret_file: Path
) -> ChildSpec:
    """One service's process: `python -m <name>` with its bus user, ports and venue access."""
    prefix = service.env_prefix
    port = layout.http_port(service.name)
    env = {
        prefix + "NATS__URL": layout.nats_url,
        prefix + "NATS__REPLICAS": str(layout.nats_nodes),
        prefix + "HTTP__PORT": str(port),
        prefix + "SYMBOLS": ",".join(layout.symbols),
    }
    env.update(bus.service_environment[service.name])
    env.update(DEMO_SETTINGS.get(service.name, {}))
    if service.venue is not VenueAccess.NONE:
        env[prefix + "VENUE__REST_URL"] = layout.sim_url
        env[prefix + "VENUE__WS_URL"] = layout.sim_url.replace("http://", "ws://")
    if service.keeps_files:
        env[prefix + "DIR"] = str(layout.run_dir / "data" / service.name)
    if service.name == "ledger":  # each completed week's rollup (`mm report --weekly --file`)
        env[prefix + "WEEKLY_DIR"] = str(layout.run_dir / "weekly")
    if service.venue is VenueAccess.TRADING:  # holds the account's keys
        env[prefix + "VENUE__API_KEY_FILE"] = str(key_file)
        env[prefix + "VENUE__API_SECRET_FILE"] = str(secret_file)
    return ChildSpec(
        name=service.name,
        argv=[sys.executable, "-m", service.name],
        env=env,
        http_port=port,
        ready=_http_ready(port, STARTED),
    )


def shard_specs(layout: StackLayout, service: Service, spec: ChildSpec) -> list[ChildSpec]:
    """A leased service as `layout.shards` replicas in lease mode (`mm_runtime.symbol_lease`):
    `<name>` is instance `1`, `<name>-2` instance `2`, each with the whole symbol list."""
    if not service.leases:
        return [spec]
    prefix, count = service.env_prefix, layout.shards
    replicas = [str(index + 1) for index in range(count)]
    specs = []
    for index, instance in enumerate(replicas):
        port = spec.http_port if index == 0 else layout.shard_port(service.name, index)
        env = spec.env | {
            prefix + "INSTANCE_ID": instance,
            prefix + "HTTP__PORT": str(port),
            prefix + "LEASE__ENABLED": "true",
            prefix + "LEASE__REPLICAS": ",".join(replicas),
            prefix + "LEASE__TTL_S": SHARD_LEASE_TTL_S,
        }
        name = service.name if index == 0 else f"{service.name}-{index + 1}"
        specs.append(
            dataclasses.replace(
                spec, name=name, env=env, http_port=port, ready=_http_ready(port, STARTED)
            )
        )
    return specs


def _nats_specs(layout: StackLayout, bus: BusCredentials) -> list[ChildSpec]:
    """One nats-server per node. A cluster node's config adds its routes and includes the bus's
    users; every node but the last is ready once it serves JetStream, the last once every node
    is healthy (a JetStream leader elected), so services start on a working cluster."""
    nodes = layout.nats_cluster
    configs = [bus.config_path]
    if len(nodes) > 1:
        configs = write_node_configs(layout.bus_dir, nodes, include=bus.config_path.name)
    specs = []
    for node, config in zip(nodes, configs, strict=True):
        store = layout.run_dir / ("nats" if len(nodes) == 1 else f"nats-{node.index}")
        argv = [str(find_binary()), "-a", "127.0.0.1", "-p", str(node.port), "-js"]
        argv += ["-sd", str(store), "-m", str(node.monitor_port), "-c", str(config)]
        last = node == nodes[-1]
        ready = _all_healthy(nodes) if last else _http_ready(node.monitor_port, JS_ENABLED)
        specs.append(
            ChildSpec(layout.nats_child(node), argv, http_port=node.monitor_port, ready=ready)
        )
    return specs


JS_ENABLED = "/healthz?js-enabled-only=true"


def _all_healthy(nodes: list[ClusterNode]) -> Callable[[], Awaitable[bool]]:
    probes = [_http_ready(node.monitor_port, "/healthz") for node in nodes]

    async def probe() -> bool:
        return all([await each() for each in probes])

    return probe
