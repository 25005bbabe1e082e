"""`python -m mm_soak --duration 1800 --out docs/soak`: run a soak and write its report."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from mm_soak.soak_run import SoakOptions, soak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mm_soak", description=__doc__)
    parser.add_argument("--duration", type=float, default=1800.0, help="seconds (default 1800)")
    parser.add_argument("--run-dir", type=Path, default=Path(".run/soak"))
    parser.add_argument("--out", type=Path, default=Path("docs/soak"))
    parser.add_argument("--fault-interval", type=float, default=120.0, help="seconds")
    parser.add_argument("--sample-interval", type=float, default=5.0, help="seconds")
    parser.add_argument("--base-port", type=int, default=16220)
    arguments = parser.parse_args(argv)
    if arguments.duration <= 0:
        parser.error(f"--duration must be positive seconds, was {arguments.duration}")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    options = SoakOptions(
        duration_s=arguments.duration,
        run_dir=arguments.run_dir,
        out_dir=arguments.out,
        base_port=arguments.base_port,
        fault_interval_s=arguments.fault_interval,
        sample_interval_s=arguments.sample_interval,
    )
    return asyncio.run(soak(options))


if __name__ == "__main__":
    sys.exit(main())
