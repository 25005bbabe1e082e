"""`python -m recorder.generate`: the simulator's market recorded through the recorder."""

from __future__ import annotations

from pathlib import Path

from recorder import Kind, read
from recorder.generate import main

from .conftest import book_runs


def test_the_generator_records_the_simulated_market_through_the_recorder(tmp_path: Path) -> None:
    main(["--out", str(tmp_path), "--seconds", "1.5", "--rate", "20", "--symbols", "BTCUSDT"])
    frames = list(read(tmp_path))
    assert {f.symbol for f in frames} == {"BTCUSDT"}
    (run,) = book_runs(frames)
    assert len(run["orderbook.50.BTCUSDT"]) >= 5
    assert [f.reason for f in frames if f.kind is Kind.GAP] == ["recorder started"]
