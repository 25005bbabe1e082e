"""Entry point: `python -m ledger` runs the ledger service with settings from the environment."""

from ledger.service import run
from ledger.settings import LedgerSettings
from mm_runtime.lifecycle import main

main(LedgerSettings, run)
