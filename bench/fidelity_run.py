"""The long fidelity run: one recording through `mm run` in real time and through `mm backtest`
with the latencies the stack's own spans measured (docs/backtesting.md, "Fidelity").

    python bench/fidelity_run.py --out DIR [--seconds 300] [--base-port 16400]

1. A synthetic one-symbol recording at 10 frames/s (`mm_backtest.synthetic`, the documented
   recipe).
2. `mm run --headless` (under `nice -n 10`) with the simulator replaying it
   (`MM_SIM_REPLAY_FILE`), its own clock off, and this script stepping it, each book frame at its
   recorded time after the first: the simulator's own clock plays one book frame per 100 ms step
   whatever the recording's spacing and sleeps 100 ms *after* each step (under load it falls
   behind); stepping here also says which frame was showing when.
   The fast-path services export spans to files (`latency_spans.trace_env`).
3. The window starts at the frame the stack placed its first order on and runs `--seconds`;
   the stack's fills are the simulator's executions, read before the stack stops.
4. `python -m mm_backtest.span_latency` turns the spans of the window into `feed.txt` and
   `order.txt`; `mm backtest --latency feed=@feed.txt --latency order=@order.txt` replays the
   same window, and for comparison with constant latencies.
5. A table of fills and net PnL (cash from the fills minus fees plus the position at the window's
   last mid, the same arithmetic for every row), also written to `DIR/table.md`.

Not in `make bench`: it takes `--seconds` plus about four minutes (start, stop, backtests).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from latency_spans import trace_env

from mm_backtest.synthetic import write_recording
from mm_orderbook import OrderBook
from mm_sim.settings import InstrumentConfig, SimSettings
from mm_sim.testing import Admin

BIN = Path(sys.executable).parent
WARM_UP_LIMIT_S = 150  # the stack must place an order within this after the first step
MAKER_FEE = "-0.00005"
Fill = tuple[bool, Decimal, Decimal, Decimal]  # buy, quantity, price, fee
QUOTER = {"min_spread_bps": 0.1, "k_vola_spread": 0.1, "refresh_price_ticks": 2}  # `mm run`'s


def _btcusdt() -> InstrumentConfig:
    return next(
        c for c in SimSettings().instruments if c.symbol == "BTCUSDT" and c.category == "linear"
    )


def _recording(out: Path, seconds: int) -> Path:
    length = seconds + WARM_UP_LIMIT_S + 10
    write_recording(out, [_btcusdt()], length, 10, seed=11, volatility_ticks=3, trade_size_lots=300)
    [path] = out.rglob("*.jsonl")
    return path


def _book_frames(recording: Path) -> list[tuple[int, bytes]]:
    """(venue ms, line) of each book frame, in order: the simulator's steps."""
    return [
        (json.loads(line)["ts"], line)
        for line in recording.read_bytes().splitlines()
        if b'"topic":"orderbook.' in line
    ]


def _mid(frames: list[tuple[int, bytes]], last: int) -> Decimal:
    """The recording's mid after book frame `last` (both runs are marked at it)."""
    book = OrderBook("BTCUSDT", "0.10", "0.001", depth=50)
    for _, line in frames[: last + 1]:
        book.apply_frame(line)
    assert book.best_bid is not None
    assert book.best_ask is not None
    return (Decimal(book.best_bid[0]) + book.best_ask[0]) / 20


def _net(fills: list[Fill], mid: Decimal) -> Decimal:
    cash = sum((q * p * (-1 if buy else 1) - fee for buy, q, p, fee in fills), Decimal(0))
    return cash + sum((q if buy else -q for buy, q, _, _ in fills), Decimal(0)) * mid


def _stack_env(run_dir: Path, recording: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "MM_SIM_REPLAY_FILE": str(recording),
            "MM_SIM_REPLAY_CATEGORY": "linear",
            "MM_SIM_MARKET__AUTO_STEP": "false",
            # What the simulator charges us (mm run's default), so the quoter prices with it.
            "QUOTER_MAKER_FEE_RATE": MAKER_FEE,
        }
    )
    for settings in trace_env(run_dir / "spans").values():
        env.update(settings)
    return env


async def _admin(run_dir: Path, base_port: int, stack: subprocess.Popen[bytes]) -> Admin:
    token_file = run_dir / "secrets" / "sim_admin_token"
    url = f"http://127.0.0.1:{base_port + 10}"  # mm_cli.local_stack.StackLayout.sim_port
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if stack.poll() is not None:
            raise RuntimeError(f"mm run ended early ({stack.returncode}); see its log")
        if token_file.exists():
            admin = Admin(url, token_file.read_text().strip())
            try:
                await admin.executions()
                return admin
            except (OSError, RuntimeError, aiohttp.ClientError):
                pass  # not listening yet
        await asyncio.sleep(0.5)
    raise RuntimeError("the simulator did not answer within 120 s")


async def _step_in_real_time(
    admin: Admin, frame_ms: list[int], seconds: int
) -> tuple[list[int], int, int]:
    """Step each book frame at its recorded time after the first (a simulator step plays one
    book frame, and the recording skips the steps where the book did not change) until
    `seconds` after the first order. Returns each step's wall ns, the first-order frame index
    and the last frame index."""
    steps: list[int] = []
    first_order = -1
    start = time.monotonic()
    for index, at_ms in enumerate(frame_ms):
        await asyncio.sleep(max(0.0, start + (at_ms - frame_ms[0]) / 1000 - time.monotonic()))
        await admin.step(1)
        steps.append(time.time_ns())
        if first_order < 0 and index % 5 == 4 and (await admin.requests())["list"]:
            first_order = index
        if first_order < 0 and (at_ms - frame_ms[0]) / 1000 > WARM_UP_LIMIT_S:
            raise RuntimeError(f"no order within {WARM_UP_LIMIT_S} s of stepping")
        if first_order >= 0 and at_ms - frame_ms[first_order] >= seconds * 1000:
            break
    return steps, first_order, len(steps) - 1


def _start_stack(args: argparse.Namespace, recording: Path) -> subprocess.Popen[bytes]:
    run_dir = args.out / "run"
    argv = ["nice", "-n", "10", str(BIN / "mm"), "run", "--headless", "--symbols", "BTCUSDT"]
    argv += ["--base-port", str(args.base_port), "--run-dir", str(run_dir)]
    (run_dir / "spans").mkdir(parents=True, exist_ok=True)  # the file exporter does not make it
    with (args.out / "mm-run.log").open("wb") as log:
        return subprocess.Popen(argv, env=_stack_env(run_dir, recording), stdout=log, stderr=log)


async def _stack_run(
    args: argparse.Namespace, stack: subprocess.Popen[bytes], recording: Path
) -> dict[str, Any]:
    run_dir = args.out / "run"
    try:
        admin = await _admin(run_dir, args.base_port, stack)
        frame_ms = [at for at, _ in _book_frames(recording)]
        steps, first, last = await _step_in_real_time(admin, frame_ms, args.seconds)
        # A precise first order: the first accepted create's time, on the frame showing then.
        created = (await admin.requests())["list"][0]["ts_ms"] * 1_000_000
        first = max(i for i, at in enumerate(steps) if at <= created or i == 0)
        await asyncio.sleep(1.0)  # answers to the last frame's orders land
        executions = (await admin.executions())["list"]
        end_ns = time.time_ns()
    finally:
        stack.send_signal(signal.SIGINT)
        try:
            stack.wait(90)
        except subprocess.TimeoutExpired:
            stack.kill()
            stack.wait()
    late = [
        at - steps[0] - (ms - frame_ms[0]) * 1_000_000
        for at, ms in zip(steps, frame_ms, strict=False)
    ]
    return {
        "trades": [row for row in executions if row.get("execType") == "Trade"],
        "first": first,
        "last": last,
        "window_ns": (steps[first], end_ns),
        "steps_ns": steps,  # each step's wall time: a frame's time on the stack's clock
        "step_late_ms": (sorted(late)[len(late) // 2] / 1e6, max(late) / 1e6),
    }


def _backtest(
    args: argparse.Namespace, window_s: tuple[float, float], feed: str, order: str, seed: int
) -> tuple[list[Fill], str]:
    """One `mm backtest` of the window; its fills and its command line."""
    document = {
        "instruments": [_btcusdt().model_dump(mode="json")],
        "quoter": QUOTER,
        "venue": {"maker_fee_rate": MAKER_FEE, "initial_balances": {"USDT": "100000", "BTC": "1"}},
        "feed": "venue",  # the simulator's feed, our orders in it, as the stack's gateway sees
        "seed": seed,
    }
    name = "measured" if feed.startswith("@") else f"{feed}-{order}"
    params, out = args.out / f"fid-{seed}.json", args.out / f"bt-{name}-{seed}"
    params.write_text(json.dumps(document, indent=1))
    command = [
        str(BIN / "mm"),
        "backtest",
        "--data",
        str(args.out / "rec"),
        "--params",
        str(params),
    ]
    command += ["--latency", f"feed={feed}", "--latency", f"order={order}"]
    command += ["--from", f"{window_s[0]:.4f}", "--to", f"{window_s[1]:.4f}", "--out", str(out)]
    subprocess.run(["nice", "-n", "10", *command], check=True, capture_output=True)
    fills = []
    for line in (out / "fills.jsonl").read_text().splitlines():
        fill = json.loads(line)
        qty, price = Decimal(fill["size_lots"]) / 1000, Decimal(fill["price_ticks"]) / 10
        fills.append((fill["side"] == "buy", qty, price, Decimal(fill["fee"])))
    return fills, " ".join(command).replace(str(args.out) + "/", "")


def _extract(args: argparse.Namespace, window_ns: tuple[int, int]) -> str:
    spans = sorted((args.out / "run" / "spans").glob("*.jsonl"))
    if not spans:
        raise RuntimeError("the stack exported no spans; see DIR/run/logs")
    command = [sys.executable, "-m", "mm_backtest.span_latency", *map(str, spans)]
    command += ["--out", str(args.out / "latency"), "--from", str(window_ns[0])]
    command += ["--to", str(window_ns[1])]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return done.stdout


def _quantiles(path: Path) -> str:
    values = sorted(float(v) for v in path.read_text().splitlines() if not v.startswith("#"))
    pick = [values[int(q * (len(values) - 1))] for q in (0.5, 0.9, 0.99)]
    return f"n={len(values)} p50={pick[0]:.1f} p90={pick[1]:.1f} p99={pick[2]:.1f} ms"


def _row(label: str, fills: list[Fill], mid: Decimal) -> str:
    return f"| {label} | {len(fills)} | {_net(fills, mid):.4f} |"


def _backtest_rows(args: argparse.Namespace, stack: dict[str, Any]) -> list[str]:
    """The table: the stack's row, the measured latencies over `--seeds` draws, constants."""
    window_s, mid = tuple(stack["window_s"]), Decimal(stack["mid"])
    fills = [(buy, Decimal(q), Decimal(p), Decimal(fee)) for buy, q, p, fee in stack["fills"]]
    rows = [_row("stack (`mm run`) + simulator replay, real time", fills, mid)]
    measured = "@latency/feed.txt", "@latency/order.txt"
    feed, order = (str(args.out / text[1:]) for text in measured)
    results = [
        _backtest(args, window_s, f"@{feed}", f"@{order}", s) for s in range(1, args.seeds + 1)
    ]
    for seed, (bt_fills, _) in enumerate(results, 1):
        rows.append(_row(f"backtest, measured latencies, seed {seed}", bt_fills, mid))
    counts = [len(bt_fills) for bt_fills, _ in results]
    nets = [_net(bt_fills, mid) for bt_fills, _ in results]
    rows.append(
        f"| backtest, measured latencies, mean of {len(results)} seeds "
        f"| {sum(counts) / len(counts):.1f} | {sum(nets) / len(nets):.4f} |"
    )
    commands = [results[0][1]]
    for constant in args.constant:
        feed_ms, order_ms = constant.split("/")
        bt_fills, command = _backtest(args, window_s, feed_ms, order_ms, 1)
        rows.append(_row(f"backtest, feed {feed_ms} ms, order {order_ms} ms", bt_fills, mid))
        commands.append(command)
    return ["| run | fills | net PnL |", "|---|---|---|", *rows, "", *commands]


def _run_stack(args: argparse.Namespace) -> dict[str, Any]:
    """The stack's half, kept in DIR/stack.json so that `--backtest-only` can redo the rest."""
    recording = _recording(args.out / "rec", args.seconds)
    frames = _book_frames(recording)
    stack = asyncio.run(_stack_run(args, _start_stack(args, recording), recording))
    first, last = stack["first"], stack["last"]
    trades = stack["trades"]  # kept whole (execTime, isMaker, ...) for comparisons
    stack["fills"] = [
        (r["side"] == "Buy", r["execQty"], r["execPrice"], r["execFee"]) for r in trades
    ]
    stack["window_s"] = ((frames[first][0] - 0.5) / 1000, (frames[last][0] + 0.5) / 1000)
    stack["mid"] = str(_mid(frames, last))
    stack["extract"] = _extract(args, stack["window_ns"])
    stack["load_average"] = os.getloadavg()
    (args.out / "stack.json").write_text(json.dumps(stack, indent=1))
    return stack


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--base-port", type=int, default=16400)
    parser.add_argument("--seeds", type=int, default=5, help="latency draws of the measured row")
    parser.add_argument("--constant", action="append", default=["2/5"], help="FEED/ORDER ms")
    parser.add_argument("--backtest-only", action="store_true", help="reuse DIR/stack.json")
    args = parser.parse_args()
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.backtest_only:
        stack = json.loads((args.out / "stack.json").read_text())
    else:
        stack = _run_stack(args)
    window_s = stack["window_s"]
    lines = [
        f"window: frames {stack['first']}..{stack['last']} ({window_s[1] - window_s[0]:.1f} s), "
        f"--from {window_s[0]:.4f} --to {window_s[1]:.4f}, final mid {stack['mid']}",
        f"steps late vs schedule: median {stack['step_late_ms'][0]:.1f} ms, "
        f"max {stack['step_late_ms'][1]:.1f} ms; load average at the end {stack['load_average']}",
        stack["extract"].strip(),
        f"feed latency: {_quantiles(args.out / 'latency' / 'feed.txt')}",
        f"order latency: {_quantiles(args.out / 'latency' / 'order.txt')}",
        "",
        *_backtest_rows(args, stack),
    ]
    (args.out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
