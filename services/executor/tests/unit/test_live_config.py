"""The executor's live config: live fields apply, restart-only and bad ones are refused with why."""

from __future__ import annotations

from executor.live_config import DEFAULT_KEY, SPEC, ExecutorLive
from mm_runtime.live_config import LiveConfig

RUNNING = ExecutorLive(watchdog_timeout_s=5.0, cancel_on_shutdown=True)


async def started(base: ExecutorLive = RUNNING) -> LiveConfig[ExecutorLive]:
    config = LiveConfig(SPEC, base)
    await config.settle()
    config.go_live()
    return config


async def test_live_fields_apply() -> None:
    config = await started()
    await config.receive(DEFAULT_KEY, b'{"watchdog_timeout_s": 2.5, "cancel_on_shutdown": true}')
    assert config.values.default == ExecutorLive(watchdog_timeout_s=2.5, cancel_on_shutdown=True)
    assert config.refused == {}


async def test_a_restart_only_field_is_refused_while_the_live_fields_of_its_entry_apply() -> None:
    config = await started()
    await config.receive(DEFAULT_KEY, b'{"symbols": ["ETHUSDT"], "watchdog_timeout_s": 3}')
    assert config.values.default.watchdog_timeout_s == 3.0
    refusal = config.refused[DEFAULT_KEY]
    assert refusal.fields == ("symbols",)
    assert "symbols: needs a restart: set it in the environment" in refusal.detail
    assert not refusal.whole


async def test_unknown_and_invalid_fields_refuse_the_entry_each_with_a_reason() -> None:
    config = await started()
    reasons = config.vet(DEFAULT_KEY, b'{"colour": 1}')
    assert "fields ['colour'] are not for this service" in reasons[0]
    reasons = config.vet(DEFAULT_KEY, b'{"watchdog_timeout_s": -1, "cancel_on_shutdown": 1}')
    assert any("must be seconds in [0.5, 60.0], was -1" in reason for reason in reasons)
    assert any("cancel_on_shutdown: Input should be a valid boolean" in r for r in reasons)
    await config.receive(DEFAULT_KEY, b'{"watchdog_timeout_s": -1, "cancel_on_shutdown": true}')
    assert config.values.default == RUNNING
    assert config.refused[DEFAULT_KEY].fields == ("watchdog_timeout_s",)


async def test_per_symbol_keys_and_non_objects_are_refused() -> None:
    config = await started()
    assert "use key 'executor.default'" in config.vet("executor.BTCUSDT", b"{}")[0]
    assert "JSON object" in config.vet(DEFAULT_KEY, b"[1, 2]")[0]
    assert "invalid JSON" in config.vet(DEFAULT_KEY, b"\xff{")[0]


async def test_a_deleted_entry_restores_the_settings_values() -> None:
    config = await started()
    await config.receive(DEFAULT_KEY, b'{"watchdog_timeout_s": 2.5}')
    await config.receive(DEFAULT_KEY, None)
    assert config.values.default == RUNNING


async def test_turning_cancel_on_shutdown_off_live_is_refused_with_the_way_to_do_it() -> None:
    config = await started()
    reasons = config.vet(DEFAULT_KEY, b'{"cancel_on_shutdown": false}')
    assert "EXECUTOR_CANCEL_ON_SHUTDOWN=false" in reasons[0]


async def test_settings_that_turned_cancel_on_shutdown_off_still_start() -> None:
    config = await started(RUNNING.model_copy(update={"cancel_on_shutdown": False}))
    assert not config.values.default.cancel_on_shutdown
    assert config.vet(DEFAULT_KEY, b'{"watchdog_timeout_s": 4}') == []


async def test_a_watchdog_of_minutes_or_infinity_is_refused() -> None:
    config = await started()
    for raw in (b'{"watchdog_timeout_s": 300}', b'{"watchdog_timeout_s": Infinity}'):
        assert "must be seconds in [0.5, 60.0]" in config.vet(DEFAULT_KEY, raw)[0]


async def test_raising_the_watchdog_beyond_its_step_is_refused_but_lowering_it_is_not() -> None:
    config = await started()
    assert "may rise at most 2x" in config.vet(DEFAULT_KEY, b'{"watchdog_timeout_s": 30}')[0]
    assert config.vet(DEFAULT_KEY, b'{"watchdog_timeout_s": 1}') == []


async def test_a_poisoned_entry_at_start_leaves_the_settings_values_in_force() -> None:
    config = LiveConfig(SPEC, RUNNING)
    await config.receive(DEFAULT_KEY, b'{"watchdog_timeout_s": Infinity}')
    await config.settle()
    config.go_live()
    assert config.values.default == RUNNING
    assert "was inf" in config.status()[f"config_refused.{DEFAULT_KEY}"]
