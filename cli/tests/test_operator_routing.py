"""Where each `mm` operator command goes, as the service registry says."""

from __future__ import annotations

from argparse import Namespace

import pytest

from mm_cli.operator import config_owner, request_for
from mm_proto import ConfigGetRequest, ConfigSetRequest, FlattenRequest, HaltRequest
from mm_proto.services import REGISTRY, Service
from mm_proto.subjects import CtlVerb


@pytest.mark.parametrize(
    ("command", "arguments", "verb"),
    [
        ("halt", Namespace(reason="test"), CtlVerb.HALT),
        ("resume", Namespace(reason="test"), CtlVerb.RESUME),
        ("cancel-all", Namespace(symbol=""), CtlVerb.CANCEL_ALL),
        ("flatten", Namespace(symbol="BTCUSDT", max_slippage_bps=5), CtlVerb.FLATTEN),
    ],
)
def test_order_affecting_commands_go_to_risk(
    command: str, arguments: Namespace, verb: CtlVerb
) -> None:
    service, sent_verb, _request = request_for(command, arguments)
    assert (service, sent_verb) == ("risk", verb)


def test_the_request_carries_the_arguments() -> None:
    _, _, halt = request_for("halt", Namespace(reason="stop now"))
    assert isinstance(halt, HaltRequest)
    assert halt.reason == "stop now"
    _, _, flatten = request_for("flatten", Namespace(symbol="ETHUSDT", max_slippage_bps=7))
    assert isinstance(flatten, FlattenRequest)
    assert (flatten.symbol, flatten.max_slippage_bps) == ("ETHUSDT", 7)


@pytest.mark.parametrize("owner", ["quoter", "risk", "executor"])
def test_config_keys_go_to_the_owner_of_their_prefix(owner: str) -> None:
    key = f"{owner}.default"
    assert request_for("config", Namespace(action="get", key=key)) == (
        owner,
        CtlVerb.CONFIG_GET,
        ConfigGetRequest(key=key),
    )
    assert request_for("config", Namespace(action="set", key=key, value="{}")) == (
        owner,
        CtlVerb.CONFIG_SET,
        ConfigSetRequest(key=key, value="{}"),
    )


def test_a_key_no_service_owns_and_a_non_command_are_refused() -> None:
    owners = r"one of \('quoter', 'risk', 'executor', 'policy'\), was 'x.y'"
    with pytest.raises(ValueError, match=owners):
        config_owner("x.y")
    for command in ("status", "config-get", "tail", ""):
        with pytest.raises(ValueError, match="not an operator command"):
            request_for(command, Namespace())


def test_a_toy_service_in_the_registry_gets_its_config_keys_routed_to_it() -> None:
    toy = Service(
        "toy",
        verbs=frozenset({CtlVerb.STATUS, CtlVerb.CONFIG_GET, CtlVerb.CONFIG_SET}),
        config_prefix="toy",
    )
    registry = REGISTRY.with_service(toy)
    service, verb, _ = request_for("config", Namespace(action="get", key="toy.a"), registry)
    assert (service, verb) == ("toy", CtlVerb.CONFIG_GET)
    with pytest.raises(ValueError, match=r"was 'toy.a'"):
        request_for("config", Namespace(action="get", key="toy.a"))
