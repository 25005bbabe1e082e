"""Before/after of `mm backtest`'s replay speed: this tree against a git revision, in one run.

The revision's Python sources are exported (`git archive`) to a scratch directory and put first
on the path of its child processes; the compiled Rust book is this venv's for both sides. Both
replay the same synthetic recording (`bench_backtest`'s rows), one child per replay, the two sides
alternating, so load from other work on the machine falls on both alike. Speed is frames per
CPU second of the replay (process time: less disturbed by a busy machine than wall time), the
median of `--repeats` pairs, and the ratio is the median of the pairs' ratios. The fills, the
ledger's snapshots and the run's counts of both sides are compared byte for byte: a speed-up
that changes a result is reported as one. A second table replays once per side the model
variants the timed rows do not exercise (the venue's feed, the probabilistic queue, zero
latency, tight risk limits) and compares their results the same way.

    .venv/bin/python bench/compare_backtest.py --baseline main --repeats 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec
from revision_tree import export

HERE = Path(__file__).resolve().parent


# Checked for sameness only: label, quoter fields, other parameters, feed and order latency (ms).
VARIANTS: tuple[tuple[str, dict[str, object], dict[str, object], float, float], ...] = (
    ("venue feed (our orders in the book)", {}, {"feed": "venue"}, 2, 10),
    ("probabilistic queue", {}, {"queue": "probabilistic"}, 2, 10),
    ("zero latency", {}, {}, 0, 0),
    ("tight risk limits", {}, {"risk": {"default": {"max_position_lots": 20}}}, 2, 10),
    ("1 level, 30 ms orders", {"levels": 1}, {}, 5, 30),
)


def child(data: Path, row: int, variant: int | None = None) -> None:
    """One replay of a row (or a variant) in this process; prints frames/CPU-s and a digest of
    the results."""
    sys.path.insert(0, str(HERE))
    from bench_backtest import ROWS, params_document

    import mm_backtest
    from mm_backtest.engine import Backtest
    from mm_backtest.latency import constant_ms
    from mm_backtest.params import parse_params

    root = os.environ.get("MM_COMPARE_ROOT")
    if root and not mm_backtest.__file__.startswith(root):
        raise SystemExit(f"mm_backtest imported from {mm_backtest.__file__}, not from {root}")
    quoter, extra, feed_ms, order_ms = ROWS[row][1], {}, 2.0, 10.0
    if variant is not None:
        _label, quoter, extra, feed_ms, order_ms = VARIANTS[variant]
    run = Backtest(
        parse_params(params_document(quoter) | extra),
        [data],
        constant_ms(feed_ms),
        constant_ms(order_ms),
    )
    started = time.process_time()
    result = run.run()
    elapsed = time.process_time() - started
    outcome = {
        "fills": result.fills,
        "snapshots": result.snapshots,
        "counts": result.counts,
        "skipped": result.skipped,
        "frames": result.frames,
        "window": [result.start_ns, result.end_ns],
    }
    digest = hashlib.sha256(msgspec.json.encode(outcome)).hexdigest()
    print(
        json.dumps({"fps": result.frames / elapsed, "digest": digest, "fills": len(result.fills)})
    )


def replay(
    data: Path, row: int, path: list[str], root: Path | None, variant: int | None = None
) -> dict[str, float | str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path), MM_COMPARE_ROOT=str(root or ""))
    command = [sys.executable, __file__, "--child", str(row), "--data", str(data)]
    if variant is not None:
        command += ["--variant", str(variant)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return dict(json.loads(out.splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="main", help="git revision to compare with")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=20.0, help="market time recorded")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--variant", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--no-variants", action="store_true", help="skip the table of model variants"
    )
    arguments = parser.parse_args()
    if arguments.child is not None:
        child(arguments.data, arguments.child, arguments.variant)
        return
    sys.path.insert(0, str(HERE))
    from bench_backtest import FRAMES_PER_S, ROWS, params_document

    from mm_backtest.params import parse_params
    from mm_backtest.synthetic import write_recording

    with tempfile.TemporaryDirectory() as scratch:
        data, base = Path(scratch) / "data", Path(scratch) / "base"
        data.mkdir()
        base_path = export(arguments.baseline, base)
        configs = list(parse_params(params_document()).instruments)
        write_recording(data, configs, arguments.seconds, FRAMES_PER_S, volatility_ticks=2)
        print(f"baseline {arguments.baseline}, {arguments.repeats} interleaved pairs per row")
        print()
        print(
            "| strategy | fills | before frames/CPU-s | after frames/CPU-s | after/before | same |"
        )
        print("|---|---|---|---|---|---|")
        for row, (label, _quoter) in enumerate(ROWS):
            before, after, ratios, same = [], [], [], True
            for _ in range(arguments.repeats):
                old = replay(data, row, base_path, base)
                new = replay(data, row, [], None)
                before.append(float(old["fps"]))
                after.append(float(new["fps"]))
                ratios.append(float(new["fps"]) / float(old["fps"]))
                same = same and old["digest"] == new["digest"] and old["fills"] == new["fills"]
            print(
                f"| {label} | {new['fills']} | {statistics.median(before):,.0f} | "
                f"{statistics.median(after):,.0f} | {statistics.median(ratios):.2f}x | "
                f"{'yes' if same else '**NO**'} |"
            )
        if not arguments.no_variants:
            variants(data, base_path, base)


def variants(data: Path, base_path: list[str], base: Path) -> None:
    print()
    print("| variant (checked once per side) | fills | same |")
    print("|---|---|---|")
    for index, (label, *_rest) in enumerate(VARIANTS):
        old = replay(data, 0, base_path, base, index)
        new = replay(data, 0, [], None, index)
        same = old["digest"] == new["digest"] and old["fills"] == new["fills"]
        print(f"| {label} | {new['fills']} | {'yes' if same else '**NO**'} |")


if __name__ == "__main__":
    main()
