"""`python -m quoter`: load QuoterSettings from the environment and run the service."""

from mm_runtime.lifecycle import main
from quoter.service import run
from quoter.settings import QuoterSettings

main(QuoterSettings, run)
