"""`python -m mm_sim`: run the simulator on loopback until interrupted."""

from __future__ import annotations

import logging

from aiohttp import web

from mm_sim.app import build_app
from mm_sim.settings import SimSettings


def main() -> None:
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
