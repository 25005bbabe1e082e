"""`python -m md_gateway [--shard i/n]`: load GatewaySettings from the environment and run.

`--shard i/n` is the same as `MD_GATEWAY_SHARD=i/n`: this replica carries only its share of
`MD_GATEWAY_SYMBOLS`.
"""

import argparse
import os

from md_gateway.service import run
from md_gateway.settings import GatewaySettings
from mm_runtime.lifecycle import main

parser = argparse.ArgumentParser(prog="python -m md_gateway")
parser.add_argument("--shard", help="this replica's share of the symbols, i/n with 0 <= i < n")
arguments = parser.parse_args()
if arguments.shard is not None:
    os.environ["MD_GATEWAY_SHARD"] = arguments.shard
main(GatewaySettings, run)
