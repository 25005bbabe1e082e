"""The simulator's responses and frames against key sets and JSON types taken from recorded Bybit.

A schema is derived from a recorded message (object keys, and per value: string / number / boolean
/ array / object / null), then the simulator's message of the same kind must carry every recorded
key with the same JSON type, recursively. Keys the simulator adds beyond the recording must be in
the documented field list (`DOCUMENTED_EXTRAS`). The recorded messages pass the same checker.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp

from mm_sim.auth import sign
from mm_sim.testing import API_KEY, API_SECRET, SimulatorHandle

DATA = Path(__file__).parent / "data" / "recorded"

# Fields the reference (bybit-v5.md) documents for a kind but the recorded example lacks.
DOCUMENTED_EXTRAS = {
    "order": {
        "parentOrderLinkId",
        "createType",
        "ocoTriggerBy",
        "marketUnit",
        "slippageToleranceType",
        "slippageTolerance",
        "isLeverage",
        "feeCurrency",
        "rpiTakerAccess",
        "rpiMatchedQty",
        "category",
        "cumFeeDetail",
        "closedPnl",
        "lastPriceOnCreated",
        "leavesValue",
    },
    "position": {
        "category",
        "seq",
        "entryPrice",
        "avgPrice",
        "positionStatus",
        "mmrSysUpdatedTime",
        "leverageSysUpdatedTime",
        "isReduceOnly",
        "autoAddMargin",
        "adlRankIndicator",
    },
    "ticker": {
        "usdIndexPrice",
        "bid1Price",
        "bid1Size",
        "ask1Price",
        "ask1Size",
        "tickDirection",
        "prevPrice1h",
        "fundingIntervalHour",
        "fundingCap",
        "preOpenPrice",
        "preQty",
        "curPreListingPhase",
        "basisRateYear",
        "basis",
        "basisRate",
        "deliveryFeeRate",
        "predictedDeliveryPrice",
        "deliveryTime",
        "indexPrice",
        "markPrice",
        "openInterest",
        "openInterestValue",
        "nextFundingTime",
        "fundingRate",
    },
    "instrument": {"minOrderQty", "maxOrderQty", "maxOrderAmt", "minOrderAmt"},
    "trade": {"RPI"},
    "envelope": {"req_id", "cs"},
    "execution": set(),
    "wallet": set(),
}


# Objects keyed by data (coin names), compared by value type only.
MAP_FIELDS = (".cumFeeDetail",)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def compare(recorded: Any, actual: Any, path: str = "$") -> tuple[list[str], set[str]]:
    """(problems, extra keys) of `actual` measured against the recorded message's shape."""
    problems: list[str] = []
    extras: set[str] = set()
    if recorded is None:
        return problems, extras
    if json_type(recorded) != json_type(actual):
        if not (json_type(recorded) == "string" and recorded == "" and isinstance(actual, list)):
            problems.append(f"{path}: expected {json_type(recorded)}, received {json_type(actual)}")
        return problems, extras
    if isinstance(recorded, dict) and path.endswith(MAP_FIELDS):
        for key, value in actual.items():
            inner, _ = compare(next(iter(recorded.values()), None), value, f"{path}.{key}")
            problems += inner
    elif isinstance(recorded, dict):
        for key, value in recorded.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
                continue
            inner, more = compare(value, actual[key], f"{path}.{key}")
            problems += inner
            extras |= more
        extras |= set(actual) - set(recorded)
    elif isinstance(recorded, list) and recorded and actual:
        for index, item in enumerate(actual):
            inner, more = compare(recorded[0], item, f"{path}[{index}]")
            problems += inner
            extras |= more
    return problems, extras


def numeric_strings(value: Any) -> list[str]:
    """Every string that starts like a number, anywhere in a message."""
    if isinstance(value, dict):
        return [text for item in value.values() for text in numeric_strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in numeric_strings(item)]
    if (isinstance(value, str) and value[:1].isdigit()) or (
        str(value).startswith("-") and isinstance(value, str)
    ):
        return [value]
    return []


def recorded(name: str) -> Any:
    return json.loads((DATA / f"docs__{name}.json").read_text())


def recorded_lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


async def receive_until(socket: aiohttp.ClientWebSocketResponse, accept: Any) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(socket.receive_str(), 5.0))
        if accept(message):
            return dict(message)


def ws_auth() -> list[Any]:
    expires = time.time_ns() // 1_000_000 + 10_000
    return [API_KEY, expires, sign(API_SECRET, f"GET/realtime{expires}")]


async def rest_samples(sim: SimulatorHandle, rest: Any) -> dict[str, Any]:
    await sim.admin.step(50)
    order = {
        "category": "linear",
        "symbol": "BTCUSDT",
        "side": "Buy",
        "orderType": "Limit",
        "qty": "0.010",
        "price": "59000.0",
        "orderLinkId": "schema-1",
    }
    samples = {"order__create-order__1": await rest.post("/v5/order/create", order)}
    samples["order__open-order__1"] = await rest.get(
        "/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT"}
    )
    samples["order__amend-order__1"] = await rest.post(
        "/v5/order/amend",
        {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "schema-1", "qty": "0.020"},
    )
    samples["order__cancel-order__1"] = await rest.post(
        "/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "schema-1"}
    )
    samples["order__batch-place__1"] = await rest.post(
        "/v5/order/create-batch",
        {
            "category": "linear",
            "request": [{k: v for k, v in order.items() if k not in ("category", "orderLinkId")}],
        },
    )
    samples["order__cancel-all__1"] = await rest.post(
        "/v5/order/cancel-all", {"category": "linear", "symbol": "BTCUSDT"}
    )
    await rest.post("/v5/order/create", order | {"orderType": "Market", "orderLinkId": "schema-2"})
    samples["position__position__1"] = await rest.get(
        "/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"}
    )
    samples["account__wallet-balance__1"] = await rest.get(
        "/v5/account/wallet-balance", {"accountType": "UNIFIED"}
    )
    samples["market__instrument__1"] = await rest.get(
        "/v5/market/instruments-info", {"category": "linear"}
    )
    samples["market__instrument__4"] = await rest.get(
        "/v5/market/instruments-info", {"category": "spot"}
    )
    samples["market__orderbook__1"] = await rest.get(
        "/v5/market/orderbook", {"category": "spot", "symbol": "BTCUSDT"}
    )
    samples["market__recent-trade__1"] = await rest.get(
        "/v5/market/recent-trade", {"category": "spot", "symbol": "BTCUSDT"}
    )
    samples["market__tickers__1"] = await rest.get(
        "/v5/market/tickers", {"category": "linear", "symbol": "BTCUSDT"}
    )
    samples["market__tickers__3"] = await rest.get(
        "/v5/market/tickers", {"category": "spot", "symbol": "BTCUSDT"}
    )
    return samples


async def public_samples(sim: SimulatorHandle, session: aiohttp.ClientSession) -> dict[str, Any]:
    samples: dict[str, Any] = {}
    async with session.ws_connect(sim.ws_public_url("linear")) as socket:
        await socket.send_json(
            {
                "op": "subscribe",
                "args": ["orderbook.50.BTCUSDT", "tickers.BTCUSDT", "publicTrade.BTCUSDT"],
            }
        )
        samples["websocket__wss-authentication__9"] = await receive_until(
            socket, lambda m: m.get("op") == "subscribe"
        )
        samples["websocket__public__ticker__1"] = await receive_until(
            socket, lambda m: m.get("topic", "").startswith("tickers")
        )
        await sim.admin.step(10)
        await sim.admin.trade("BTCUSDT", "Buy", "0.100")
        samples["websocket__public__orderbook__1"] = await receive_until(
            socket, lambda m: m.get("type") == "delta" and "orderbook" in m["topic"]
        )
        samples["websocket__public__trade__1"] = await receive_until(
            socket, lambda m: m.get("topic", "").startswith("publicTrade")
        )
        await socket.send_json({"op": "ping"})
        samples["websocket__wss-authentication__3"] = await receive_until(
            socket, lambda m: m.get("op") == "ping"
        )
    async with session.ws_connect(sim.ws_public_url("spot")) as socket:
        await socket.send_json({"req_id": "10001", "op": "subscribe", "args": ["tickers.BTCUSDT"]})
        samples["websocket__wss-authentication__8"] = await receive_until(
            socket, lambda m: m.get("op") == "subscribe"
        )
        samples["websocket__public__ticker__4"] = await receive_until(
            socket, lambda m: "topic" in m
        )
    return samples


async def private_samples(
    sim: SimulatorHandle, rest: Any, session: aiohttp.ClientSession
) -> dict[str, Any]:
    samples: dict[str, Any] = {}
    async with session.ws_connect(sim.ws_private_url) as socket:
        await socket.send_json({"op": "auth", "args": ws_auth()})
        samples["websocket__wss-authentication__1"] = await receive_until(
            socket, lambda m: m.get("op") == "auth"
        )
        await socket.send_json(
            {"op": "subscribe", "args": ["order", "execution", "position", "wallet"]}
        )
        await receive_until(socket, lambda m: m.get("op") == "subscribe")
        await rest.post(
            "/v5/order/create",
            {
                "category": "linear",
                "symbol": "BTCUSDT",
                "side": "Sell",
                "orderType": "Market",
                "qty": "0.010",
            },
        )
        topics: dict[str, Any] = {}
        while len(topics) < 4:
            message = await receive_until(socket, lambda m: "topic" in m)
            topics.setdefault(message["topic"], message)
        for topic, message in topics.items():
            samples[f"websocket__private__{topic}__2"] = message
        await socket.send_json({"req_id": "test", "op": "ping"})
        samples["websocket__wss-authentication__5"] = await receive_until(
            socket, lambda m: m.get("op") == "pong"
        )
    async with session.ws_connect(sim.ws_trade_url) as socket:
        await socket.send_json({"op": "auth", "args": ws_auth()})
        samples["websocket__trade__guideline__2"] = await receive_until(
            socket, lambda m: m.get("op") == "auth"
        )
        header = {"X-BAPI-TIMESTAMP": str(time.time_ns() // 1_000_000)}
        order = {
            "symbol": "BTCUSDT",
            "side": "Buy",
            "orderType": "Limit",
            "qty": "0.010",
            "price": "59000.0",
        }
        await socket.send_json(
            {
                "reqId": "test-005",
                "header": header,
                "op": "order.create",
                "args": [order | {"category": "linear"}],
            }
        )
        samples["websocket__trade__guideline__3"] = await receive_until(
            socket, lambda m: m.get("op") == "order.create"
        )
        await socket.send_json(
            {
                "header": header,
                "op": "order.create-batch",
                "args": [{"category": "linear", "request": [order]}],
            }
        )
        samples["websocket__trade__guideline__5"] = await receive_until(
            socket, lambda m: m.get("op") == "order.create-batch"
        )
        await socket.send_json({"op": "ping"})
        samples["websocket__trade__guideline__7"] = await receive_until(
            socket, lambda m: m.get("op") == "pong"
        )
    return samples


def kind_of(name: str) -> str:
    for kind in ("order", "position", "ticker", "instrument", "trade", "execution", "wallet"):
        if kind in name and "create-order" not in name and "open-order" not in name:
            return kind
    return "order" if "open-order" in name else "envelope"


async def test_simulator_messages_match_recorded_shapes(sim: SimulatorHandle, rest: Any) -> None:
    async with aiohttp.ClientSession() as session:
        samples = await rest_samples(sim, rest)
        samples |= await public_samples(sim, session)
        samples |= await private_samples(sim, rest, session)
    problems: list[str] = []
    for name, sample in sorted(samples.items()):
        found, extras = compare(recorded(name), sample)
        problems += [f"{name} {problem}" for problem in found]
        allowed = DOCUMENTED_EXTRAS[kind_of(name)] | DOCUMENTED_EXTRAS["envelope"]
        problems += [f"{name} undocumented extra key {key}" for key in sorted(extras - allowed)]
    problems += [
        f"exponent notation in {text!r}" for text in numeric_strings(samples) if "E" in text
    ]
    assert len(samples) == 31
    assert problems == [], "\n".join(problems)


def test_recorded_messages_pass_the_same_checks() -> None:
    for path in sorted(DATA.glob("docs__*.json")):
        message = json.loads(path.read_text())
        assert compare(message, message) == ([], set()), path.name
    real_orders = [
        m for m in recorded_lines("rbot__private_ws_messages.jsonl") if m.get("topic") == "order"
    ]
    docs_order = recorded("websocket__private__order__2")
    problems, _ = compare(docs_order["data"][0], real_orders[0]["data"][0])
    assert [p for p in problems if "missing" not in p] == []


async def test_real_captures_and_simulator_agree_on_private_shapes(
    sim: SimulatorHandle, rest: Any
) -> None:
    real = {
        m["topic"]: m for m in recorded_lines("rbot__private_ws_messages.jsonl") if "topic" in m
    }
    async with aiohttp.ClientSession() as session:
        samples = await private_samples(sim, rest, session)
    problems: list[str] = []
    for topic in ("order", "execution", "wallet"):
        found, _ = compare(real[topic], samples[f"websocket__private__{topic}__2"])
        problems += [f"{topic} {problem}" for problem in found]
    assert problems == [], "\n".join(problems)
