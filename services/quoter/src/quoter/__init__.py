"""Quoter: rebate-aware two-sided quote intents from books, inventory and config."""
