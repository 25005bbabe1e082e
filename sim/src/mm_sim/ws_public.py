"""Public WebSocket `/v5/public/{linear,spot}`: subscriptions with per-category acks, ping."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mm_sim.public_feed import PublicFeed
from mm_sim.ws_connections import Connection, Registry, serve

SPOT_ARGS_LIMIT = 10


class PublicSocket:
    """Handles one category's public endpoint over the shared `PublicFeed`."""

    def __init__(self, feed: PublicFeed, registry: Registry) -> None:
        self.feed = feed
        self.registry = registry

    def handler(self, category: str) -> Any:
        async def handle(request: web.Request) -> web.WebSocketResponse:
            return await serve(
                request,
                self.registry,
                "public",
                lambda connection, message: self.on_message(category, connection, message),
                lambda connection: self.on_close(category, connection),
            )

        return handle

    def on_close(self, category: str, connection: Connection) -> None:
        for topic in connection.topics:
            self.feed.unsubscribe(category, topic, connection.number)

    def ack(
        self,
        category: str,
        connection: Connection,
        message: dict[str, Any],
        success: bool,
        text: str,
    ) -> None:
        op = message.get("op", "")
        reply: dict[str, Any] = {"success": success, "ret_msg": text, "conn_id": connection.conn_id}
        if category == "spot" and success and op != "ping":
            reply["ret_msg"] = op
        if "req_id" in message or (category != "spot"):
            reply["req_id"] = str(message.get("req_id", ""))
        reply["op"] = op
        connection.send(reply)

    def on_message(self, category: str, connection: Connection, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "ping":
            self.ack(category, connection, message, True, "pong")
            return
        if op not in ("subscribe", "unsubscribe"):
            self.ack(category, connection, message, False, f"error:unknown op {op!r}")
            return
        args = message.get("args")
        if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
            self.ack(
                category,
                connection,
                message,
                False,
                "error:args must be a non-empty list of topics",
            )
            return
        if category == "spot" and len(args) > SPOT_ARGS_LIMIT:
            self.ack(
                category, connection, message, False, f"error:args count exceeds {SPOT_ARGS_LIMIT}"
            )
            return
        bad = [topic for topic in args if not self.feed.topic_exists(category, topic)]
        if bad:
            self.ack(
                category, connection, message, False, f"error:handler not found,topic:{bad[0]}"
            )
            return
        if op == "unsubscribe":
            for topic in args:
                connection.topics.discard(topic)
                self.feed.unsubscribe(category, topic, connection.number)
            self.ack(category, connection, message, True, "")
            return
        self.ack(category, connection, message, True, "")
        for topic in args:
            if topic in connection.topics:
                continue
            connection.topics.add(topic)
            self.feed.subscribe(category, topic, connection.number, connection.send_bytes)
