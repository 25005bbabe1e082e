"""What the gate's facts cost the services: the send path's sample, and the minute's flush.

On the executor's send path each timed plan now does one more thing besides the histogram it
already fed: `TickToOrderWindow.observe` (a dict lookup and a list append). Measured here beside
that histogram's `observe`, per call, and the once-a-minute work off the path: sorting and
summarising a minute's samples per symbol (`take`), and the quoter's `ObligationFacts.pending`
per symbol. Also the cost of taking the sample when the request leaves rather than before the
wait for a rate-budget slot: per request, the send gate alone (before) against the gate plus
the observer set around it and called by the transport (`mm_bybit.send_gate`; a
`functools.partial` per timed request). Pure CPU, no I/O; best of 5 runs.

    .venv/bin/python bench/bench_gate_facts.py
"""

from __future__ import annotations

import functools
import random
import time
import timeit

from prometheus_client import CollectorRegistry

from executor.latency_window import TickToOrderWindow
from executor.metrics import ExecutorMetrics
from mm_bybit.send_gate import SEND_GATE, SEND_OBSERVER, check_send_gate
from mm_proto.examples import example_instrument
from quoter.obligation_facts import ObligationFacts
from quoter.params import QuoterParams
from quoter.strategy import SymbolQuoter

CALLS = 200_000


def per_call_ns(statement: object, calls: int = CALLS) -> float:
    return min(timeit.repeat(statement, number=calls, repeat=5)) / calls * 1e9  # type: ignore[arg-type]


def take_ns(sends: int) -> float:
    """Best of 5: summarising one symbol's minute of `sends` samples (filled untimed)."""
    rng = random.Random(7)
    best = float("inf")
    for _ in range(5):
        window = TickToOrderWindow("bybit", "linear", "bench", now_ns=0)
        for _ in range(sends):
            window.observe("BTCUSDT", rng.randrange(200_000, 50_000_000))
        started = time.perf_counter_ns()
        window.take(60_000_000_000)
        best = min(best, time.perf_counter_ns() - started)
    return best


def gate_only() -> None:
    """Before: the sender sets the gate, the transport checks it."""
    token = SEND_GATE.set(None)
    check_send_gate("order.amend")
    SEND_GATE.reset(token)


def _observed(_span: object) -> None:
    pass


def gate_and_observer() -> None:
    """After: the observer is set too (a partial, as for a timed request) and called."""
    token = SEND_GATE.set(None)
    observer = SEND_OBSERVER.set(functools.partial(_observed, None))
    check_send_gate("order.amend")
    SEND_OBSERVER.reset(observer)
    SEND_GATE.reset(token)


def main() -> None:
    window = TickToOrderWindow("bybit", "linear", "bench", now_ns=0)
    histogram = ExecutorMetrics(CollectorRegistry()).tick_to_order
    sample = 1_500_000
    rows = [
        ("send path: histogram.observe (existing)", per_call_ns(lambda: histogram.observe(0.0015))),
        (
            "send path: window.observe (added)",
            per_call_ns(lambda: window.observe("BTCUSDT", sample)),
        ),
    ]
    rows.append(("send path: send gate only (before)", per_call_ns(gate_only)))
    rows.append(("send path: send gate + observer (after)", per_call_ns(gate_and_observer)))
    for sends in (1_000, 10_000, 100_000):
        rows.append((f"minute flush: take() of {sends:,} samples", take_ns(sends)))
    quoters = {
        f"S{n}": SymbolQuoter(example_instrument(), QuoterParams(obligation_enabled=True))
        for n in range(20)
    }
    facts = ObligationFacts(quoters, "bybit", "linear", "bench", now_ns=0)
    for quoter in quoters.values():
        quoter.coverage.record(1, True)
    rows.append(
        (
            "quoter minute: pending() for 20 symbols",
            per_call_ns(lambda: [facts.pending(symbol, 2) for symbol in quoters], 10_000),
        )
    )
    width = max(len(name) for name, _ in rows)
    print(f"{'what':<{width}}  {'ns':>14}")
    for name, value in rows:
        print(f"{name:<{width}}  {value:>14,.0f}")


if __name__ == "__main__":
    main()
