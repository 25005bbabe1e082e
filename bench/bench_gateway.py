"""Benchmark of one md_gateway process: sustained orderbook.50 frames/s and publish lag.

Four processes on this machine: a synthetic Bybit venue (this file with `--venue`: REST
instruments-info for 200 symbols and the public WebSocket streaming orderbook.50 text frames, each
delta changing 1-6 levels per side), a real nats-server, the gateway (`python -m md_gateway`,
default settings: md.tick span per book, depth every 0.1 s per symbol) and this process, which
subscribes to `md.book.>` and measures.

Phases: (1) max: the venue sends as fast as the gateway reads (WebSocket backpressure); the
gateway's own frame counter gives frames/s. (2) paced at the target rate: publish lag percentiles,
gateway-added (frame receive -> message at the subscriber) and end to end (venue send -> message
at the subscriber, includes the gateway's socket queue). Baseline in the same run: the same frames
through the gateway's pure per-frame path (Rust apply, feed state, BookTop encode) without
WebSocket, spans or NATS, in this process.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import nats
from aiohttp import web

from md_gateway.feed_state import SymbolFeed
from md_gateway.symbol_book import SymbolBook
from mm_proto import BookTop, InstrumentDefinition, encode
from mm_runtime.nats_server import NatsServer, free_port

SYMBOLS = [f"S{number:03d}USDT" for number in range(200)]
LEVELS = 50
VARIANTS = 64
TARGET_RATE = 20_000
MAX_SECONDS = 4.0
PACED_SECONDS = 7.0
SAMPLED = SYMBOLS[::10]  # the subscriber measures 20 symbols, so it takes little CPU itself
CONFIGS = {  # label -> settings: the defaults, then one md.tick trace per 100 book updates
    "defaults (md.tick span on every book update)": {},
    "MD_GATEWAY_TICK_TRACE_INTERVAL=100": {"MD_GATEWAY_TICK_TRACE_INTERVAL": "100"},
}
BASELINE_FRAMES = 100_000
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def symbol_frames(index: int, symbol: str) -> tuple[list[str], list[str], list[str]]:
    """A 50-level snapshot's bid/ask prices and `VARIANTS` delta bodies (size changes only)."""
    rng = random.Random(index)
    mid = 1000 + 37 * index
    bids = [f"{mid - 0.1 * (level + 1):.1f}" for level in range(LEVELS)]
    asks = [f"{mid + 0.1 * level:.1f}" for level in range(LEVELS)]
    bodies = []
    for _ in range(VARIANTS):
        changed_bids = sorted(rng.sample(range(LEVELS), rng.randint(1, 6)))
        changed_asks = sorted(rng.sample(range(LEVELS), rng.randint(1, 6)))
        b = [[bids[i], f"{rng.randint(1, 5000) / 1000:.3f}"] for i in changed_bids]
        a = [[asks[i], f"{rng.randint(1, 5000) / 1000:.3f}"] for i in changed_asks]
        bodies.append(json.dumps({"b": b, "a": a}, separators=(",", ":"))[1:-1])
    return bids, asks, bodies


def delta(symbol: str, body: str, update_id: int, ts_ms: int) -> str:
    return (
        f'{{"topic":"orderbook.50.{symbol}","type":"delta","ts":{ts_ms},"data":{{"s":"{symbol}",'
        f'{body},"u":{update_id},"seq":{update_id}}},"cts":{ts_ms}}}'
    )


def snapshot(symbol: str, bids: list[str], asks: list[str], update_id: int, ts_ms: int) -> str:
    data: dict[str, Any] = {"s": symbol, "u": update_id, "seq": update_id}
    data |= {"b": [[p, "1.000"] for p in bids], "a": [[p, "1.000"] for p in asks]}
    message = {"topic": f"orderbook.50.{symbol}", "type": "snapshot", "ts": ts_ms, "data": data}
    return json.dumps(message, separators=(",", ":"))


def ws_text(payload: bytes) -> bytes:
    """One unmasked server-to-client WebSocket text frame."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 65536:
        return bytes((0x81, 126)) + size.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + size.to_bytes(8, "big") + payload


async def read_ws_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """(opcode, payload) of one client frame (clients always mask)."""
    head = await reader.readexactly(2)
    size = head[1] & 0x7F
    if size == 126:
        size = int.from_bytes(await reader.readexactly(2), "big")
    elif size == 127:
        size = int.from_bytes(await reader.readexactly(8), "big")
    mask = await reader.readexactly(4) if head[1] & 0x80 else b"\0\0\0\0"
    payload = await reader.readexactly(size)
    return head[0] & 0x0F, bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))


class Venue:
    """The synthetic venue: instruments-info (aiohttp), a raw public WebSocket, phase control.

    The WebSocket side writes pre-framed text frames straight to the socket in batches, so the
    venue costs a few microseconds per frame and the gateway, not the venue, is what is measured.
    """

    def __init__(self) -> None:
        self.books = {s: symbol_frames(i, s) for i, s in enumerate(SYMBOLS)}
        self.update_ids = dict.fromkeys(SYMBOLS, 0)
        self.writer: asyncio.StreamWriter | None = None
        self.subscribed: list[str] = []

    async def instruments(self, request: web.Request) -> web.Response:
        items = [
            {
                "symbol": symbol,
                "status": "Trading",
                "baseCoin": symbol[:-4],
                "quoteCoin": "USDT",
                "priceFilter": {"tickSize": "0.10"},
                "lotSizeFilter": {"qtyStep": "0.001", "minOrderQty": "0.001", "maxOrderQty": "100"},
            }
            for symbol in SYMBOLS
        ]
        result = {"category": "linear", "list": items, "nextPageCursor": ""}
        return web.json_response({"retCode": 0, "retMsg": "OK", "result": result, "time": 0})

    async def public(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = (await reader.readuntil(b"\r\n\r\n")).decode()
        key = next(
            line.split(":", 1)[1].strip()
            for line in request.split("\r\n")
            if line.lower().startswith("sec-websocket-key:")
        )
        digest = hashlib.sha1((key + WS_GUID).encode()).digest()  # RFC 6455 handshake, not security
        accept = base64.b64encode(digest).decode()
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        writer.transport.set_write_buffer_limits(high=1 << 20)
        self.writer = writer
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                opcode, payload = await read_ws_frame(reader)
                if opcode == 8:
                    return
                if opcode == 1:
                    self.on_request(writer, json.loads(payload))

    def on_request(self, writer: asyncio.StreamWriter, request: dict[str, Any]) -> None:
        op = request.get("op")
        reply = {"success": True, "ret_msg": "pong" if op == "ping" else "", "op": op}
        reply |= {"conn_id": "bench", "req_id": request.get("req_id", "")}
        writer.write(ws_text(json.dumps(reply).encode()))
        for topic in request.get("args", []) if op == "subscribe" else ():
            if topic.startswith("orderbook.50."):
                symbol = topic.rsplit(".", 1)[1]
                self.subscribed.append(symbol)
                self.update_ids[symbol] += 1
                bids, asks, _ = self.books[symbol]
                message = snapshot(symbol, bids, asks, self.update_ids[symbol], 0)
                writer.write(ws_text(message.encode()))

    def batch(
        self, symbols: list[str], start: int, count: int, ts_ms: int
    ) -> tuple[bytes, list[tuple[str, int]]]:
        frames, ids = [], []
        for number in range(start, start + count):
            symbol = symbols[number % len(symbols)]
            update_id = self.update_ids[symbol] = self.update_ids[symbol] + 1
            body = self.books[symbol][2][update_id % VARIANTS]
            frames.append(ws_text(delta(symbol, body, update_id, ts_ms).encode()))
            ids.append((symbol, update_id))
        return b"".join(frames), ids

    async def phase(self, request: web.Request) -> web.Response:
        """POST {"rate": frames/s or 0 for as fast as possible, "seconds": s, "record": bool}."""
        body = await request.json()
        rate, seconds, record = body["rate"], body["seconds"], body["record"]
        writer = self.writer
        assert writer is not None
        symbols = sorted(set(self.subscribed))
        sent: list[tuple[str, int, int]] = []
        count, started = 0, time.perf_counter()
        while (now := time.perf_counter()) < started + seconds:
            due = int((now - started) * rate) - count if rate else 200
            if due > 0:
                data, ids = self.batch(symbols, count, due, time.time_ns() // 1_000_000)
                sent_ns = time.time_ns()
                writer.write(data)
                count += due
                if record:
                    sent.extend((symbol, update_id, sent_ns) for symbol, update_id in ids)
            await writer.drain()
            if rate:
                await asyncio.sleep(0.0002)
        elapsed = time.perf_counter() - started
        reply = {"sent": count, "elapsed": elapsed, "times": sent}
        return web.Response(body=msgspec.msgpack.encode(reply))


def serve_venue(rest_port: int, ws_port: int) -> None:
    async def main() -> None:
        venue = Venue()
        app = web.Application()
        app.router.add_get("/v5/market/instruments-info", venue.instruments)
        app.router.add_post("/bench/phase", venue.phase)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", rest_port).start()
        server = await asyncio.start_server(venue.public, "127.0.0.1", ws_port)
        async with server:
            await asyncio.Event().wait()

    asyncio.run(main())


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    marks = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "p99.9": 0.999}
    picked = {k: ordered[min(len(ordered) - 1, int(q * len(ordered)))] for k, q in marks.items()}
    return picked | {"max": ordered[-1]}


async def scrape(port: int) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as reply,
    ):
        return await reply.text()


def sample(text: str, name: str, labels: str = "") -> float:
    prefix = f"{name}{{{labels}}} " if labels else f"{name} "
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))


def lag_buckets(text: str) -> list[tuple[float, float]]:
    """(upper bound s, cumulative count) of the gateway's publish-lag histogram."""
    buckets = []
    for line in text.splitlines():
        if line.startswith("md_gateway_publish_lag_seconds_bucket{"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float(bound), float(line.split()[-1])))
    return buckets


def histogram_quantiles(before: str, after: str) -> dict[str, float]:
    """Quantiles (ms) of what the histogram counted between two scrapes, interpolated."""
    counts = [
        (bound, end - start)
        for (bound, start), (_, end) in zip(lag_buckets(before), lag_buckets(after), strict=True)
    ]
    total = counts[-1][1]
    result = {}
    for label, fraction in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)):
        rank, lower, below = fraction * total, 0.0, 0.0
        for bound, cumulative in counts:
            if cumulative >= rank:
                upper = bound if bound != float("inf") else lower
                share = (rank - below) / max(cumulative - below, 1)
                result[label] = 1000 * (lower + (upper - lower) * share)
                break
            lower, below = bound, cumulative
    return result


async def wait_until(condition: Any, limit_s: float, what: str) -> None:
    deadline = time.monotonic() + limit_s
    while not await condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"expected {what} within {limit_s}s")
        await asyncio.sleep(0.1)


async def phase(venue_port: int, rate: int, seconds: float, record: bool) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=seconds + 30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        body = {"rate": rate, "seconds": seconds, "record": record}
        async with session.post(f"http://127.0.0.1:{venue_port}/bench/phase", json=body) as reply:
            return msgspec.msgpack.decode(await reply.read())  # type: ignore[no-any-return]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drained(http_port: int, last: str) -> None:
    """Wait until the gateway has worked through what the max phase left in its socket."""
    frames = "md_gateway_frames_total"
    while True:
        await asyncio.sleep(0.3)
        now = await scrape(http_port)
        if sample(now, frames, 'kind="book"') == sample(last, frames, 'kind="book"'):
            return
        last = now


def start_venue(rest_port: int, ws_port: int) -> subprocess.Popen[bytes]:
    """The synthetic venue: REST and phase control on one port, the public WebSocket on another."""
    return subprocess.Popen([sys.executable, __file__, "--venue", str(rest_port), str(ws_port)])


def start_gateway(
    work: Path, nats_url: str, ports: tuple[int, int, int], extra: dict[str, str]
) -> Any:
    venue_port, ws_port, http_port = ports
    env = {
        **os.environ,
        "MD_GATEWAY_NATS__URL": nats_url,
        "MD_GATEWAY_HTTP__PORT": str(http_port),
        "MD_GATEWAY_SYMBOLS": ",".join(SYMBOLS),
        "MD_GATEWAY_VENUE__REST_URL": f"http://127.0.0.1:{venue_port}",
        "MD_GATEWAY_VENUE__WS_URL": f"ws://127.0.0.1:{ws_port}",
        "MD_GATEWAY_LOG__LEVEL": "WARNING",
        "MD_GATEWAY_STALE_AFTER_S": "30",
        **extra,
    }
    log = (work / f"gateway-{len(extra)}.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "md_gateway"], env=env, stderr=log)


def probe(seconds: float) -> None:
    """Print how late 1 ms sleeps wake up (ms percentiles): the machine's scheduling noise."""
    late = []
    deadline = time.perf_counter() + seconds
    while (start := time.perf_counter()) < deadline:
        time.sleep(0.001)
        late.append((time.perf_counter() - start - 0.001) * 1000)
    print(json.dumps(percentiles(late)))


def start_probe(seconds: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "--probe", str(seconds)], stdout=subprocess.PIPE
    )


async def run_gateway(
    work: Path, nats_url: str, venue_ports: tuple[int, int], label: str
) -> dict[str, Any]:
    """Start one gateway, measure max throughput, then lag at the target rate; stop it."""
    venue_port = venue_ports[0]
    ports = (*venue_ports, free_port())
    received: list[tuple[str, int, int, int]] = []
    decoder = msgspec.msgpack.Decoder(BookTop)
    client = await nats.connect(nats_url)

    async def on_book(msg: Any) -> None:
        top = decoder.decode(msg.data)
        received.append((top.symbol, top.update_id, top.ts_gateway_ns, time.time_ns()))

    async def all_live() -> bool:
        try:
            text = await scrape(ports[2])
        except aiohttp.ClientError:
            return False
        return sample(text, "md_gateway_symbols_live") == len(SYMBOLS)

    # Subscribed before the gateway starts, so no snapshot book is missed.
    for symbol in SAMPLED:
        await client.subscribe(f"md.book.bybit.linear.{symbol}", cb=on_book)
    await client.flush()
    gateway = start_gateway(work, nats_url, ports, CONFIGS[label])
    try:
        try:
            await wait_until(all_live, 30, "every symbol live")
        except RuntimeError:
            print((work / f"gateway-{len(CONFIGS[label])}.log").read_text()[-3000:])
            raise
        before = await scrape(ports[2])
        cpu_start = cpu_seconds(gateway.pid)
        blast = await phase(venue_port, 0, MAX_SECONDS, False)
        middle = await scrape(ports[2])
        blast_cpu = cpu_seconds(gateway.pid) - cpu_start
        await drained(ports[2], middle)
        received.clear()
        middle = await scrape(ports[2])
        cpu_before = cpu_seconds(gateway.pid)
        noise = start_probe(PACED_SECONDS)
        paced = await phase(venue_port, TARGET_RATE, PACED_SECONDS, True)
        noise_out, _ = noise.communicate(timeout=30)
        await drained(ports[2], await scrape(ports[2]))
        cpu_used = cpu_seconds(gateway.pid) - cpu_before
        after = await scrape(ports[2])
    finally:
        await client.close()
        gateway.terminate()
        gateway.wait(10)
    frames = "md_gateway_frames_total"
    sent_at = {(s, u): t for s, u, t in paced["times"] if s in SAMPLED}
    observed = [(recv - gw) / 1e6 for _, _, gw, recv in received]
    end_to_end = [(recv - sent_at[(s, u)]) / 1e6 for s, u, _, recv in received if (s, u) in sent_at]
    applied = sample(after, frames, 'kind="book"') - sample(middle, frames, 'kind="book"')
    blasted = sample(middle, frames, 'kind="book"') - sample(before, frames, 'kind="book"')
    return {
        "label": label,
        "cpu_us": 1e6 * cpu_used / max(applied, 1),
        "blast_cpu_us": 1e6 * blast_cpu / max(blasted, 1),
        "blast_cpu_share": blast_cpu / blast["elapsed"],
        "max_rate": (sample(middle, frames, 'kind="book"') - sample(before, frames, 'kind="book"'))
        / blast["elapsed"],
        "paced_rate": (sample(after, frames, 'kind="book"') - sample(middle, frames, 'kind="book"'))
        / paced["elapsed"],
        "paced_sent": paced["sent"] / paced["elapsed"],
        "gateway": histogram_quantiles(middle, after),
        "observed": percentiles(observed),
        "end_to_end": percentiles(end_to_end),
        "noise": json.loads(noise_out),
        "missing": len(sent_at) - len(end_to_end),
        "refused": sample(after, "md_gateway_bad_frames_total", 'kind="book"'),
    }


async def measure(work: Path) -> list[dict[str, Any]]:
    nats_server = NatsServer(work / "nats")
    nats_server.start()
    venue_ports = (free_port(), free_port())
    venue = start_venue(*venue_ports)
    try:
        return [await run_gateway(work, nats_server.url, venue_ports, label) for label in CONFIGS]
    finally:
        venue.terminate()
        venue.wait(10)
        nats_server.stop()


def baseline() -> float:
    """Frames/s through the gateway's per-frame path without WebSocket, spans or NATS."""
    books, bodies = {}, {}
    for index, symbol in enumerate(SYMBOLS):
        definition = InstrumentDefinition(
            venue="bybit",
            category="linear",
            symbol=symbol,
            base_coin=symbol[:-4],
            quote_coin="USDT",
            status="Trading",
            tick_size="0.10",
            lot_size="0.001",
            min_qty_lots=1,
            max_qty_lots=100_000,
            min_notional="0",
        )
        book = SymbolBook(definition, SymbolFeed(symbol, 30, 5, 0), LEVELS, 20, 0.1)
        bids, asks, bodies[symbol] = symbol_frames(index, symbol)
        book.apply(snapshot(symbol, bids, asks, 1, 0).encode(), 0.0)
        books[symbol] = book
    payloads = []
    for count in range(BASELINE_FRAMES):
        symbol = SYMBOLS[count % len(SYMBOLS)]
        update_id = 2 + count // len(SYMBOLS)
        frame = delta(symbol, bodies[symbol][update_id % VARIANTS], update_id, 0)
        payloads.append((books[symbol], frame.encode()))
    started = time.perf_counter()
    for book, payload in payloads:
        result = book.apply(payload, 1.0)
        if result.publishable:
            encode(book.top(result.update_id, 0))
    return BASELINE_FRAMES / (time.perf_counter() - started)


def report(runs: list[dict[str, Any]], base: float, load: str) -> None:
    print(
        f"md_gateway, one process, {len(SYMBOLS)} symbols, orderbook.50 deltas (1-6 levels per "
        f"side); {os.cpu_count()} cores shared by venue, nats-server, gateway and this process; "
        f"load average before the run: {load}"
    )
    print(
        f"baseline (same frames, Rust apply + feed state + BookTop encode, no I/O, this "
        f"process): {base:,.0f} frames/s"
    )
    for run in runs:
        print(
            f"\n{run['label']}\n"
            f"  max sustained {run['max_rate']:>8,.0f} frames/s ({MAX_SECONDS:.0f} s, "
            f"venue as fast as the gateway reads); gateway/baseline = {run['max_rate'] / base:.3f}"
            f"\n    gateway CPU {run['blast_cpu_us']:.1f} us per frame, "
            f"{run['blast_cpu_share']:.0%} of a core"
        )
        print(
            f"  paced {run['paced_sent']:,.0f} frames/s offered, {run['paced_rate']:,.0f}/s "
            f"applied, {run['refused']:.0f} refused, {run['missing']} sampled tops missing"
        )
        print(
            f"  gateway CPU {run['cpu_us']:.1f} us per frame at the paced rate "
            f"(one core: {1e6 / run['cpu_us']:,.0f} frames/s if it had a core to itself)"
        )
        print(f"  {'publish lag, ms':<44}" + "".join(f"{k:>8}" for k in run["observed"]))
        rows = (
            ("gateway: frame received -> handed to NATS", "gateway"),
            (f"subscriber ({len(SAMPLED)} symbols): received ->", "observed"),
            ("  venue sent -> subscriber (end to end)", "end_to_end"),
            ("machine noise: lateness of 1 ms sleeps", "noise"),
        )
        for label, key in rows:
            values = [run[key].get(column) for column in run["observed"]]
            cells = "".join("       -" if v is None else f"{v:>8.3f}" for v in values)
            print(f"  {label:<44}{cells}")
    print(f"\ntarget: >= {TARGET_RATE:,} frames/s with p99 gateway-added latency <= 2 ms")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--venue":
        serve_venue(int(sys.argv[2]), int(sys.argv[3]))
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--probe":
        probe(float(sys.argv[2]))
        return
    load = " ".join(f"{value:.1f}" for value in os.getloadavg())
    base = baseline()
    with tempfile.TemporaryDirectory() as work:
        runs = asyncio.run(measure(Path(work)))
    report(runs, base, load)


if __name__ == "__main__":
    main()
