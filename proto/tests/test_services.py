"""The service registry: one entry per service, validated, and the lookups derived from it."""

from __future__ import annotations

from typing import Any

import pytest

from mm_proto import subjects
from mm_proto.services import REGISTRY, Registry, Service, VenueAccess
from mm_proto.subjects import CtlVerb

CONFIG_VERBS = frozenset({CtlVerb.STATUS, CtlVerb.CONFIG_GET, CtlVerb.CONFIG_SET})


def toy(**fields: Any) -> Service:
    return Service(**{"name": "toy", "verbs": CONFIG_VERBS, "config_prefix": "toy", **fields})


def test_the_registry_lists_the_services_in_start_order() -> None:
    assert REGISTRY.names == (
        "md_gateway",
        "quoter",
        "risk",
        "executor",
        "ledger",
        "recorder",
        "policy",
    )
    assert [service.name for service in REGISTRY.fast_path()] == [
        "md_gateway",
        "quoter",
        "risk",
        "executor",
    ]


def test_every_order_affecting_command_goes_to_risk_and_status_to_no_single_service() -> None:
    for verb in (CtlVerb.HALT, CtlVerb.RESUME, CtlVerb.CANCEL_ALL, CtlVerb.FLATTEN):
        owner = REGISTRY.command_owner(verb)
        assert owner is not None
        assert owner.name == "risk"
    for verb in (CtlVerb.STATUS, CtlVerb.CONFIG_GET, CtlVerb.CONFIG_SET):
        assert REGISTRY.command_owner(verb) is None


@pytest.mark.parametrize(
    ("key", "owner"),
    [
        ("quoter.BTCUSDT", "quoter"),
        ("risk.default", "risk"),
        ("executor.default", "executor"),
        ("policy.BTCUSDT", "policy"),
    ],
)
def test_config_keys_route_to_the_owner_of_their_prefix(key: str, owner: str) -> None:
    assert REGISTRY.config_owner(key).name == owner


@pytest.mark.parametrize("key", ["ledger.default", "md_gateway.default", "", "toy.default"])
def test_a_key_nobody_owns_is_refused_naming_the_prefixes(key: str) -> None:
    with pytest.raises(ValueError, match=r"one of \('quoter', 'risk', 'executor', 'policy'\)"):
        REGISTRY.config_owner(key)


def test_lookup_of_an_unknown_service_names_the_known_ones() -> None:
    assert REGISTRY["executor"].venue is VenueAccess.TRADING
    assert "ledger" in REGISTRY
    assert "operator" not in REGISTRY
    with pytest.raises(KeyError, match=r"one of \['md_gateway'.*was 'nobody'"):
        REGISTRY["nobody"]


def test_a_new_service_is_one_entry_and_leaves_the_original_alone() -> None:
    extended = REGISTRY.with_service(toy())
    assert extended.names == (*REGISTRY.names, "toy")
    assert extended.config_owner("toy.default").name == "toy"
    assert "toy" not in REGISTRY
    assert extended["toy"].env_prefix == "TOY_"


@pytest.mark.parametrize(
    ("service", "message"),
    [
        (toy(name="quoter", config_prefix=None), r"'quoter' is registered twice"),
        (toy(config_prefix="risk"), r"config prefix must have one owner, \['risk'\]"),
        (
            toy(verbs=frozenset(CtlVerb), commands=(CtlVerb.HALT,)),
            r"command must have one owner, \['halt'\]",
        ),
        (toy(kv_buckets=(subjects.RISK_BUCKET,)), r"KV bucket must have one owner, \['risk'\]"),
        (toy(streams=(subjects.EXEC_STREAM,)), r"stream must have one owner, \['EXEC'\]"),
    ],
)
def test_a_second_owner_of_anything_is_refused(service: Service, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        REGISTRY.with_service(service)


def test_an_entry_that_contradicts_itself_is_refused() -> None:
    with pytest.raises(ValueError, match=r"commands \['flatten'\] must be among the verbs"):
        toy(commands=(CtlVerb.FLATTEN,))
    with pytest.raises(ValueError, match=r"config owner must answer config-get and config-set"):
        toy(verbs=frozenset({CtlVerb.STATUS}))
    with pytest.raises(ValueError, match=r"must not contain '\.'"):
        toy(name="toy.service")
    with pytest.raises(ValueError, match=r"wildcard '\*'"):
        toy(config_prefix="*")


def test_an_empty_registry_routes_nothing() -> None:
    empty = Registry(())
    assert empty.names == ()
    assert len(empty) == 0
    assert empty.command_owner(CtlVerb.HALT) is None
    with pytest.raises(ValueError, match=r"one of \(\), was 'risk.default'"):
        empty.config_owner("risk.default")
