"""The bus's least-privilege users: who may publish and subscribe what, as a nats-server config.

`PERMISSIONS` is the one description, derived from the service registry (`mm_proto.services`,
whose subjects come from `mm_proto.subjects` builders), so it cannot drift from the subjects the
services use. Each service publishes only its own facts (the registry's `publishes`): md_gateway
`md.>`, the quoter `quote.intent.*` and `quote.obligation.*`, risk `order.target.*` and
`risk.event.*`, the executor `exec.>` (nobody else can forge an execution fact), the ledger
`kpi.snapshot.*`, and each its own heartbeat; it subscribes to the registry's `subscribes`.
Only `operator` (the `mm` command) publishes `ctl.*.*` and the canary rollout's state and events
(`mm rollout`); a service subscribes only to its own `ctl.<service>.*` and answers through
`allow_responses`. Replies are private: each user connects with its own inbox prefix
(`inbox_prefix(user)`, `_INBOX.<user>`) and may publish and subscribe only under it, so no
user can read another's replies (JetStream API answers, KV watches, pull-consumer deliveries) or
forge a message into them. JetStream is reached through
`$JS.API.*` subjects, scoped per stream: every service may look up and create the agreed layout
(`mm_runtime.jetstream.ensure_layout`, whose streams and buckets this module reads, so a new
bucket is covered at once) and read every stream and bucket of it, but never purge or delete
one; only a stream's owner (the registry's `streams`) may update it, and only a stream with a
feature an older version did not switch on (the ledger's KPI stream and its atomic batches).
KV writes are per owner (the registry's `kv_buckets` and `config_prefix`): risk the kill switch,
md_gateway the instrument definitions, the executor the fees, each service only its own keys of
`config`; the operator changes config only through the owning service's `config-set` verb,
which validates it.

A new service is one entry in `mm_proto.services.REGISTRY`; `bus_permissions(registry)`,
`render_nats_config(..., registry)` and `prepare_bus_credentials(..., registry)` take another
registry (a test's toy service) the same way.

`render_nats_config` turns the model and bcrypt password hashes into a nats-server config;
`prepare_bus_credentials(directory)` generates a random password per user (kept in files with
owner-only access, passed to services as `<PREFIX>NATS__PASSWORD_FILE`) and writes the config with
only their hashes. `python -m mm_runtime.bus_auth DIRECTORY` does the same from a shell (compose's
init container, or before creating Kubernetes Secrets).
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Final, NamedTuple

import bcrypt

from mm_proto import subjects
from mm_proto.services import REGISTRY, Registry, Service
from mm_runtime.jetstream import BUCKETS, STREAMS

SERVICE_USERS: Final = REGISTRY.names
OPERATOR: Final = "operator"  # the `mm` command: ctl requests, config edits, watching
USERS: Final = (*SERVICE_USERS, OPERATOR)
ACCOUNT: Final = "MM"
CONFIG_FILE_NAME: Final = "nats.conf"
PASSWORD_SUFFIX: Final = ".password"  # noqa: S105 - a file name suffix, not a password
PASSWORD_BYTES: Final = 24
BCRYPT_ROUNDS: Final = 11
INBOX_ROOT: Final = "_INBOX"  # nats-py's default reply prefix; every user gets a token under it


def inbox_prefix(user: str) -> str:
    """The reply-subject prefix `user` connects with (`nats.connect(inbox_prefix=...)`)."""
    return f"{INBOX_ROOT}.{subjects.token(user)}"


def inbox(user: str) -> str:
    """Every reply subject of `user`: only it may publish (its readiness barrier) or subscribe."""
    return f"{inbox_prefix(user)}.>"


# Everything `ensure_layout` may create: its streams and the streams behind its KV buckets.
_LAYOUT_STREAMS: Final = tuple(
    [str(stream.name) for stream in STREAMS] + [f"KV_{bucket.bucket}" for bucket in BUCKETS]
)


@dataclass(frozen=True)
class Permissions:
    """What one user may publish and subscribe (allow lists; everything else is denied)."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    allow_responses: bool = True  # may answer requests it received (ctl verbs)


def kv_stream(bucket: str) -> str:
    """The stream that backs a KV bucket."""
    return f"KV_{subjects.token(bucket)}"


def kv_keys(bucket: str, key_prefix: str | None = None) -> str:
    """The subjects of a bucket's keys, or of the keys under `<key_prefix>.`."""
    base = f"$KV.{subjects.token(bucket)}"
    return f"{base}.>" if key_prefix is None else f"{base}.{subjects.token(key_prefix)}.>"


def layout_setup() -> tuple[str, ...]:
    """Look up and create the agreed streams and buckets; never update, purge or delete."""
    api = ["$JS.API.INFO", "$JS.API.STREAM.NAMES"]
    for stream in _LAYOUT_STREAMS:
        api += [f"$JS.API.STREAM.INFO.{stream}", f"$JS.API.STREAM.CREATE.{stream}"]
    return tuple(api)


def stream_reader(stream: str) -> tuple[str, ...]:
    """Consume a stream (ephemeral, ordered or durable consumers) and get single messages."""
    api = "$JS.API"
    return (
        f"{api}.CONSUMER.CREATE.{stream}",
        f"{api}.CONSUMER.CREATE.{stream}.>",
        f"{api}.CONSUMER.DURABLE.CREATE.{stream}.>",
        f"{api}.CONSUMER.INFO.{stream}.>",
        f"{api}.CONSUMER.DELETE.{stream}.>",
        f"{api}.CONSUMER.MSG.NEXT.{stream}.>",
        f"{api}.STREAM.MSG.GET.{stream}",
        f"{api}.DIRECT.GET.{stream}",
        f"{api}.DIRECT.GET.{stream}.>",
        f"$JS.ACK.{stream}.>",
        f"$JS.FC.{stream}.>",
    )


# Streams whose agreed configuration has a feature a stream made by an older version may lack.
_UPGRADABLE: Final = frozenset(str(stream.name) for stream in STREAMS if stream.allow_atomic)


def stream_upgrades(service: Service) -> tuple[str, ...]:
    """Update its own streams that may need a feature switched on (`ledger.kpi_store`)."""
    return tuple(
        f"$JS.API.STREAM.UPDATE.{stream}" for stream in service.streams if stream in _UPGRADABLE
    )


def layout_reader() -> tuple[str, ...]:
    """Set up the layout and read every stream and bucket of it (writes stay per owner)."""
    readers = [item for stream in _LAYOUT_STREAMS for item in stream_reader(stream)]
    return (*layout_setup(), *readers)


def service_permissions(service: Service) -> Permissions:
    """A service's registry entry plus what every service does: heartbeat, barrier, layout."""
    owned_kv = [kv_keys(bucket) for bucket in service.kv_buckets]
    if service.config_prefix is not None:  # ctl config-set stores its own keys
        owned_kv.append(kv_keys(subjects.CONFIG_BUCKET, service.config_prefix))
    if service.leases:  # its replicas' per-symbol leases (mm_runtime.symbol_lease)
        owned_kv.append(kv_keys(subjects.LEASE_BUCKET, service.name))
    return Permissions(
        publish=(
            *service.publishes,
            *owned_kv,
            subjects.heartbeat(service.name),
            inbox(service.name),
            *stream_upgrades(service),
            *layout_reader(),
        ),
        subscribe=(
            *service.subscribes,
            subjects.heartbeat_pattern(),
            subjects.ctl_pattern(service.name),
            inbox(service.name),
        ),
    )


def _operator() -> Permissions:
    watched = ("md", "quote", "order", "exec", "risk", "kpi", "policy", "rollout")
    # The canary rollout's controller is the `mm rollout` command: it alone writes the rollout
    # state and its events (a promotion still goes through the quoter's `config-set`).
    rollout = (kv_keys(subjects.ROLLOUT_BUCKET), subjects.rollout_event_pattern())
    return Permissions(
        # No `$KV.config.>`: a config change goes through the owning service's `config-set`.
        publish=(subjects.ctl_pattern(), inbox(OPERATOR), *rollout, *layout_reader()),
        subscribe=(
            *(subjects.domain_pattern(domain) for domain in watched),
            subjects.heartbeat_pattern(),
            inbox(OPERATOR),
        ),
        allow_responses=False,
    )


def bus_permissions(registry: Registry = REGISTRY) -> Mapping[str, Permissions]:
    """Every bus user's permissions: one per registered service, then the operator."""
    if OPERATOR in registry:
        raise ValueError(f"{OPERATOR!r} is the operator's bus user, not a service name")
    users = {service.name: service_permissions(service) for service in registry}
    return MappingProxyType({**users, OPERATOR: _operator()})


PERMISSIONS: Final[Mapping[str, Permissions]] = bus_permissions()


def hash_password(password: str, rounds: int = BCRYPT_ROUNDS) -> str:
    """A bcrypt hash nats-server accepts in place of a plain password."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def render_nats_config(password_hashes: Mapping[str, str], registry: Registry = REGISTRY) -> str:
    """A nats-server config: one account with JetStream, one user per entry of `PERMISSIONS`.

    It holds no server-wide settings, so it can be the whole config (start the server with `-js`)
    or be included into another one (`include ./mm-auth.conf`, as a NATS Helm chart merge).

    `password_hashes` maps every user to a bcrypt hash; a plain password is refused so that a
    literal credential never lands in a config file.
    """
    permissions = bus_permissions(registry)
    missing = sorted(set(permissions) - set(password_hashes))
    unknown = sorted(set(password_hashes) - set(permissions))
    if missing or unknown:
        raise ValueError(
            f"password hashes must cover exactly the users {sorted(permissions)}, "
            f"missing {missing}, unknown {unknown}"
        )
    for user, value in password_hashes.items():
        if not value.startswith(("$2a$", "$2b$", "$2y$")):
            raise ValueError(f"password for {user!r} must be a bcrypt hash ($2b$...), was not")
    users = [
        _render_user(user, rules, password_hashes[user]) for user, rules in permissions.items()
    ]
    lines = [
        "# Generated by mm_runtime.bus_auth from mm_proto.subjects: do not edit by hand.",
        "# JetStream must be enabled server-wide too (nats-server -js, or a jetstream block).",
        "accounts {",
        f"  {ACCOUNT} {{",
        "    jetstream: enabled",
        "    users: [",
        *users,
        "    ]",
        "  }",
        "}",
        "",
    ]
    return "\n".join(lines)


def _render_user(user: str, permissions: Permissions, password_hash: str) -> str:
    body = {
        "publish": {"allow": list(permissions.publish)},
        "subscribe": {"allow": list(permissions.subscribe)},
    }
    if permissions.allow_responses:
        body["allow_responses"] = {"max": 1, "expires": "1m"}  # type: ignore[dict-item]
    # JSON strings are valid nats-server config strings (quoted, so `$` is not a variable).
    rendered = json.dumps(body, indent=2).replace("\n", "\n      ")
    return (
        f"      {{ user: {json.dumps(user)}, password: {json.dumps(password_hash)},\n"
        f"        permissions: {rendered} }}"
    )


def env_prefix(user: str) -> str:
    """The settings prefix of a service user, e.g. quoter -> QUOTER_."""
    if user not in REGISTRY:
        raise ValueError(f"user must be one of the services {list(SERVICE_USERS)}, was {user!r}")
    return REGISTRY[user].env_prefix


class BusCredentials(NamedTuple):
    """What `prepare_bus_credentials` made: the server config and how each process connects."""

    config_path: Path
    service_environment: dict[str, dict[str, str]]  # service -> {NAME: value} (file paths only)
    password_files: dict[str, Path]  # user -> file holding the plain password (mode 600)

    def operator_options(self) -> dict[str, str]:
        """Keyword arguments for `nats.connect` as the operator (the `mm` command)."""
        return connect_options(self.password_files[OPERATOR].parent, OPERATOR)


def user_options(directory: Path, user: str = OPERATOR) -> dict[str, str]:
    """`nats.connect` keyword arguments for `user` from a prepared directory (nothing rewritten)."""
    path = directory / f"{user}{PASSWORD_SUFFIX}"
    try:
        password = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise FileNotFoundError(
            f"password file for bus user {user!r} expected at {path}: {error.strerror} "
            "(run `python -m mm_runtime.bus_auth DIRECTORY` or `mm run` first)"
        ) from None
    return {"user": user, "password": password}


def connect_options(directory: Path, user: str = OPERATOR) -> dict[str, str]:
    """`user_options` plus the user's private inbox prefix: what `nats.connect` needs."""
    return {**user_options(directory, user), "inbox_prefix": inbox_prefix(user)}


def prepare_bus_credentials(directory: Path, registry: Registry = REGISTRY) -> BusCredentials:
    """Ensure a password file per user and (re)write the server config with their hashes.

    Existing password files are kept, so a service restarted alone still matches the running
    server's config. Files are created with mode 600 inside a mode 700 directory.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    users = (*registry.names, OPERATOR)
    password_files = {user: directory / f"{user}{PASSWORD_SUFFIX}" for user in users}
    hashes = {user: hash_password(_ensure_password(path)) for user, path in password_files.items()}
    config_path = directory / CONFIG_FILE_NAME
    config_path.touch(mode=0o600)
    config_path.write_text(render_nats_config(hashes, registry), encoding="utf-8")
    environment = {
        service.name: {
            service.env_prefix + "NATS__USER": service.name,
            service.env_prefix + "NATS__PASSWORD_FILE": str(password_files[service.name]),
        }
        for service in registry
    }
    return BusCredentials(config_path, environment, password_files)


def _ensure_password(path: Path) -> str:
    if path.exists():
        password = path.read_text(encoding="utf-8").strip()
        if password:
            return password
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(password, encoding="utf-8")
    return password


def main(argv: list[str] | None = None) -> None:
    """`python -m mm_runtime.bus_auth DIRECTORY`: write the config and password files."""
    parser = argparse.ArgumentParser(prog="python -m mm_runtime.bus_auth", description=main.__doc__)
    parser.add_argument("directory", type=Path, help="where nats.conf and <user>.password go")
    arguments = parser.parse_args(argv)
    credentials = prepare_bus_credentials(arguments.directory)
    print(f"wrote {credentials.config_path}", file=sys.stderr)
    for user, path in credentials.password_files.items():
        print(f"{user}: password file {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
