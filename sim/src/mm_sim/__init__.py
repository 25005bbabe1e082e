"""A Bybit v5-compatible exchange simulator on loopback: matching with queue position, fees, faults."""
