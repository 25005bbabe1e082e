"""Entry point: `python -m risk` runs the risk service with settings from the environment."""

from mm_runtime.lifecycle import main
from risk.service import run
from risk.settings import RiskSettings

main(RiskSettings, run)
