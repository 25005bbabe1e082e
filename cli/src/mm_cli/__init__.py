"""The `mm` command: run the local stack, inspect and steer a running system."""
