"""The Bybit v5 protocol client: signing, REST, public/private/trade WebSocket, parsing into proto types."""
