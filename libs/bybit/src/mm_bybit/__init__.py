"""The Bybit v5 protocol client: signing, REST, WebSocket streams, parsing into proto types."""
