"""Operator commands over the bus: status, halt, resume, cancel-all, flatten, config get/set/unset.

Each is one NATS request to `ctl.<service>.<verb>` answered by the service with a `CtlReply`;
"no responders" means the service is down, which is reported as such, never as a refusal. The
`mm` command connects as the bus's `operator` user, the only one allowed to send commands. Where a
command goes comes from the service registry (`mm_proto.services`): halt, resume, cancel-all and
flatten to the service that takes each, `config` to the owner of the key's prefix, `status` to
every service.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import msgspec
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from mm_cli.bus_connect import connect
from mm_proto import (
    CancelAllRequest,
    ConfigGetRequest,
    ConfigSetRequest,
    ConfigUnsetRequest,
    CtlReply,
    FlattenRequest,
    HaltRequest,
    ResumeRequest,
    StatusRequest,
    codec,
    subjects,
)
from mm_proto.services import REGISTRY, Registry
from mm_proto.subjects import CtlVerb
from mm_runtime.bus_auth import connect_options

REQUEST_TIMEOUT_S = 3.0


class ServiceDown(Exception):  # noqa: N818 - reads as the condition it reports
    """Nobody answered: the service is not running or not connected to the bus."""


def connection_options(bus_dir: Path) -> dict[str, Any]:
    """The operator's credentials when the bus has them (the local stack's `.run/bus`)."""
    return connect_options(bus_dir) if bus_dir.is_dir() else {}


async def ask(
    nats_url: str, bus_dir: Path, service: str, verb: CtlVerb, request: msgspec.Struct
) -> CtlReply:
    """Send one command and return the service's reply; raise ServiceDown when it does not answer,
    BusUnreachableError when there is no bus."""
    client = await connect(nats_url, "mm-operator", connection_options(bus_dir))
    try:
        reply = await client.request(
            subjects.ctl(service, verb), codec.encode(request), timeout=REQUEST_TIMEOUT_S
        )
    except (NoRespondersError, NatsTimeoutError):
        raise ServiceDown(f"{service} did not answer ctl {verb.value}: is it running?") from None
    finally:
        await client.close()
    return codec.decode(reply.data, CtlReply)


def request_for(
    command: str, arguments: Any, registry: Registry = REGISTRY
) -> tuple[str, CtlVerb, msgspec.Struct]:
    """The service, verb and request an `mm` subcommand sends."""
    if command == "config":
        service = config_owner(arguments.key, registry)
        if arguments.action == "get":
            return service, CtlVerb.CONFIG_GET, ConfigGetRequest(key=arguments.key)
        if arguments.action == "unset":
            return service, CtlVerb.CONFIG_UNSET, ConfigUnsetRequest(key=arguments.key)
        request = ConfigSetRequest(key=arguments.key, value=arguments.value)
        return service, CtlVerb.CONFIG_SET, request
    verb = next((verb for verb in CtlVerb if verb.value == command), None)
    owner = registry.command_owner(verb) if verb is not None else None
    if verb is None or owner is None:
        raise ValueError(f"not an operator command: {command!r}")
    return owner.name, verb, _command_request(verb, arguments)


def _command_request(verb: CtlVerb, arguments: Any) -> msgspec.Struct:
    operator = getpass.getuser()
    if verb is CtlVerb.HALT:
        return HaltRequest(reason=arguments.reason, operator=operator)
    if verb is CtlVerb.RESUME:
        return ResumeRequest(reason=arguments.reason, operator=operator)
    if verb is CtlVerb.CANCEL_ALL:
        # Through risk, the only path to orders: it sends cancel-all targets to the executor.
        return CancelAllRequest(symbol=arguments.symbol)
    if verb is CtlVerb.FLATTEN:
        return FlattenRequest(
            symbol=arguments.symbol,
            operator=operator,
            max_slippage_bps=arguments.max_slippage_bps,
        )
    raise ValueError(f"not an operator command: {verb.value!r}")


def config_owner(key: str, registry: Registry = REGISTRY) -> str:
    """Config keys are `<prefix>.<scope>`; the prefix's owner validates and stores them."""
    return registry.config_owner(key).name


async def status_of_all(
    nats_url: str, bus_dir: Path, registry: Registry = REGISTRY
) -> dict[str, CtlReply | None]:
    """Every service's status reply, or None for a service that is down."""
    replies: dict[str, CtlReply | None] = {}
    for service in registry.names:
        try:
            replies[service] = await ask(
                nats_url, bus_dir, service, CtlVerb.STATUS, StatusRequest()
            )
        except ServiceDown:
            replies[service] = None
    return replies
