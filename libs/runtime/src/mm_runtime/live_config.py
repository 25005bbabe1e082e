"""Live config: a service's parameters as layered entries in KV `config`, vetted before they apply.

A service declares a `ConfigSpec`: its pydantic model (bounds on the fields, applied at start and
on every change), the fields that need a restart, how far one live change may move a field
(`mm_runtime.live_steps`), what a per-symbol entry may set and any invariant across fields. Its
entries are `<prefix>.default` and `<prefix>.<SYMBOL>`, each a JSON object of some fields; the
values in force for a symbol are the service's base (its settings) overlaid by the default entry,
then by the symbol's entry, validated as a whole (`Values`).

`LiveConfig` follows the entries with one KV follower (`Bus.follow_kv`). The entries stored at
start are applied once replayed, the default entry first, each kept only when everything kept so
far still validates with it: a poisoned entry never stops a service, it is refused loudly and the
service runs on the rest. A later change applies only when the whole still validates and no field
moved beyond its step; a changed restart-only field is refused and keeps its running value while
the rest of the entry applies. An entry naming a setting the service reads only from its
environment (`ConfigSpec.settings_only`) has that field refused the same way. The last refusal per
key is kept until that key applies, for `status`.

`config-get` and `config-set` have one reply shape for every service (`mm_runtime.config_ctl`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from mm_runtime.live_steps import MaxStep, step_refusals

_log = logging.getLogger("mm_runtime.live_config")

M = TypeVar("M", bound=BaseModel)
DEFAULT_SCOPE = "default"
ANY_FIELD = "*"  # a refusal's field when the whole entry is refused (an invariant, a bad key)
# The validation context: which fields the entries (not the service's base) set, for a validator
# that refuses a value only when an entry asks for it.
ENTRY_FIELDS = "entry_fields"


class ConfigError(ValueError):
    """Entries that do not build valid values; one reason per problem, the fields they name."""

    def __init__(self, reasons: list[str], fields: Collection[str] = (ANY_FIELD,)) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons
        self.fields = tuple(fields) or (ANY_FIELD,)


@dataclass(frozen=True)
class ConfigSpec(Generic[M]):
    """What a service's entries may say; see the module docstring."""

    prefix: str  # the service's config prefix in the registry (`mm_proto.services`)
    model: type[M]
    restart_required: frozenset[str] = frozenset()  # model fields that apply at start only
    settings_only: frozenset[str] = frozenset()  # names an entry may not set: environment only
    max_step: Mapping[str, MaxStep] = field(default_factory=dict)
    # What a `<prefix>.<SYMBOL>` entry may set: None every field, empty no symbol entries at all.
    symbol_fields: frozenset[str] | None = None
    # Invariants across fields and scopes: (default, {symbol: values}) -> one reason per breach.
    check: Callable[[M, Mapping[str, M]], list[str]] | None = None

    def key(self, scope: str) -> str:
        return f"{self.prefix}.{scope}"


@dataclass(frozen=True)
class Values(Generic[M]):
    """The values in force: the default, and each symbol that has its own entry."""

    default: M
    symbols: Mapping[str, M] = field(default_factory=dict)

    def for_symbol(self, symbol: str) -> M:
        return self.symbols.get(symbol, self.default)

    def scopes(self) -> dict[str, M]:
        return {DEFAULT_SCOPE: self.default, **self.symbols}


@dataclass(frozen=True)
class Refusal:
    """One refused entry or part of one: why (`invalid`, `max_step`, `restart_required`)."""

    key: str
    reason: str
    detail: str
    fields: tuple[str, ...] = (ANY_FIELD,)
    whole: bool = True  # False: the rest of the entry applied


Layers = dict[str, dict[str, Any]]


class LayeredModel(Generic[M]):
    """Entries by scope over a base, built into `Values`: parsing, validation, live rules."""

    def __init__(self, spec: ConfigSpec[M], base: M) -> None:
        self.spec = spec
        self.base = base
        self._base_fields = base.model_dump()

    def scope_of(self, key: str) -> str:
        """The scope of `key`, or raise ConfigError naming what keys this service takes."""
        prefix = f"{self.spec.prefix}."
        scope = key[len(prefix) :] if key.startswith(prefix) else ""
        if not scope:
            raise ConfigError([f"key must be {prefix}<scope>, was {key!r}"])
        if scope != DEFAULT_SCOPE and self.spec.symbol_fields == frozenset():
            default = self.spec.key(DEFAULT_SCOPE)
            raise ConfigError(
                [
                    f"{self.spec.prefix} parameters apply to every symbol: use key {default!r}, "
                    f"was {key!r}"
                ]
            )
        return scope

    def parse(self, key: str, scope: str, raw: bytes) -> tuple[dict[str, Any], dict[str, str]]:
        """One entry as the fields it sets, and the settings-only fields it names (with why)."""
        try:
            value = json.loads(raw) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            reason = f"{key}: expected a JSON object, received invalid JSON ({error})"
            raise ConfigError([reason]) from None
        if not isinstance(value, dict):
            raise ConfigError([f"{key}: expected a JSON object, received {type(value).__name__}"])
        fields = set(self.spec.model.model_fields)
        if scope != DEFAULT_SCOPE and self.spec.symbol_fields is not None:
            fields &= self.spec.symbol_fields
        layer = {name: item for name, item in value.items() if name in fields}
        settings = {
            name: "needs a restart: set it in the environment"
            for name in value
            if name in self.spec.settings_only
        }
        stray = sorted(set(value) - set(layer) - set(settings))
        if stray:
            where = "a symbol's entry" if scope != DEFAULT_SCOPE else "this service"
            raise ConfigError(
                [f"{key}: fields {stray} are not for {where}; it takes {sorted(fields)}"], stray
            )
        return layer, settings

    def build(self, layers: Layers) -> Values[M]:
        """The values `layers` give, validated as a whole, or raise ConfigError."""
        default_layer = layers.get(DEFAULT_SCOPE, {})
        default = self._validate(DEFAULT_SCOPE, [default_layer])
        symbols = {
            scope: self._validate(scope, [default_layer, layer])
            for scope, layer in sorted(layers.items())
            if scope != DEFAULT_SCOPE
        }
        reasons = self.spec.check(default, symbols) if self.spec.check else []
        if reasons:
            raise ConfigError(reasons)
        return Values(default, symbols)

    def _validate(self, scope: str, layers: list[dict[str, Any]]) -> M:
        merged = dict(self._base_fields)
        for layer in layers:
            merged.update(layer)
        entry_fields = frozenset(name for layer in layers for name in layer)
        try:
            return self.spec.model.model_validate(merged, context={ENTRY_FIELDS: entry_fields})
        except ValidationError as error:
            problems = error.errors(include_url=False)
            reasons = [
                f"{scope}: {'.'.join(str(part) for part in item['loc'])}: {item['msg']} "
                f"(received {item.get('input')!r})"
                for item in problems
            ]
            names = {str(item["loc"][0]) for item in problems if item["loc"]}
            raise ConfigError(reasons, sorted(names)) from None

    def live_rules(
        self, running: Values[M], proposed: Values[M]
    ) -> tuple[Values[M], list[str], list[str]]:
        """What applies to a running service: (values, refused restart-only fields, step reasons).

        Step reasons refuse the change whole; a changed restart-only field keeps its running value.
        """
        scopes = sorted(set(running.symbols) | set(proposed.symbols))
        steps: list[str] = []
        for scope in [DEFAULT_SCOPE, *scopes]:
            before, after = running.for_symbol(scope), proposed.for_symbol(scope)
            reasons = step_refusals(self.spec.max_step, before.model_dump(), after.model_dump())
            steps += [r if scope == DEFAULT_SCOPE else f"{scope}: {r}" for r in reasons]
        if steps:
            return running, [], steps
        refused: list[str] = []
        kept: dict[str, M] = {}
        for scope, after in proposed.scopes().items():
            before = running.for_symbol(scope)
            changed = {
                name: getattr(before, name)
                for name in sorted(self.spec.restart_required)
                if getattr(before, name) != getattr(after, name)
            }
            refused += [
                f"{name} needs a restart to change (running {old!r}, asked "
                f"{getattr(after, name)!r})"
                for name, old in changed.items()
            ]
            kept[scope] = after.model_copy(update=changed) if changed else after
        default = kept.pop(DEFAULT_SCOPE)
        return Values(default, kept), sorted(set(refused)), []


ChangeHook = Callable[[Values[M], Values[M]], Awaitable[None]]
RefusalHook = Callable[[Refusal], Awaitable[None]]


async def _nothing(*_: Any) -> None:
    return None


class LiveConfig(LayeredModel[M]):
    """A service's entries followed, applied, vetted and shown; see the module docstring.

    `symbols`, when given, are the symbols this instance runs: entries for others are ignored
    (another shard's) and refused by `vet`. `on_change(before, after)` is awaited after values
    change; `on_refused` after each refusal is recorded (it is also logged here).
    """

    def __init__(
        self,
        spec: ConfigSpec[M],
        base: M,
        symbols: Collection[str] | None = None,
        on_change: ChangeHook[M] | None = None,
        on_refused: RefusalHook | None = None,
    ) -> None:
        super().__init__(spec, base)
        self.symbols = None if symbols is None else frozenset(symbols)
        self.layers: Layers = {}
        self.values: Values[M] = self.build({})  # raises when the base breaks the model
        self.refused: dict[str, Refusal] = {}  # the last refusal per key, until the key applies
        self.settled = False  # the entries stored at start are applied
        self.live = False  # the service runs: steps and restart-only fields are enforced
        self._replayed: dict[str, bytes | None] = {}
        self._on_change: ChangeHook[M] = on_change or _nothing
        self._on_refused: RefusalHook = on_refused or _nothing

    def entries(self) -> dict[str, dict[str, Any]]:
        """The entries in force by key."""
        return {self.spec.key(scope): layer for scope, layer in self.layers.items()}

    def ours(self, scope: str) -> bool:
        return scope == DEFAULT_SCOPE or self.symbols is None or scope in self.symbols

    async def receive(self, key: str, raw: bytes | None) -> None:
        """One entry from the bucket (None: deleted); kept until `settle` while starting."""
        if not self.settled:
            self._replayed[key] = raw
            return
        await self._take(key, raw, live=self.live)

    async def settle(self) -> None:
        """Apply the entries replayed at start (the default first); later ones apply on receipt."""
        default = self.spec.key(DEFAULT_SCOPE)
        while self._replayed:
            key = min(self._replayed, key=lambda name: (name != default, name))
            await self._take(key, self._replayed.pop(key), live=False)
        self.settled = True

    def go_live(self) -> None:
        """The service has started: from now on changes are held to the live rules.

        Until then an entry that arrives after the replay (a watcher may signal the end of its
        replay before the last stored entry is in) still applies in full, as at start.
        """
        self.live = True

    def propose(self, key: str, raw: bytes | None) -> tuple[str, Layers, Values[M], dict[str, str]]:
        """(scope, layers, values, settings-only refusals) with `key` set to `raw`, or raise."""
        scope = self.scope_of(key)
        layers = dict(self.layers)
        settings: dict[str, str] = {}
        if raw is None:
            layers.pop(scope, None)
        else:
            layers[scope], settings = self.parse(key, scope, raw)
        return scope, layers, self.build(layers), settings

    def vet(self, key: str, raw: bytes | None) -> list[str]:
        """Why the running service would refuse `raw` under `key` (None: the key removed), or []
        when all of it applies."""
        try:
            scope, _, proposed, settings = self.propose(key, raw)
        except ConfigError as error:
            return error.reasons
        if not self.ours(scope):
            return [
                f"scope must be {DEFAULT_SCOPE!r} or one of {sorted(self.symbols or ())}, "
                f"was {scope!r}"
            ]
        _, restart, steps = self.live_rules(self.values, proposed)
        return steps + restart + [f"{name}: {why}" for name, why in settings.items()]

    async def _take(self, key: str, raw: bytes | None, live: bool) -> None:
        try:
            if not self.ours(self.scope_of(key)):
                return  # another shard's symbol
            _, layers, proposed, settings = self.propose(key, raw)
        except ConfigError as error:
            await self._refuse(Refusal(key, "invalid", "; ".join(error.reasons), error.fields))
            return
        restart: list[str] = []
        if live:
            proposed, restart, steps = self.live_rules(self.values, proposed)
            if steps:
                names = tuple(r.split(": ", 1)[-1].split(" ", 1)[0] for r in steps)
                await self._refuse(Refusal(key, "max_step", "; ".join(steps), names))
                return
        before, self.layers, self.values = self.values, layers, proposed
        self.refused.pop(key, None)
        partial = [*restart, *(f"{name}: {why}" for name, why in settings.items())]
        if partial:
            names = tuple(r.split(" ", 1)[0].rstrip(":") for r in partial)
            reason = "restart_required"
            await self._refuse(Refusal(key, reason, "; ".join(partial), names, whole=False))
        if proposed != before:
            _log.info("config applied", extra={"key": key})
            await self._on_change(before, proposed)

    async def _refuse(self, refusal: Refusal) -> None:
        self.refused[refusal.key] = refusal
        _log.warning(
            "config refused",
            extra={"key": refusal.key, "reason": refusal.reason, "detail": refusal.detail},
        )
        await self._on_refused(refusal)

    def status(self) -> dict[str, str]:
        """`config_refused.<key>`: why, for each key whose last entry was refused."""
        return {f"config_refused.{key}": r.detail for key, r in sorted(self.refused.items())}
