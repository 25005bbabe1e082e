"""LiveConfig's rules for any model: layers, scopes, start order, live steps and restart-only."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from mm_runtime.live_config import ENTRY_FIELDS, ConfigSpec, LiveConfig, Refusal, Values
from mm_runtime.live_steps import MaxStep


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    size: int = Field(default=10, ge=1, le=1_000)
    total: int = Field(default=100, ge=1, le=100_000)
    window_s: float = Field(default=60.0, gt=0)
    armed: bool = True

    @field_validator("armed")
    @classmethod
    def _armed_from_entries(cls, value: bool, info: ValidationInfo) -> bool:
        if not value and "armed" in (info.context or {}).get(ENTRY_FIELDS, ()):
            raise ValueError("cannot be disarmed by an entry")
        return value


def size_within_total(default: Params, symbols: Mapping[str, Params]) -> list[str]:
    scopes = {"default": default, **symbols}
    return [f"{s}: size above total" for s, p in scopes.items() if p.size > p.total]


SPEC = ConfigSpec(
    prefix="toy",
    model=Params,
    restart_required=frozenset({"window_s"}),
    settings_only=frozenset({"port"}),
    max_step={"size": MaxStep(up=2.0)},
    symbol_fields=frozenset({"size"}),
    check=size_within_total,
)


async def started(entries: dict[str, bytes], base: Params | None = None) -> LiveConfig[Params]:
    config = LiveConfig(SPEC, base or Params())
    for key, raw in entries.items():
        await config.receive(key, raw)
    await config.settle()
    config.go_live()
    return config


async def test_a_symbol_entry_overrides_the_default_entry_over_the_base() -> None:
    config = await started({"toy.BTC": b'{"size": 30}', "toy.default": b'{"size": 20}'})
    assert config.values.for_symbol("BTC").size == 30
    assert config.values.for_symbol("ETH").size == 20
    assert config.refused == {}


async def test_start_applies_the_default_first_and_refuses_what_breaks_an_invariant() -> None:
    config = await started({"toy.BTC": b'{"size": 90}', "toy.default": b'{"total": 50}'})
    assert config.values.default.total == 50
    assert "BTC" not in config.values.symbols
    assert "BTC: size above total" in config.refused["toy.BTC"].detail


async def test_a_symbol_entry_may_set_only_the_symbol_fields() -> None:
    config = await started({})
    (reason,) = config.vet("toy.BTC", b'{"total": 5}')
    assert "fields ['total'] are not for a symbol's entry" in reason
    assert config.vet("toy.default", b'{"total": 500}') == []


async def test_keys_outside_the_prefix_are_refused_with_the_expected_form() -> None:
    config = await started({})
    assert config.vet("toy.", b"{}") == ["key must be toy.<scope>, was 'toy.'"]
    assert "key must be toy.<scope>" in config.vet("other.default", b"{}")[0]


async def test_a_bound_applies_to_entries_but_not_to_the_services_own_base() -> None:
    config = await started({}, Params(armed=False))
    assert not config.values.default.armed
    assert "cannot be disarmed" in config.vet("toy.default", b'{"armed": false}')[0]


async def test_a_change_beyond_its_step_is_refused_whole_and_tightening_is_not() -> None:
    changes: list[Values[Params]] = []

    async def changed(_before: Values[Params], after: Values[Params]) -> None:
        changes.append(after)

    config = LiveConfig(SPEC, Params(), on_change=changed)
    await config.settle()
    config.go_live()
    await config.receive("toy.default", b'{"size": 25, "total": 200}')
    assert config.values.default == Params()
    assert config.refused["toy.default"].reason == "max_step"
    assert config.refused["toy.default"].fields == ("size",)
    await config.receive("toy.default", b'{"size": 5}')
    assert config.values.default.size == 5
    assert config.refused == {}  # the key applied: its refusal is cleared
    assert [values.default.size for values in changes] == [5]


async def test_restart_only_and_settings_only_fields_are_refused_while_the_rest_applies() -> None:
    refusals: list[Refusal] = []

    async def refused(refusal: Refusal) -> None:
        refusals.append(refusal)

    config = LiveConfig(SPEC, Params(), on_refused=refused)
    await config.settle()
    config.go_live()
    await config.receive("toy.default", b'{"window_s": 5, "port": 1, "size": 12}')
    assert (config.values.default.size, config.values.default.window_s) == (12, 60.0)
    (refusal,) = refusals
    assert refusal.fields == ("window_s", "port")
    assert not refusal.whole
    assert "needs a restart" in config.status()["config_refused.toy.default"]


async def test_a_deleted_entry_takes_its_layer_away() -> None:
    config = await started({"toy.default": b'{"size": 15}'})
    await config.receive("toy.default", None)
    assert config.values.default == Params()
    assert config.entries() == {}


async def test_only_the_running_symbols_are_followed_when_they_are_given() -> None:
    config = LiveConfig(SPEC, Params(), symbols=["BTC"])
    await config.settle()
    config.go_live()
    await config.receive("toy.ETH", b"{garbage")
    assert config.refused == {}
    assert "scope must be 'default' or one of ['BTC']" in config.vet("toy.ETH", b"{}")[0]


async def test_an_entry_after_the_replay_but_before_the_service_runs_applies_in_full() -> None:
    config = LiveConfig(SPEC, Params())
    await config.settle()  # a watcher may say its replay is over before the last entry is in
    await config.receive("toy.default", b'{"window_s": 5, "size": 50}')
    assert (config.values.default.window_s, config.values.default.size) == (5.0, 50)
    config.go_live()
    await config.receive("toy.default", b'{"window_s": 9}')
    assert config.values.default.window_s == 5.0


async def test_a_hostile_value_is_refused_with_a_reason_and_never_raises() -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    config = await started({"toy.default": nested, "toy.BTC": b'{"size": "12"}'})
    assert "invalid JSON" in config.refused["toy.default"].detail
    assert config.values.for_symbol("BTC").size == 12  # lax JSON numbers-as-text, as pydantic
    assert "invalid JSON" in config.vet("toy.default", b"\x00\xff")[0]
    assert "expected a JSON object, received str" in config.vet("toy.default", b'"x"')[0]
