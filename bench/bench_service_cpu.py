"""CPU per message of each fast-path service's handler in one process, this tree against a revision.

The services' handlers are wired as `service_handlers` describes (no bus, no sockets) and fed the
latency baseline's synthetic `orderbook.50` frames (`latency_pipeline.synthetic_frames`: 10
symbols, the touch moving -2..+2 ticks a frame), each service's output feeding the next. The
process CPU time of each handler call is summed per service and divided by its unit: the
gateway per book frame, the quoter per book top (a touch change) and per intent it publishes,
risk per book top and per intent, the executor per target. The gateway traces one book update in
its `tick_trace_interval` (the tree's default), so downstream services see that tree's mix of
traced and untraced messages (`MM_BENCH_TRACE_INTERVAL=N` sets it on both sides). The cost of
reading the clock is measured and taken off.

With `--baseline REV` the revision's Python sources (`git archive`) run first on the path of
alternate child processes (as `compare_backtest.py` does), `--repeats` pairs; the table gives the
median of each side and the median of the pairs' ratios, so the machine's load falls on both
sides alike. The counts of intents and targets of both sides are printed: a change that makes
the services decide differently shows there.

    .venv/bin/python bench/bench_service_cpu.py                         # this tree only
    .venv/bin/python bench/bench_service_cpu.py --baseline main --repeats 5
    MM_BENCH_TRACE_INTERVAL=1 .venv/bin/python bench/bench_service_cpu.py --baseline main
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from revision_tree import export

HERE = Path(__file__).resolve().parent
SYMBOLS = 10
FRAMES = 1500  # per symbol
WARM_UP = 100  # frames per symbol run before the clock starts
ROWS = (  # (key, service, unit, issue-18 target in us)
    ("gateway_frame", "md_gateway", "book frame", 8.0),
    ("quoter_top", "quoter", "book top", 40.0),
    ("quoter_intent", "quoter", "intent published", None),
    ("risk_top", "risk", "book top", None),
    ("risk_intent", "risk", "intent", 40.0),
    ("executor_target", "executor", "target", 60.0),
)


def child() -> None:
    """One measurement in this process; prints one JSON line."""
    sys.path.append(str(HERE))
    from latency_pipeline import synthetic_frames
    from service_handlers import Executor, Gateway, Quoter, Risk, decisions

    from md_gateway.settings import GatewaySettings
    from mm_proto import OrderTarget, QuoteIntent

    root = os.environ.get("MM_COMPARE_ROOT")
    import md_gateway

    if root and not md_gateway.__file__.startswith(root):  # type: ignore[operator]
        raise SystemExit(f"md_gateway imported from {md_gateway.__file__}, not from {root}")
    symbols = [f"S{index:02d}USDT" for index in range(SYMBOLS)]
    streams = [synthetic_frames(symbol, FRAMES, seed) for seed, symbol in enumerate(symbols)]
    now_ns = time.time_ns()
    interval = int(os.environ.get("MM_BENCH_TRACE_INTERVAL", "0"))  # 0: the tree's default
    gateway, quoter = Gateway(symbols, interval), Quoter(symbols, now_ns)
    risk, executor = Risk(symbols, now_ns), Executor(symbols, time.monotonic())
    clock = time.process_time_ns
    spent = dict.fromkeys(("gateway", "quoter", "risk_top", "risk_intent", "executor"), 0)
    counts = dict.fromkeys(("frame", "top", "intent", "target"), 0)
    digest = hashlib.sha256()  # what the services decided: must not change with their speed
    gc.collect()
    gc.freeze()
    for position in range(FRAMES):
        if position == WARM_UP:
            spent = dict.fromkeys(spent, 0)
            counts = dict.fromkeys(counts, 0)
        for frames in streams:
            t0 = clock()
            out = gateway.on_frame(frames[position])
            t1 = clock()
            spent["gateway"] += t1 - t0
            counts["frame"] += 1
            for sent in out:
                if not sent.subject.startswith("md.book."):
                    continue
                counts["top"] += 1
                t0 = clock()
                risk.on_book(sent)
                t1 = clock()
                intents = quoter.on_book(sent)
                t2 = clock()
                spent["risk_top"] += t1 - t0
                spent["quoter"] += t2 - t1
                for intent in intents:
                    digest.update(repr(decisions(intent, QuoteIntent)).encode())
                    counts["intent"] += 1
                    t0 = clock()
                    targets = risk.on_intent(intent)
                    t1 = clock()
                    spent["risk_intent"] += t1 - t0
                    for target in targets:
                        digest.update(repr(decisions(target, OrderTarget)).encode())
                        counts["target"] += 1
                        t0 = clock()
                        executor.on_target_message(target)
                        t1 = clock()
                        spent["executor"] += t1 - t0
    overhead = _clock_cost(clock)
    calls_of = {"gateway": counts["frame"], "quoter": counts["top"], "risk_top": counts["top"],
                "risk_intent": counts["intent"], "executor": counts["target"]}  # fmt: skip
    net = {stage: spent[stage] - overhead * calls_of[stage] for stage in spent}
    per = {
        "gateway_frame": (net["gateway"], counts["frame"]),
        "quoter_top": (net["quoter"], counts["top"]),
        "quoter_intent": (net["quoter"], counts["intent"]),
        "risk_top": (net["risk_top"], counts["top"]),
        "risk_intent": (net["risk_intent"], counts["intent"]),
        "executor_target": (net["executor"], counts["target"]),
    }
    result: dict[str, object] = {
        key: total / max(1, count) / 1000 for key, (total, count) in per.items()
    }
    result.update(counts)
    default = GatewaySettings.model_fields["tick_trace_interval"].default
    result["trace_interval"] = interval or default
    result["clock_ns"] = overhead
    digest.update(repr(executor.venue.requests()).encode())
    # Risk's events (observed values and limits as sent) and its per-check outcome counts.
    digest.update(repr((risk.events, risk.outcome_counts())).encode())
    result["risk_events"] = len(risk.events)
    result["digest"] = digest.hexdigest()
    print(json.dumps(result))


def _clock_cost(clock: object) -> int:
    """ns one pair of clock reads adds to a measured call (the median of many)."""
    read = clock  # type: ignore[assignment]
    samples = []
    for _ in range(50):
        t0 = read()  # type: ignore[operator]
        for _ in range(200):
            read()  # type: ignore[operator]
        samples.append((read() - t0) / 200)  # type: ignore[operator]
    return int(statistics.median(samples))


def measure(path: list[str], root: Path | None) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path), MM_COMPARE_ROOT=str(root or ""))
    command = [sys.executable, __file__, "--child"]
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return dict(json.loads(out.splitlines()[-1]))


def report(runs: list[dict[str, float]], base: list[dict[str, float]]) -> None:
    last = runs[-1]
    print(f"{SYMBOLS} symbols x {FRAMES - WARM_UP} frames measured; us of process CPU per unit")
    if base:
        same = all(run["digest"] == base[0]["digest"] for run in runs + base)
        print(f"decisions (intents, targets, venue requests, risk events and check outcome counts)"
              f" the same on both sides: "
              f"{'yes' if same else '**NO**'}")  # fmt: skip
        print(
            f"tick_trace_interval before {base[-1]['trace_interval']}, after "
            f"{last['trace_interval']}; counts before/after: tops {base[-1]['top']}/{last['top']}"
            f", intents {base[-1]['intent']}/{last['intent']}, targets "
            f"{base[-1]['target']}/{last['target']}, risk events "
            f"{base[-1].get('risk_events')}/{last.get('risk_events')}"
        )
        print("\n| service | per | before (us) | after (us) | after/before | target (us) |")
        print("|---|---|---|---|---|---|")
    else:
        print(f"tick_trace_interval {last['trace_interval']}; tops {last['top']}, intents "
              f"{last['intent']}, targets {last['target']}")  # fmt: skip
        print("\n| service | per | us | target (us) |\n|---|---|---|---|")
    for key, service, unit, target in ROWS:
        after = statistics.median(run[key] for run in runs)
        goal = "" if target is None else f"{target:g}"
        if base:
            before = statistics.median(run[key] for run in base)
            ratio = statistics.median(
                new[key] / old[key] for new, old in zip(runs, base, strict=True)
            )
            print(f"| {service} | {unit} | {before:.1f} | {after:.1f} | {ratio:.2f} | {goal} |")
        else:
            print(f"| {service} | {unit} | {after:.1f} | {goal} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="", help="git revision to compare with")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child()
        return
    runs: list[dict[str, float]] = []
    base: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as scratch:
        base_path = export(arguments.baseline, Path(scratch)) if arguments.baseline else []
        for _ in range(arguments.repeats):
            if arguments.baseline:
                base.append(measure(base_path, Path(scratch)))
            runs.append(measure([], None))
    if arguments.baseline:
        print(f"baseline {arguments.baseline}, {arguments.repeats} interleaved pairs")
    report(runs, base)


if __name__ == "__main__":
    main()
