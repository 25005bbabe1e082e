"""Entry point: `python -m policy` runs the policy service with settings from the environment."""

from mm_runtime.lifecycle import main
from policy.service import run
from policy.settings import PolicySettings

main(PolicySettings, run)
