"""Private WebSocket `/v5/private`: auth, topic subscriptions, per-account fan-out and DCP.

Disconnect-Cancel-All: an account that set a DCP window (REST) and has a connection subscribed to
`dcp.future` gets its derivatives orders cancelled (`CancelByDCP`) once every such connection has
been gone for longer than the window, measured on the engine clock by a watchdog task.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from mm_sim.errors import BybitError
from mm_sim.events import Event, PrivateRecords
from mm_sim.venue import Venue
from mm_sim.ws_connections import Connection, Registry, serve

TOPICS = {"order", "execution", "position", "wallet", "execution.fast"}
CATEGORY_TOPICS = {
    f"{base}.{cat}"
    for base in ("order", "execution", "execution.fast")
    for cat in ("spot", "linear")
}
DCP_TOPICS = {"dcp.future", "dcp.spot", "dcp.option"}
WATCHDOG_INTERVAL_S = 0.05
FAST_FIELDS = (
    "category",
    "symbol",
    "orderId",
    "isMaker",
    "orderLinkId",
    "execId",
    "execPrice",
    "execQty",
    "side",
    "execTime",
    "seq",
)


class PrivateSocket:
    """Authenticated connections per UID; engine `PrivateRecords` go to those subscribed."""

    def __init__(self, venue: Venue, registry: Registry) -> None:
        self.venue = venue
        self.registry = registry
        self.connections: dict[int, Connection] = {}
        self.dcp_lost_at: dict[int, int] = {}
        venue.exchange.listeners.append(self.on_event)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        return await serve(request, self.registry, "private", self.on_message, self.on_close)

    def on_event(self, event: Event) -> None:
        if not isinstance(event, PrivateRecords) or self.venue.faults.config.private_silence:
            return
        self._deliver(event.uid, event.topic, event.records)
        if event.topic == "execution":
            fast = [{key: record[key] for key in FAST_FIELDS} for record in event.records]
            for record in fast:
                if record["isMaker"]:
                    record["orderLinkId"] = ""  # Bybit leaves it empty on maker fills
            self._deliver(event.uid, "execution.fast", fast)

    def _deliver(self, uid: int, base_topic: str, records: list[dict[str, Any]]) -> None:
        """Send to each of the account's connections under the form of the topic it chose."""
        category = records[0].get("category", "") if records else ""
        now = self.venue.clock.now_ms()
        for connection in list(self.connections.values()):
            if connection.uid != uid:
                continue
            for topic in (base_topic, f"{base_topic}.{category}"):
                if topic in connection.topics:
                    message = {
                        "id": f"{uid}_{topic}_{now}",
                        "topic": topic,
                        "creationTime": now,
                        "data": records,
                    }
                    connection.send(message)
                    break

    def reply(
        self, connection: Connection, message: dict[str, Any], success: bool, text: str
    ) -> None:
        reply: dict[str, Any] = {
            "success": success,
            "ret_msg": text,
            "op": message.get("op", ""),
            "conn_id": connection.conn_id,
        }
        if "req_id" in message:
            reply["req_id"] = str(message["req_id"])
        connection.send(reply)

    def on_message(self, connection: Connection, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "ping":
            connection.send(
                {
                    "req_id": str(message.get("req_id", "")),
                    "op": "pong",
                    "args": [str(self.venue.clock.now_ms())],
                    "conn_id": connection.conn_id,
                }
            )
        elif op == "auth":
            self._auth(connection, message)
        elif op in ("subscribe", "unsubscribe"):
            self._subscribe(connection, message, op)
        else:
            self.reply(connection, message, False, f"error:unknown op {op!r}")

    def _auth(self, connection: Connection, message: dict[str, Any]) -> None:
        if connection.uid:
            self.reply(connection, message, False, "error:repeat auth")
            return
        try:
            connection.uid = self.venue.auth.verify_ws(message.get("args"))
        except BybitError as error:
            self.reply(connection, message, False, error.message)
            return
        self.connections[connection.number] = connection
        self.reply(connection, message, True, "")

    def _subscribe(self, connection: Connection, message: dict[str, Any], op: str) -> None:
        args = message.get("args")
        if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
            self.reply(connection, message, False, "error:args must be a non-empty list of topics")
            return
        if not connection.uid:
            self.reply(connection, message, False, f"error:topic:{args[0]} needs auth first")
            return
        bad = [t for t in args if t not in TOPICS | CATEGORY_TOPICS | DCP_TOPICS]
        if bad:
            self.reply(connection, message, False, f"error:handler not found,topic:{bad[0]}")
            return
        mixed = [t for t in args if t in CATEGORY_TOPICS and t.rsplit(".", 1)[0] in args]
        if op == "subscribe" and mixed:
            # Bybit: the all-in-one and categorised forms must not share one subscribe request.
            text = f"error:all-in-one and categorised topics in one request,topic:{mixed[0]}"
            self.reply(connection, message, False, text)
            return
        for topic in args:
            if op == "subscribe":
                connection.topics.add(topic)
            else:
                connection.topics.discard(topic)
        if op == "subscribe" and DCP_TOPICS & set(args):
            self.dcp_lost_at.pop(connection.uid, None)
        self.reply(connection, message, True, "")

    def on_close(self, connection: Connection) -> None:
        self.connections.pop(connection.number, None)
        uid = connection.uid
        if uid and connection.topics & DCP_TOPICS and not self._dcp_armed(uid):
            self.dcp_lost_at[uid] = self.venue.clock.now_ms()

    def _dcp_armed(self, uid: int) -> bool:
        return any(c.uid == uid and c.topics & DCP_TOPICS for c in self.connections.values())

    def trigger_dcp(self, uid: int) -> int:
        """Fire Disconnect-Cancel-All for an account now (fault injection)."""
        self.dcp_lost_at.pop(uid, None)
        return len(self.venue.changes.dcp_cancel(uid))

    async def watchdog(self) -> None:
        while True:
            await asyncio.sleep(WATCHDOG_INTERVAL_S)
            now = self.venue.clock.now_ms()
            for uid, lost_at in list(self.dcp_lost_at.items()):
                window_s = self.venue.exchange.accounts[uid].dcp_window_s.get("DERIVATIVES")
                if window_s is not None and now - lost_at > window_s * 1000:
                    self.trigger_dcp(uid)
