"""The ledger: the one owner of trading economics (PnL attribution, markouts, quoting KPIs)."""

from ledger.core import DEFAULT_HORIZONS_S, Ledger, UnknownSymbolError

__all__ = ["DEFAULT_HORIZONS_S", "Ledger", "UnknownSymbolError"]
