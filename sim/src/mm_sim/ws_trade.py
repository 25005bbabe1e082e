"""Trade WebSocket `/v5/trade`: auth, order ops with `reqId` echo and the REST-style reply envelope.

Single ops take exactly one item in `args`; batch ops take `[{"category", "request": [...]}]`.
Quotas are shared with the matching REST endpoints (per UID, per endpoint and category).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mm_sim import errors, rest_trading
from mm_sim.auth import DEFAULT_RECV_WINDOW
from mm_sim.errors import BybitError, parameter_error
from mm_sim.rate_limit import Quota
from mm_sim.rest import quota_limit, quota_name
from mm_sim.venue import Venue
from mm_sim.ws_connections import Connection, Registry, serve

REQ_ID_LIMIT = 36
SINGLE_OPS = {"order.create": "create", "order.amend": "amend", "order.cancel": "cancel"}
BATCH_OPS = {
    "order.create-batch": "create-batch",
    "order.amend-batch": "amend-batch",
    "order.cancel-batch": "cancel-batch",
}


class TradeSocket:
    """Order entry over WebSocket, reusing REST's handlers and quotas."""

    def __init__(self, venue: Venue, registry: Registry) -> None:
        self.venue = venue
        self.registry = registry
        self.seen_req_ids: dict[int, set[str]] = {}
        self.actions: dict[str, Callable[[int, dict[str, Any]], dict[str, Any]]] = {
            "create": lambda uid, params: rest_trading.create(venue, uid, params),
            "amend": lambda uid, params: rest_trading.amend(venue, uid, params),
            "cancel": venue.changes.cancel,
        }

    async def handle(self, request: Any) -> Any:
        return await serve(
            request,
            self.registry,
            "trade",
            self.on_message,
            lambda connection: self.seen_req_ids.pop(connection.number, None),
        )

    def reply(
        self,
        connection: Connection,
        message: dict[str, Any],
        code: int,
        text: str,
        data: Any = None,
        ext: Any = None,
        quota: Quota | None = None,
    ) -> None:
        reply: dict[str, Any] = {}
        if "reqId" in message:
            reply["reqId"] = str(message["reqId"])
        reply |= {"retCode": code, "retMsg": text, "op": message.get("op", "")}
        reply["data"] = data if data is not None else {}
        reply["retExtInfo"] = ext if ext is not None else {}
        now = str(self.venue.clock.now_ms())
        header = quota.headers() if quota is not None else {}
        reply["header"] = header | {"Traceid": f"sim{connection.number:x}{now}", "Timenow": now}
        reply["connId"] = connection.conn_id
        connection.send(reply)

    def on_message(self, connection: Connection, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "ping":
            connection.send(
                {
                    "retCode": 0,
                    "retMsg": "OK",
                    "op": "pong",
                    "data": [str(self.venue.clock.now_ms())],
                    "connId": connection.conn_id,
                }
            )
            return
        if op == "auth":
            self._auth(connection, message)
            return
        try:
            self._order_op(connection, message, str(op))
        except BybitError as error:
            self.reply(connection, message, error.code, error.message)

    def _auth(self, connection: Connection, message: dict[str, Any]) -> None:
        if connection.uid:
            self.reply_plain(
                connection, errors.WS_REPEATED_AUTH, errors.MESSAGES[errors.WS_REPEATED_AUTH]
            )
            return
        try:
            connection.uid = self.venue.auth.verify_ws(message.get("args"))
        except BybitError as error:
            self.reply_plain(connection, error.code, error.message)
            return
        self.reply_plain(connection, 0, "OK")

    def reply_plain(self, connection: Connection, code: int, text: str) -> None:
        connection.send(
            {"retCode": code, "retMsg": text, "op": "auth", "connId": connection.conn_id}
        )

    def _order_op(self, connection: Connection, message: dict[str, Any], op: str) -> None:
        params = self._checked_params(connection, message, op)
        name = SINGLE_OPS.get(op) or BATCH_OPS[op]
        quota = self._quota(connection.uid, name, params)
        if quota.granted == 0:
            text = errors.MESSAGES[errors.TOO_MANY_VISITS]
            self.reply(connection, message, errors.TOO_MANY_VISITS, text, quota=quota)
            return
        action = self.actions[name.removesuffix("-batch")]
        if op in BATCH_OPS:
            data, ext = rest_trading.run_batch(
                self.venue, connection.uid, params, quota.granted, name == "create-batch", action
            )
            self.reply(connection, message, 0, "OK", data, ext, quota)
            return
        try:
            result = action(connection.uid, params)
        except BybitError as error:
            self.reply(connection, message, error.code, error.message, quota=quota)
            return
        self.reply(connection, message, 0, "OK", result, quota=quota)

    def _checked_params(
        self, connection: Connection, message: dict[str, Any], op: str
    ) -> dict[str, Any]:
        """The one `args` object of an authorised, well-formed order op, or a BybitError."""
        if op not in SINGLE_OPS and op not in BATCH_OPS:
            raise BybitError(
                errors.WS_UNKNOWN_OP,
                f"Invalid op: expected one of {sorted(SINGLE_OPS | BATCH_OPS)}, received {op!r}",
            )
        if not connection.uid:
            raise BybitError(10003, "Request not authorized: auth first")
        self._check_req_id(connection, message)
        self._check_header(message.get("header"))
        args = message.get("args")
        if not isinstance(args, list) or len(args) != 1 or not isinstance(args[0], dict):
            raise parameter_error("args must hold exactly one object")
        params: dict[str, Any] = args[0]
        return params

    def _check_req_id(self, connection: Connection, message: dict[str, Any]) -> None:
        if "reqId" not in message:
            return
        req_id = str(message["reqId"])
        if len(req_id) > REQ_ID_LIMIT:
            raise parameter_error(
                f"reqId must be at most {REQ_ID_LIMIT} characters, received {len(req_id)}"
            )
        seen = self.seen_req_ids.setdefault(connection.number, set())
        if req_id in seen:
            raise BybitError(errors.WS_DUPLICATE_REQ_ID)
        seen.add(req_id)

    def _check_header(self, header: object) -> None:
        if not isinstance(header, dict) or "X-BAPI-TIMESTAMP" not in header:
            raise parameter_error("header.X-BAPI-TIMESTAMP is required")
        timestamp = str(header["X-BAPI-TIMESTAMP"])
        recv_window = str(header.get("X-BAPI-RECV-WINDOW", DEFAULT_RECV_WINDOW))
        if not timestamp.isdigit() or not recv_window.isdigit():
            raise parameter_error(
                f"header timestamps must be integers, received {timestamp!r}, {recv_window!r}"
            )
        self.venue.auth.check_window(int(timestamp), int(recv_window))

    def _quota(self, uid: int, name: str, params: dict[str, Any]) -> Quota:
        """Draw on the same quota as the REST endpoint of that name and category."""
        venue = self.venue
        path = f"/v5/order/{name}"
        endpoint = quota_name(path, params)
        limit = quota_limit(venue, "order", params)
        if venue.faults.config.rate_limit_storm:
            venue.limiter.exhaust(uid, endpoint, limit)
        items = params.get("request") if name.endswith("batch") else None
        requested = max(1, len(items)) if isinstance(items, list) else 1
        return venue.limiter.take(uid, endpoint, limit, requested)
