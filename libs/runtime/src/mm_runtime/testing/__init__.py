"""Test support shared by every package: the real NATS server fixture and waiting helpers."""
