"""A Bybit v5-compatible exchange simulator on loopback: queue-position matching, fees, faults."""
