"""The stack drills and soaks run: `mm run`'s children (through `mm_cli.stack`) with trading
settings that produce fills, and optionally a quoter a drill can make fail.

With `quoter_fault_hook` the quoter is started through the test-only `mm_soak.quoter_fault`, so a
drill can make it raise on every tick. `rollout_look_interval_s` runs the rollout controller (and
tells the quoters) at another look interval, so a test of a rollout need not wait 5 s a look.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nats.aio.client import Client

from mm_cli import stack
from mm_cli.local_stack import controller_spec
from mm_proto.rollout import LOOK_INTERVAL_S
from mm_soak.quote_watch import QuoteWatch

# A venue that pays a maker rebate and a quoter that quotes near the touch, so the market model's
# trades fill us: drills then have fills and positions to audit, not just resting orders. No
# requote floor and no obligations (what `mm run`'s demo sets for the venue's order budget):
# the drills and system tests time how soon quotes follow the market.
TRADING_ENV: dict[str, dict[str, str]] = {
    "sim": {"MM_SIM_MAKER_FEE_RATE": "-0.00005"},
    "quoter": {
        "QUOTER_MAKER_FEE_RATE": "-0.00005",
        "QUOTER_PARAMS__MIN_SPREAD_BPS": "0.1",
        "QUOTER_PARAMS__K_VOLA_SPREAD": "0.1",
        "QUOTER_PARAMS__MIN_REQUOTE_INTERVAL_MS": "0",
        "QUOTER_PARAMS__OBLIGATION_ENABLED": "false",
    },
}


@dataclass
class StackOptions:
    """What differs from `mm run`: symbols, a fixed secret, extra environment per child."""

    run_dir: Path
    base_port: int = 15220
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    api_secret: str = ""  # "" keeps the generated one; a canary value is written before start
    env: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: TRADING_ENV)
    ready_timeout_s: float = 45.0
    quoter_fault_hook: bool = False  # quoter via mm_soak.quoter_fault (drills only)
    nats_nodes: int = 1  # 3: the bus is a JetStream cluster (`StackLayout.nats_nodes`)
    monitoring: bool = False  # Prometheus and Alertmanager too (`mm_cli.monitoring`)
    alert_webhook: str = ""
    shards: int = 1  # 2: two executor replicas in lease mode (`StackLayout.shards`)
    # The rollout controller's look interval, given to the controller and the quoters alike.
    rollout_look_interval_s: float = LOOK_INTERVAL_S


class LocalStack(stack.LocalStack):
    """The public local stack, started with a soak's options."""

    def __init__(self, options: StackOptions) -> None:
        layout = stack.StackLayout(
            run_dir=options.run_dir.resolve(),
            base_port=options.base_port,
            symbols=options.symbols,
            nats_nodes=options.nats_nodes,
            monitoring=options.monitoring,
            alert_webhook=options.alert_webhook,
            shards=options.shards,
        )
        env = {name: dict(values) for name, values in options.env.items()}
        argv: dict[str, list[str]] = {}
        if options.quoter_fault_hook:
            fault_file = layout.run_dir / "quoter-fault"
            argv["quoter"] = [sys.executable, "-m", "mm_soak.quoter_fault"]
            env["quoter"] = {**env.get("quoter", {}), "MM_SOAK_QUOTER_FAULT_FILE": str(fault_file)}
        if options.rollout_look_interval_s != LOOK_INTERVAL_S:
            interval = options.rollout_look_interval_s
            argv[stack.CONTROLLER] = controller_spec(layout, interval).argv
            look = {"QUOTER_ROLLOUT_LOOK_INTERVAL_S": f"{interval:g}"}
            env["quoter"] = {**env.get("quoter", {}), **look}
        super().__init__(layout, env, argv, options.api_secret, options.ready_timeout_s)
        self.options = options
        # The quote watch judging this stack, so a cluster drill can keep its eyes off the node
        # it hurts (`mm_soak.cluster_drills.freeze_leader`); set by `mm_soak.running`.
        self.watch: QuoteWatch | None = None
        self.watch_clients: list[Client] = []  # made by `connect_avoiding`; closed at the end

    async def connect_avoiding(self, node_port: int) -> Client:
        """A bus connection as the operator to every node but the one on `node_port`."""
        urls = [node.url for node in self.layout.nats_cluster if node.port != node_port]
        client = await self.connect("mm-stack-watch", urls)
        self.watch_clients.append(client)
        return client

    @property
    def quoter_fault_file(self) -> Path | None:
        """While this file exists the hooked quoter raises on every tick (None: no hook)."""
        if not self.options.quoter_fault_hook:
            return None
        return self.layout.run_dir / "quoter-fault"
