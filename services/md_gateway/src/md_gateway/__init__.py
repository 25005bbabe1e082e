"""Market-data gateway: venue public feeds into the Rust book, books and trades onto NATS."""
