"""The service registry: each service's place on the bus, written once.

One `Service` per service says: the ctl verbs it answers (`ctl.<name>.<verb>`), the operator
commands the `mm` command sends to it (`halt` goes to risk, the only path to orders), the config
keys it owns in KV `config` (`<config_prefix>.<scope>`; `mm config` routes by that prefix), the KV
buckets it writes, the JetStream streams whose facts only it publishes, the subjects it publishes
and the core subscriptions it reads (besides heartbeats, its own commands and its own inbox, which
every service has), whether it talks to the venue, and whether it is on the tick-to-order path.
Every subject comes from `mm_proto.subjects`; JetStream streams and KV buckets are read through
consumers and watches, which every service may use (see `mm_runtime.bus_auth`).

Everything that needs the list derives it from `REGISTRY`: the bus permissions
(`mm_runtime.bus_auth`), the ctl servers and their refusals (`mm_runtime.control`), the `mm`
command's routing (`mm_cli.operator`), the local stack (`mm_cli.local_stack`) and the latency
benchmark's spans. A new service is one entry here. Code that serves a different set (a test's
toy service) builds `REGISTRY.with_service(...)` and passes it to those same functions.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from mm_proto import subjects
from mm_proto.subjects import CtlVerb


class VenueAccess(enum.Enum):
    """How a service reaches the venue."""

    NONE = "none"
    PUBLIC = "public"  # the venue's URLs: market data, instrument definitions
    TRADING = "trading"  # the URLs and the account's API key and secret


@dataclass(frozen=True)
class Service:
    """One service on the bus; the bus user, the settings prefix and the package share `name`."""

    name: str
    verbs: frozenset[CtlVerb]  # what it answers on ctl.<name>.<verb>
    commands: tuple[CtlVerb, ...] = ()  # the operator's commands routed here (one owner each)
    config_prefix: str | None = None  # owns `<prefix>.<scope>` keys of KV config
    kv_buckets: tuple[str, ...] = ()  # KV buckets it alone writes
    streams: tuple[str, ...] = ()  # JetStream streams whose facts it alone publishes
    publishes: tuple[str, ...] = ()  # subject patterns (its heartbeat comes on top)
    subscribes: tuple[str, ...] = ()  # core subscriptions besides heartbeats, ctl and inbox
    venue: VenueAccess = VenueAccess.NONE
    fast_path: bool = False  # on the per-tick path from the venue's tick to an order
    keeps_files: bool = False  # writes files; the local stack gives it `<PREFIX>DIR` in its run dir
    leases: bool = (
        False  # may run as replicas sharing symbols by lease: writes `<name>.*` of KV leases
    )

    def __post_init__(self) -> None:
        subjects.token(self.name)
        if self.config_prefix is not None:
            subjects.token(self.config_prefix)
        stray = sorted(verb.value for verb in self.commands if verb not in self.verbs)
        if stray:
            raise ValueError(f"{self.name}: commands {stray} must be among the verbs it answers")
        if self.config_prefix and not {CtlVerb.CONFIG_GET, CtlVerb.CONFIG_SET} <= self.verbs:
            raise ValueError(f"{self.name}: a config owner must answer config-get and config-set")

    @property
    def env_prefix(self) -> str:
        """The prefix of its settings in the environment, e.g. quoter -> QUOTER_."""
        return self.name.upper() + "_"


@dataclass(frozen=True)
class Registry:
    """The services in start order (the gateway first: others wait for its instruments)."""

    services: tuple[Service, ...]
    _by_name: dict[str, Service] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, Service] = {}
        for service in self.services:
            if service.name in by_name:
                raise ValueError(f"service {service.name!r} is registered twice")
            by_name[service.name] = service
        object.__setattr__(self, "_by_name", by_name)
        for what, values in (
            ("config prefix", [s.config_prefix for s in self.services if s.config_prefix]),
            ("command", [verb.value for s in self.services for verb in s.commands]),
            ("KV bucket", [bucket for s in self.services for bucket in s.kv_buckets]),
            ("stream", [stream for s in self.services for stream in s.streams]),
        ):
            repeated = sorted({value for value in values if values.count(value) > 1})
            if repeated:
                raise ValueError(f"each {what} must have one owner, {repeated} have more")

    def __iter__(self) -> Iterator[Service]:
        return iter(self.services)

    def __len__(self) -> int:
        return len(self.services)

    def __getitem__(self, name: str) -> Service:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"service must be one of {list(self.names)}, was {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(service.name for service in self.services)

    @property
    def config_prefixes(self) -> tuple[str, ...]:
        return tuple(s.config_prefix for s in self.services if s.config_prefix is not None)

    def with_service(self, service: Service) -> Registry:
        """This registry plus one service (started last)."""
        return Registry((*self.services, service))

    def command_owner(self, verb: CtlVerb) -> Service | None:
        """The service the operator's `verb` goes to, or None when no single one takes it."""
        return next((service for service in self.services if verb in service.commands), None)

    def config_owner(self, key: str) -> Service:
        """Config keys are `<prefix>.<scope>`; the owning service validates and stores them."""
        prefix = key.split(".", 1)[0]
        owner = next((s for s in self.services if s.config_prefix == prefix), None)
        if owner is None:
            raise ValueError(
                f"config key must start with one of {self.config_prefixes}, was {key!r}"
            )
        return owner

    def fast_path(self) -> tuple[Service, ...]:
        """The services a tick passes through on its way to an order, in that order."""
        return tuple(service for service in self.services if service.fast_path)


_OPERATOR_COMMANDS: Final = (CtlVerb.HALT, CtlVerb.RESUME, CtlVerb.CANCEL_ALL, CtlVerb.FLATTEN)
_CONFIG_VERBS: Final = frozenset(
    {CtlVerb.STATUS, CtlVerb.CONFIG_GET, CtlVerb.CONFIG_SET, CtlVerb.CONFIG_UNSET}
)

REGISTRY: Final = Registry(
    (
        Service(
            "md_gateway",
            verbs=frozenset({CtlVerb.STATUS}),
            kv_buckets=(subjects.INSTRUMENT_BUCKET,),  # the venue's definitions, for later starters
            streams=(subjects.MARKS_STREAM,),  # md.mark.*: the mids the ledger replays
            publishes=(subjects.domain_pattern("md"),),
            venue=VenueAccess.PUBLIC,
            fast_path=True,
        ),
        Service(
            "quoter",
            verbs=_CONFIG_VERBS,
            config_prefix="quoter",
            leases=True,
            streams=(subjects.QUOTER_STREAM,),
            publishes=(
                subjects.quote_intent_pattern(),
                subjects.obligation_pattern(),  # a minute's obligation snapshots
            ),
            subscribes=(subjects.domain_pattern("md"),),
            fast_path=True,
        ),
        Service(
            "risk",
            verbs=frozenset(CtlVerb),
            # The only path from intent to order, so every order-affecting command goes here.
            commands=_OPERATOR_COMMANDS,
            config_prefix="risk",
            kv_buckets=(subjects.RISK_BUCKET,),  # the kill switch
            streams=(subjects.RISK_STREAM,),
            publishes=(subjects.order_target_pattern(), subjects.risk_event_pattern()),
            subscribes=(subjects.domain_pattern("md"), subjects.quote_intent_pattern()),
            fast_path=True,
        ),
        Service(
            "executor",
            verbs=_CONFIG_VERBS | {CtlVerb.CANCEL_ALL},
            config_prefix="executor",
            kv_buckets=(subjects.FEE_BUCKET,),  # the account's fee schedule
            leases=True,
            streams=(subjects.EXEC_STREAM,),
            # With, for `mm gate`, a minute's tick-to-order latencies and each reconciliation.
            publishes=(subjects.domain_pattern("exec"),),
            subscribes=(
                subjects.order_target_pattern(),
                subjects.instrument_pattern(),
                subjects.feed_status_pattern(),  # off a stale book without waiting for risk
            ),
            venue=VenueAccess.TRADING,
            fast_path=True,
        ),
        Service(
            "ledger",
            verbs=frozenset({CtlVerb.STATUS}),
            streams=(subjects.KPI_STREAM,),
            publishes=(subjects.kpi_pattern(),),  # its per-minute snapshots
            subscribes=(
                subjects.book_pattern(),
                subjects.risk_event_pattern(),
                subjects.instrument_pattern(),
            ),
        ),
        Service(
            "recorder",
            verbs=frozenset({CtlVerb.STATUS}),
            # The venue's raw feed; on the bus only what it may be asked to keep for forensics.
            subscribes=tuple(
                subjects.domain_pattern(domain)
                for domain in ("md", "quote", "order", "exec", "risk", "kpi")
            ),
            venue=VenueAccess.PUBLIC,
            keeps_files=True,
        ),
        Service(
            "policy",
            verbs=_CONFIG_VERBS,
            config_prefix="policy",  # its bounds and modes; what it writes is the quoter's
            streams=(subjects.POLICY_STREAM,),
            publishes=(
                subjects.policy_event_pattern(),
                # It changes the quoter's parameters only through the quoter's own validation.
                subjects.ctl("quoter", CtlVerb.CONFIG_GET),
                subjects.ctl("quoter", CtlVerb.CONFIG_SET),
            ),
            # Feed health, and the grids the allocator turns notional into lots with.
            subscribes=(subjects.feed_status_pattern(), subjects.instrument_pattern()),
        ),
    )
)
