"""The bus permission model and its credential files, without a server (tests/deploy has those)."""

from __future__ import annotations

import stat
from pathlib import Path

import bcrypt
import pytest

from mm_proto import subjects
from mm_proto.services import REGISTRY, Service
from mm_proto.subjects import CtlVerb
from mm_runtime.bus_auth import (
    INBOX_ROOT,
    OPERATOR,
    PERMISSIONS,
    SERVICE_USERS,
    bus_permissions,
    connect_options,
    env_prefix,
    inbox,
    inbox_prefix,
    layout_reader,
    main,
    prepare_bus_credentials,
    render_nats_config,
    user_options,
)
from mm_runtime.jetstream import STREAMS


def test_credentials_are_files_with_owner_only_access(tmp_path: Path) -> None:
    credentials = prepare_bus_credentials(tmp_path / "bus")
    assert stat.S_IMODE((tmp_path / "bus").stat().st_mode) == 0o700
    for user, path in credentials.password_files.items():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, user
        assert len(path.read_text()) >= 32
    assert stat.S_IMODE(credentials.config_path.stat().st_mode) == 0o600


def test_config_holds_hashes_that_match_and_never_the_passwords(tmp_path: Path) -> None:
    credentials = prepare_bus_credentials(tmp_path)
    config = credentials.config_path.read_text()
    for path in credentials.password_files.values():
        password = path.read_text()
        assert password not in config
        hashes = [line for line in config.splitlines() if f'user: "{path.stem}"' in line]
        stored = hashes[0].split('password: "')[1].split('"')[0]
        assert bcrypt.checkpw(password.encode(), stored.encode())


def test_rerun_keeps_existing_passwords(tmp_path: Path) -> None:
    first = prepare_bus_credentials(tmp_path)
    before = {user: path.read_text() for user, path in first.password_files.items()}
    second = prepare_bus_credentials(tmp_path)
    assert {user: path.read_text() for user, path in second.password_files.items()} == before


def test_service_environment_names_user_and_password_file(tmp_path: Path) -> None:
    credentials = prepare_bus_credentials(tmp_path)
    assert set(credentials.service_environment) == set(SERVICE_USERS)
    assert credentials.service_environment["md_gateway"] == {
        "MD_GATEWAY_NATS__USER": "md_gateway",
        "MD_GATEWAY_NATS__PASSWORD_FILE": str(tmp_path / "md_gateway.password"),
    }
    options = credentials.operator_options()
    assert options["user"] == OPERATOR
    assert options["password"] == (tmp_path / "operator.password").read_text()


def test_user_options_read_without_rewriting(tmp_path: Path) -> None:
    credentials = prepare_bus_credentials(tmp_path)
    written = credentials.config_path.stat().st_mtime_ns
    options = user_options(tmp_path, "risk")
    assert options == {"user": "risk", "password": (tmp_path / "risk.password").read_text()}
    assert credentials.config_path.stat().st_mtime_ns == written
    with pytest.raises(FileNotFoundError, match=r"bus user 'operator' expected at .*nowhere"):
        user_options(tmp_path / "nowhere")


def test_env_prefix_refuses_non_services() -> None:
    assert env_prefix("quoter") == "QUOTER_"
    with pytest.raises(ValueError, match=r"was 'operator'"):
        env_prefix(OPERATOR)


def test_ownership_of_the_key_subjects() -> None:
    def publishers(subject_pattern: str) -> set[str]:
        return {user for user, rules in PERMISSIONS.items() if subject_pattern in rules.publish}

    assert publishers(subjects.order_target_pattern()) == {"risk"}
    assert publishers(subjects.quote_intent_pattern()) == {"quoter"}
    assert publishers(subjects.domain_pattern("exec")) == {"executor"}
    assert publishers(subjects.ctl_pattern()) == {OPERATOR}
    assert publishers(f"$KV.{subjects.RISK_BUCKET}.>") == {"risk"}


def test_render_is_deterministic_given_hashes() -> None:
    hashes = dict.fromkeys(PERMISSIONS, "$2b$04$" + "a" * 53)
    assert render_nats_config(hashes) == render_nats_config(dict(reversed(hashes.items())))


def test_command_line_writes_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main([str(tmp_path / "out")])
    assert (tmp_path / "out" / "nats.conf").is_file()
    assert "quoter: password file" in capsys.readouterr().err


def _matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` is one token, a final `>` is one or more."""
    pattern_tokens, subject_tokens = pattern.split("."), subject.split(".")
    for index, token in enumerate(pattern_tokens):
        if token == ">":
            return len(subject_tokens) > index
        if index >= len(subject_tokens) or token not in {"*", subject_tokens[index]}:
            return False
    return len(pattern_tokens) == len(subject_tokens)


POLICY_REQUESTS = {
    subjects.ctl("quoter", subjects.CtlVerb.CONFIG_GET),
    subjects.ctl("quoter", subjects.CtlVerb.CONFIG_SET),
}
OWNER_BY_DOMAIN = {
    "md": "md_gateway",
    "quote": "quoter",
    "order": "risk",
    "exec": "executor",
    "risk": "risk",
    "kpi": "ledger",
    "policy": "policy",
    "rollout": "operator",  # the canary rollout's controller is the `mm rollout` command
}


@pytest.mark.parametrize("family", sorted(subjects.FACT_FAMILIES))
def test_every_fact_family_has_exactly_its_owner_as_publisher(family: str) -> None:
    """A new fact family (or domain) fails here until the permission model names its owner."""
    subject = subjects.fact(family, "bybit", "linear", "BTCUSDT")
    domain = subjects.FACT_FAMILIES[family].domain
    publishers = {
        user
        for user, rules in PERMISSIONS.items()
        if any(_matches(pattern, subject) for pattern in rules.publish)
    }
    assert publishers == {OWNER_BY_DOMAIN[domain]}


def test_only_the_operator_publishes_commands_and_each_service_hears_its_own() -> None:
    for service in SERVICE_USERS:
        for verb in subjects.CtlVerb:
            subject = subjects.ctl(service, verb)
            senders = {
                user
                for user, rules in PERMISSIONS.items()
                if any(_matches(pattern, subject) for pattern in rules.publish)
            }
            listeners = {
                user
                for user, rules in PERMISSIONS.items()
                if any(_matches(pattern, subject) for pattern in rules.subscribe)
            }
            # The policy changes the quoter's parameters through the quoter's own config verbs.
            policy = {"policy"} if subject in POLICY_REQUESTS else set()
            assert senders == {OPERATOR, *policy}
            assert listeners == {service}


def test_subject_matcher() -> None:
    assert _matches("md.>", "md.book.bybit.linear.BTCUSDT")
    assert not _matches("md.>", "md")
    assert _matches("ctl.*.*", "ctl.risk.halt")
    assert not _matches("ctl.*.*", "ctl.risk")
    assert not _matches("quote.intent.*.*.*", "quote.intent.bybit.linear")


def test_every_user_may_use_only_its_own_inbox() -> None:
    for user, rules in PERMISSIONS.items():
        for allowed in (rules.publish, rules.subscribe):
            inboxes = [pattern for pattern in allowed if pattern.startswith(INBOX_ROOT)]
            assert inboxes == [inbox(user)], user


def test_operator_connects_with_its_private_inbox_prefix(tmp_path: Path) -> None:
    credentials = prepare_bus_credentials(tmp_path)
    assert credentials.operator_options()["inbox_prefix"] == inbox_prefix(OPERATOR)
    assert connect_options(tmp_path, "risk")["inbox_prefix"] == "_INBOX.risk"


# The grants as they were written by hand before the registry derived them (layout reading,
# which every user has, left out): the derivation must stay exactly this strict.
HAND_WRITTEN_GRANTS = {
    "md_gateway": (
        ["md.>", "$KV.instruments.>", "health.heartbeat.md_gateway", "_INBOX.md_gateway.>"],
        ["health.heartbeat.*", "ctl.md_gateway.*", "_INBOX.md_gateway.>"],
    ),
    "quoter": (
        [
            "quote.intent.*.*.*",
            "quote.obligation.*.*.*",
            "$KV.config.quoter.>",
            "$KV.leases.quoter.>",
            "health.heartbeat.quoter",
            "_INBOX.quoter.>",
        ],
        ["md.>", "health.heartbeat.*", "ctl.quoter.*", "_INBOX.quoter.>"],
    ),
    "risk": (
        [
            "order.target.*.*.*",
            "risk.event.*.*.*",
            "$KV.risk.>",
            "$KV.config.risk.>",
            "health.heartbeat.risk",
            "_INBOX.risk.>",
        ],
        ["md.>", "quote.intent.*.*.*", "health.heartbeat.*", "ctl.risk.*", "_INBOX.risk.>"],
    ),
    "executor": (
        [
            "exec.>",
            "$KV.fees.>",
            "$KV.config.executor.>",
            "$KV.leases.executor.>",
            "health.heartbeat.executor",
            "_INBOX.executor.>",
        ],
        [
            "order.target.*.*.*",
            "md.instrument.*.*.*",  # its grids, through the instrument follower
            "md.status.*.*.*",  # off a stale book at once (executor.feed_guard)
            "health.heartbeat.*",
            "ctl.executor.*",
            "_INBOX.executor.>",
        ],
    ),
    "ledger": (
        [
            "kpi.snapshot.*.*.*",
            "health.heartbeat.ledger",
            "_INBOX.ledger.>",
            "$JS.API.STREAM.UPDATE.KPI",
        ],
        [
            "md.book.*.*.*",
            "risk.event.*.*.*",
            "md.instrument.*.*.*",
            "health.heartbeat.*",
            "ctl.ledger.*",
            "_INBOX.ledger.>",
        ],
    ),
    "recorder": (
        ["health.heartbeat.recorder", "_INBOX.recorder.>"],
        [
            "md.>",
            "quote.>",
            "order.>",
            "exec.>",
            "risk.>",
            "kpi.>",
            "health.heartbeat.*",
            "ctl.recorder.*",
            "_INBOX.recorder.>",
        ],
    ),
    "policy": (
        [
            "policy.event.*.*.*",
            "ctl.quoter.config-get",
            "ctl.quoter.config-set",
            "$KV.config.policy.>",
            "health.heartbeat.policy",
            "_INBOX.policy.>",
        ],
        [
            "md.status.*.*.*",
            "md.instrument.*.*.*",
            "health.heartbeat.*",
            "ctl.policy.*",
            "_INBOX.policy.>",
        ],
    ),
    OPERATOR: (
        ["ctl.*.*", "_INBOX.operator.>", "$KV.rollout.>", "rollout.event.*.*.*"],
        [
            "md.>",
            "quote.>",
            "order.>",
            "exec.>",
            "risk.>",
            "kpi.>",
            "policy.>",
            "rollout.>",
            "health.heartbeat.*",
            "_INBOX.operator.>",
        ],
    ),
}


def test_the_registry_derives_exactly_the_grants_that_were_written_by_hand() -> None:
    assert list(PERMISSIONS) == list(HAND_WRITTEN_GRANTS)
    for user, (publish, subscribe) in HAND_WRITTEN_GRANTS.items():
        rules = PERMISSIONS[user]
        assert list(rules.publish) == [*publish, *layout_reader()], user
        assert list(rules.subscribe) == subscribe, user
        assert rules.allow_responses is (user != OPERATOR), user


TOY = Service(
    "toy",
    verbs=frozenset({CtlVerb.STATUS, CtlVerb.CONFIG_GET, CtlVerb.CONFIG_SET}),
    config_prefix="toy",
    subscribes=(subjects.book_pattern(),),
)


def test_a_registered_toy_service_gets_its_own_user_and_nothing_of_the_others() -> None:
    permissions = bus_permissions(REGISTRY.with_service(TOY))
    assert {user: permissions[user] for user in PERMISSIONS} == dict(PERMISSIONS)
    toy = permissions["toy"]
    assert [rule for rule in toy.publish if rule not in layout_reader()] == [
        "$KV.config.toy.>",
        "health.heartbeat.toy",
        "_INBOX.toy.>",
    ]
    assert list(toy.subscribe) == [
        "md.book.*.*.*",
        "health.heartbeat.*",
        "ctl.toy.*",
        "_INBOX.toy.>",
    ]
    assert toy.allow_responses


def test_the_toy_service_gets_a_password_file_and_a_user_in_the_server_config(
    tmp_path: Path,
) -> None:
    credentials = prepare_bus_credentials(tmp_path, REGISTRY.with_service(TOY))
    assert credentials.service_environment["toy"] == {
        "TOY_NATS__USER": "toy",
        "TOY_NATS__PASSWORD_FILE": str(tmp_path / "toy.password"),
    }
    assert 'user: "toy"' in credentials.config_path.read_text()
    assert '"$KV.config.toy.>"' in credentials.config_path.read_text()


def test_a_service_named_like_the_operator_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'operator' is the operator's bus user"):
        bus_permissions(REGISTRY.with_service(Service("operator", verbs=frozenset())))


@pytest.mark.parametrize("stream", [stream.name for stream in STREAMS])
def test_every_stream_has_one_owner_and_only_it_may_publish_the_facts_it_keeps(
    stream: str,
) -> None:
    owners = [service.name for service in REGISTRY if stream in service.streams]
    if stream == subjects.ROLLOUT_STREAM:  # written by the `mm rollout` controller
        owners = [OPERATOR]
    assert len(owners) == 1, owners
    config = next(item for item in STREAMS if item.name == stream)
    kept = [
        subjects.fact(family, "bybit", "linear", "BTCUSDT")
        for family in subjects.FACT_FAMILIES
        if any(
            _matches(pattern, subjects.fact(family, "bybit", "linear", "BTCUSDT"))
            for pattern in config.subjects or ()
        )
    ]
    assert kept, f"stream {stream} keeps no fact family"
    for subject in kept:
        publishers = {
            user
            for user, rules in PERMISSIONS.items()
            if any(_matches(pattern, subject) for pattern in rules.publish)
        }
        assert publishers == set(owners), subject


@pytest.mark.parametrize("stream", [stream.name for stream in STREAMS])
def test_only_a_streams_owner_may_update_it_and_nobody_may_purge_or_delete_it(
    stream: str,
) -> None:
    """Update only where a stream made by an older version may lack a feature (KPI's atomic
    batches, switched on by the ledger)."""
    owners = {service.name for service in REGISTRY if stream in service.streams}
    if stream != subjects.KPI_STREAM:
        owners = set()
    api = "$JS.API.STREAM"
    updaters = {
        user
        for user, rules in PERMISSIONS.items()
        if any(_matches(pattern, f"{api}.UPDATE.{stream}") for pattern in rules.publish)
    }
    assert updaters == owners
    for verb in ("PURGE", "DELETE"):
        assert not any(
            _matches(pattern, f"{api}.{verb}.{stream}")
            for rules in PERMISSIONS.values()
            for pattern in rules.publish
        ), verb
