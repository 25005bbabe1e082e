"""`python -m mm_cli` is the `mm` command."""

from mm_cli.app import main

main()
