"""The embedded default stack that `mm run` starts: NATS, the exchange simulator, the services.

Everything lives under one run directory (default `.run/`): the NATS store, each child's log, and
the simulator's API key and secret and its admin token, generated on first run and handed to the
simulator and the services as `*_FILE` paths, never as literals. Every part listens on loopback
only (NATS's monitor port too: nats-server binds it to the `-a` host). Ports are fixed per stack
so that a person can find `/metrics` and the simulator; a `base_port` shifts all of them at once.
The services, their start order and which of them reach the venue come from the service registry
(`mm_proto.services`); a layout given another registry (a test's toy service) starts that one.
"""

from __future__ import annotations

import json
import secrets
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from mm_cli.supervisor import ChildSpec
from mm_proto.services import REGISTRY, Registry, Service, VenueAccess
from mm_runtime.bus_auth import BusCredentials, connect_options, prepare_bus_credentials
from mm_runtime.nats_server import find_binary

SERVICES = REGISTRY.names  # in start order
PORT_BLOCK = 31  # base .. base+30: NATS, monitor, simulator and the services' side ports
SERVICE_PORT_OFFSET = 20  # the services' side ports: base+20 onwards, in registry order
DEMO_MAKER_FEE_RATE = "-0.00005"
# The local demo quotes closer than the production defaults so that fills happen within a minute
# of a simulated market; everything else runs on the services' defaults.
DEMO_SETTINGS = {
    "quoter": {
        "QUOTER_PARAMS__MIN_SPREAD_BPS": "0.1",
        "QUOTER_PARAMS__K_VOLA_SPREAD": "0.1",
        "QUOTER_PARAMS__REFRESH_PRICE_TICKS": "2",
    },
    "md_gateway": {"MD_GATEWAY_INSTRUMENT_INTERVAL_S": "10"},
    # Snapshots every 10 s so that the live view and `mm report` move while one watches.
    "ledger": {"LEDGER_SNAPSHOT_INTERVAL_S": "10"},
}


@dataclass(frozen=True)
class StackLayout:
    """Where the stack's parts listen and keep their files."""

    run_dir: Path
    base_port: int = 14220
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    registry: Registry = field(default=REGISTRY, repr=False)

    def __post_init__(self) -> None:
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
        return f"nats://127.0.0.1:{self.nats_port}"

    @property
    def sim_port(self) -> int:
        return self.base_port + 10

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

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
    specs = [
        ChildSpec(
            name="nats",
            argv=[
                str(find_binary()),
                "-a",
                "127.0.0.1",
                "-p",
                str(layout.nats_port),
                "-js",
                "-sd",
                str(layout.run_dir / "nats"),
                "-m",
                str(layout.base_port + 3),
                "-c",
                str(bus.config_path),
            ],
            http_port=layout.base_port + 3,
            ready=_http_ready(layout.base_port + 3, "/healthz"),
        ),
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
        ),
    ]
    specs += [
        _service_spec(layout, service, bus, key_file, secret_file) for service in layout.registry
    ]
    return specs


def _service_spec(
    layout: StackLayout, service: Service, bus: BusCredentials, key_file: Path, secret_file: Path
) -> ChildSpec:
    """One service's process: `python -m <name>` with its bus user, ports and venue access."""
    prefix = service.env_prefix
    port = layout.http_port(service.name)
    env = {
        prefix + "NATS__URL": layout.nats_url,
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
    if service.venue is VenueAccess.TRADING:  # holds the account's keys
        env[prefix + "VENUE__API_KEY_FILE"] = str(key_file)
        env[prefix + "VENUE__API_SECRET_FILE"] = str(secret_file)
    return ChildSpec(
        name=service.name,
        argv=[sys.executable, "-m", service.name],
        env=env,
        http_port=port,
        ready=_http_ready(port, "/healthz"),
    )
