"""`python -m recorder`: load RecorderSettings from the environment and run."""

from mm_runtime.lifecycle import main
from recorder.service import run
from recorder.settings import RecorderSettings

main(RecorderSettings, run)
