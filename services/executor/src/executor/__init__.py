"""Executor: order targets into venue orders, venue truth onto the bus."""
