"""`python -m executor`: load ExecutorSettings from the environment and run the service."""

from executor.service import run
from executor.settings import ExecutorSettings
from mm_runtime.lifecycle import main

main(ExecutorSettings, run)
