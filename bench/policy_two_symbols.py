"""The policy's value on the simulator: two stacks side by side, one tended by the policy, one on
the static defaults, same simulator seed, same two symbols; prints a table from `mm report`.

    .venv/bin/python bench/policy_two_symbols.py --duration 600 --out .run/policy-compare

The simulator is left as it is (default market model, seed 7). Its two linear symbols differ in
flow as the policy sees it: the model moves the mid 1.5 ticks per step whatever the price, so
ETHUSDT (0.01 at 3 000: 0.33 bps a tick) moves about 20 times more, in bps, than BTCUSDT (0.1 at
60 000), and the same informed-trade probability makes its fills far more toxic against a quote
set in bps. Both arms run the demo quoter settings of `mm run`; the static arm leaves the policy
in dry run (it publishes what it would do and writes nothing), the policy arm turns it on with
the bounds below.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mm_cli.local_stack import StackLayout

MM = [sys.executable, "-m", "mm_cli"]
POLICY_ON = {
    "mode": "on",
    "spread": {"floor": 0.1, "home": 0.1, "ceiling": 5, "max_step": 0.5, "min_interval_s": 30},
    "size": {"floor": 1, "home": 1, "ceiling": 5, "max_step": 1, "min_interval_s": 30},
    "refresh": {"floor": 1, "home": 2, "ceiling": 10, "max_step": 2, "min_interval_s": 30},
    "inventory": {"floor": 2, "home": 10, "ceiling": 40, "max_step": 10, "min_interval_s": 60},
    "window_s": 120,
    "stale_after_s": 60,
    "min_fills": 3,
    # Toxicity thresholds are the defaults, from first principles (edge_enter_bps 0: a fill
    # whose markout plus fees is negative loses money; edge_exit_bps 0.25: half the 0.5 bps
    # spread step, what one tightening gives back per fill), not fitted to this comparison.
    "spread_step_bps": 0.5,
    "allocator": True,
    "budget_notional": 1500,
    "symbol_floor_notional": 150,
    "symbol_cap_notional": 1350,
    "rebalance_interval_s": 60,
    "rebalance_share": 0.5,
}
ARMS = {"static": 15400, "policy": 15440}


def mm(*arguments: str, layout: StackLayout) -> subprocess.CompletedProcess[str]:
    bus = ["--nats", layout.nats_url, "--bus-dir", str(layout.bus_dir)]
    return subprocess.run([*MM, *arguments, *bus], capture_output=True, text=True, check=False)


def start(out: Path, duration: float) -> dict[str, tuple[StackLayout, subprocess.Popen[bytes]]]:
    stacks = {}
    for arm, port in ARMS.items():
        run_dir = out / arm
        run_dir.mkdir(parents=True, exist_ok=True)
        with (run_dir / "mm-run.log").open("wb") as log:
            process = subprocess.Popen(
                ["nice", "-n", "19", *MM, "run", "--headless", "--duration", str(duration),
                 "--base-port", str(port), "--run-dir", str(run_dir)],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        stacks[arm] = (StackLayout(run_dir=run_dir, base_port=port), process)
    return stacks


def wait_for_policy(layout: StackLayout, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while mm("policy", "status", layout=layout).returncode != 0:
        if time.monotonic() > deadline:
            raise SystemExit(f"the policy of {layout.run_dir} did not answer in {timeout_s} s")
        time.sleep(2)


def figures(layout: StackLayout) -> dict[str, Any]:
    args = ["report", "--json", "--since", "2h", "--run-dir", str(layout.run_dir)]
    done = mm(*args, layout=layout)
    if done.returncode != 0:
        raise SystemExit(f"mm report failed for {layout.run_dir}: {done.stderr}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600)
    parser.add_argument("--out", type=Path, default=Path(".run/policy-compare"))
    arguments = parser.parse_args()
    stacks = start(arguments.out, arguments.duration)
    for layout, _ in stacks.values():
        wait_for_policy(layout)
    policy_layout = stacks["policy"][0]
    done = mm("config", "set", "policy.default", json.dumps(POLICY_ON), layout=policy_layout)
    print(done.stdout.strip() or done.stderr.strip(), file=sys.stderr)
    for _, process in stacks.values():
        process.wait()
    reports = {arm: figures(layout) for arm, (layout, _) in stacks.items()}
    (arguments.out / "reports.json").write_text(json.dumps(reports, indent=2))
    print_table(reports)


def print_table(reports: dict[str, dict[str, Any]]) -> None:
    print(f"{'symbol':<9} {'arm':<7} {'net PnL':>10} {'spread':>9} {'fees':>9} {'inventory':>10} "
          f"{'fills':>6} {'mk 10s bps':>10} {'presence':>9}")  # fmt: skip
    for symbol in sorted(reports["static"]["symbols"]):
        for arm, report in reports.items():
            row = row_of(report, symbol)
            print(f"{symbol:<9} {arm:<7} {row['net']:>10} {row['spread']:>9} {row['fees']:>9} "
                  f"{row['inventory']:>10} {row['fills']:>6} {row['markout']:>10} "
                  f"{row['presence']:>9}")  # fmt: skip


def row_of(report: dict[str, Any], symbol: str) -> dict[str, Any]:
    """The table's figures of one symbol (all colors) in `mm report --json`'s layout."""
    data = report["symbols"].get(symbol)
    if data is None:
        return dict.fromkeys(("net", "spread", "fees", "inventory", "fills", "markout", "presence"),
                             "-")  # fmt: skip
    pnl, quoting = data["pnl"], data["quoting"]
    sides = [data["markouts"][side].get("10s", {}) for side in ("buy", "sell")]
    quote = sum(float(side.get("quote", 0)) for side in sides)
    bps_weight = sum(abs(float(side.get("quote", 0)) / side["bps"]) for side in sides
                     if side.get("bps"))  # fmt: skip
    return {
        "net": f"{float(pnl['net']):.4f}",
        "spread": f"{float(pnl['spread']):.4f}",
        "fees": f"{float(pnl['fees']):.4f}",
        "inventory": f"{float(pnl['inventory']):.4f}",
        "fills": quoting["fills"],
        "markout": f"{quote / bps_weight:.3f}" if bps_weight else "-",
        "presence": f"{quoting['presence']:.3f}",
    }


if __name__ == "__main__":
    main()
