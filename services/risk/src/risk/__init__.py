"""Risk: pre-trade limits and the kill switch, the only path from intent to order target."""
