"""`python -m mm_sim`: run the simulator on loopback until interrupted."""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

from mm_sim.app import build_app
from mm_sim.settings import SimSettings


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """Only `--help`: every setting comes from `MM_SIM_*` environment variables."""
    parser = argparse.ArgumentParser(
        prog="python -m mm_sim",
        description="A Bybit v5-compatible exchange simulator on loopback (REST and WebSockets "
        "on one port).",
        epilog="Settings come from the environment (prefix MM_SIM_, nested with __), e.g. "
        "MM_SIM_PORT=9000 MM_SIM_SEED=3 MM_SIM_MARKET__AUTO_STEP=false; "
        "MM_SIM_API_KEYS_FILE names a JSON list of {key, secret, uid}. See sim/README.md.",
    )
    return parser.parse_args(argv)


def main() -> None:
    parse_arguments()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = SimSettings()
    app, _ = build_app(settings)
    logging.getLogger("mm_sim").info(
        "simulator on http://%s:%d (ws /v5/public/linear, /v5/public/spot, /v5/private, /v5/trade)",
        settings.host,
        settings.port,
    )
    web.run_app(app, host=settings.host, port=settings.port, print=None)


if __name__ == "__main__":
    main()
