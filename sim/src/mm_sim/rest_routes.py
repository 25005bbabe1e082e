"""The table of REST paths the simulator serves, with their signing and quota rules."""

from __future__ import annotations

from mm_sim import rest_account, rest_market, rest_order_queries, rest_position, rest_trading
from mm_sim.rest import Route

ROUTES: dict[str, Route] = {
    "/v5/market/time": Route("GET", rest_market.server_time, signed=False),
    "/v5/market/instruments-info": Route("GET", rest_market.instruments_info, signed=False),
    "/v5/market/orderbook": Route("GET", rest_market.orderbook, signed=False),
    "/v5/market/recent-trade": Route("GET", rest_market.recent_trades, signed=False),
    "/v5/market/tickers": Route("GET", rest_market.tickers, signed=False),
    "/v5/order/create": Route("POST", rest_trading.create, True, "order"),
    "/v5/order/amend": Route("POST", rest_trading.amend, True, "order"),
    "/v5/order/cancel": Route("POST", rest_trading.cancel, True, "order"),
    "/v5/order/cancel-all": Route("POST", rest_trading.cancel_all, True, "order"),
    "/v5/order/create-batch": Route("POST", rest_trading.create_batch, True, "order", batch=True),
    "/v5/order/amend-batch": Route("POST", rest_trading.amend_batch, True, "order", batch=True),
    "/v5/order/cancel-batch": Route("POST", rest_trading.cancel_batch, True, "order", batch=True),
    "/v5/order/realtime": Route("GET", rest_order_queries.realtime, True, "query"),
    "/v5/order/history": Route("GET", rest_order_queries.history, True, "query"),
    "/v5/order/disconnected-cancel-all": Route(
        "POST", rest_account.disconnected_cancel_all, True, "dcp"
    ),
    "/v5/execution/list": Route("GET", rest_order_queries.execution_list, True, "query"),
    "/v5/position/list": Route("GET", rest_account.position_list, True, "query"),
    "/v5/account/wallet-balance": Route("GET", rest_account.wallet_balance, True, "query"),
    "/v5/account/fee-rate": Route("GET", rest_account.fee_rate, True, "fee"),
    "/v5/account/query-dcp-info": Route("GET", rest_account.dcp_info, True, "dcp"),
    "/v5/account/info": Route("GET", rest_position.account_info, True, "query"),
    "/v5/position/set-leverage": Route("POST", rest_position.set_leverage, True, "position"),
    "/v5/position/switch-mode": Route("POST", rest_position.switch_mode, True, "position"),
    "/v5/position/closed-pnl": Route("GET", rest_position.closed_pnl, True, "query"),
}
