"""`python -m mm_soak --duration 1800 --out docs/soak`: run a soak and write its report."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from mm_soak.soak_run import SoakOptions, soak

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(text: str) -> float:
    """`1800`, `1800s`, `30m` or `0.5h` in seconds; a clear error for anything else."""
    unit = _UNITS.get(text[-1:], 0.0)
    number = text[:-1] if unit else text
    try:
        seconds = float(number) * (unit or 1.0)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"duration must be seconds or a number with s/m/h (e.g. 30m), was {text!r}"
        ) from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"duration must be positive, was {text!r}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mm_soak", description=__doc__)
    parser.add_argument(
        "--duration", type=duration_seconds, default=1800.0, help="e.g. 1800, 30m, 2h"
    )
    parser.add_argument("--run-dir", type=Path, default=Path(".run/soak"))
    parser.add_argument("--out", type=Path, default=Path("docs/soak"))
    parser.add_argument(
        "--fault-interval",
        type=float,
        default=60.0,
        help="seconds from one drill's end to the next (60: a 30-minute soak runs every drill)",
    )
    parser.add_argument("--sample-interval", type=float, default=5.0, help="seconds")
    parser.add_argument("--base-port", type=int, default=16220)
    parser.add_argument(
        "--nats-cluster",
        type=int,
        choices=(1, 3),
        default=1,
        help="3: the bus is a three-node JetStream cluster and node faults join the drills",
    )
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    options = SoakOptions(
        duration_s=arguments.duration,
        run_dir=arguments.run_dir,
        out_dir=arguments.out,
        base_port=arguments.base_port,
        fault_interval_s=arguments.fault_interval,
        sample_interval_s=arguments.sample_interval,
        nats_nodes=arguments.nats_cluster,
    )
    return asyncio.run(soak(options))


if __name__ == "__main__":
    sys.exit(main())
