"""KV config entries: live fields apply, restart-only and unknown fields are refused with why."""

from __future__ import annotations

from executor.live_config import DEFAULT_KEY, read_entry


def test_live_fields_apply() -> None:
    change = read_entry(DEFAULT_KEY, b'{"watchdog_timeout_s": 2.5, "cancel_on_shutdown": true}')
    assert change.applied == {"watchdog_timeout_s": 2.5, "cancel_on_shutdown": True}
    assert change.refused == {}


def test_restart_only_unknown_and_invalid_fields_are_refused_each_with_a_reason() -> None:
    change = read_entry(
        DEFAULT_KEY,
        b'{"symbols": ["ETHUSDT"], "colour": 1, "watchdog_timeout_s": -1, "cancel_on_shutdown": 1}',
    )
    assert change.applied == {}
    assert change.refused["symbols"] == "needs a restart: set it in the environment"
    assert change.refused["colour"].startswith("unknown field")
    assert change.refused["watchdog_timeout_s"] == "must be seconds in [0.5, 60.0], was -1"
    assert change.refused["cancel_on_shutdown"] == "must be true or false, was 1"


def test_per_symbol_keys_and_non_objects_are_refused() -> None:
    assert "use key" in read_entry("executor.BTCUSDT", b"{}").refused["*"]
    assert "JSON object" in read_entry(DEFAULT_KEY, b"[1, 2]").refused["*"]
    assert "not JSON" in read_entry(DEFAULT_KEY, b"\xff{").refused["*"]


def test_a_deleted_entry_asks_for_nothing() -> None:
    change = read_entry(DEFAULT_KEY, None)
    assert change.applied == {}
    assert change.refused == {}


def test_turning_cancel_on_shutdown_off_live_is_refused_with_the_way_to_do_it() -> None:
    change = read_entry(DEFAULT_KEY, b'{"cancel_on_shutdown": false}')
    assert change.applied == {}
    assert "EXECUTOR_CANCEL_ON_SHUTDOWN=false" in change.refused["cancel_on_shutdown"]


def test_a_watchdog_of_minutes_or_infinity_is_refused() -> None:
    for raw in (b'{"watchdog_timeout_s": 300}', b'{"watchdog_timeout_s": Infinity}'):
        change = read_entry(DEFAULT_KEY, raw)
        assert change.applied == {}
        assert "must be seconds in [0.5, 60.0]" in change.refused["watchdog_timeout_s"]


def test_raising_the_watchdog_beyond_its_step_is_refused_but_lowering_it_is_not() -> None:
    running = {"watchdog_timeout_s": 5.0, "cancel_on_shutdown": True}
    raised = read_entry(DEFAULT_KEY, b'{"watchdog_timeout_s": 30}', running)
    assert raised.applied == {}
    assert "may rise at most 2x" in raised.refused["watchdog_timeout_s"]
    assert read_entry(DEFAULT_KEY, b'{"watchdog_timeout_s": 1}', running).refused == {}
