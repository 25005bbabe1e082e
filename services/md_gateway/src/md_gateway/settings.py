"""GatewaySettings: where the venue is, which symbols to carry, and how books are published.

Environment names use the `MD_GATEWAY_` prefix and `__` for sections, the names `mm run` passes:
`MD_GATEWAY_SYMBOLS` (comma-separated or a JSON list), `MD_GATEWAY_VENUE__REST_URL`
(`http://127.0.0.1:PORT`) and `MD_GATEWAY_VENUE__WS_URL` (`ws://127.0.0.1:PORT`; mm_bybit
appends the category's public path). Pointing at Bybit is a change of URLs only.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from md_gateway.sharding import Shard, parse_shard, shard_symbols
from mm_bybit.feed_settings import PublicFeedSettings
from mm_runtime.settings import ServiceSettings, SymbolList

BOOK_DEPTHS = (1, 50, 200, 1000)


class VenueSettings(PublicFeedSettings):
    """The venue's public market data: REST for instruments, the public WebSocket for books."""

    start_timeout_s: float = Field(default=30.0, gt=0)


class GatewaySettings(ServiceSettings):
    """Everything md_gateway needs at start; refused with the field named when inconsistent."""

    model_config = SettingsConfigDict(env_prefix="MD_GATEWAY_")

    venue: VenueSettings = VenueSettings()
    symbols: SymbolList = Field(min_length=1)
    shard: str = "0/1"
    depth: int = 50
    top_levels: int = Field(default=20, ge=1, le=1000)
    depth_interval_s: float = Field(default=0.1, ge=0, le=60)
    trades: bool = True
    stale_after_s: float = Field(default=5.0, gt=0, le=3600)
    resync_timeout_s: float = Field(default=5.0, gt=0, le=600)
    status_interval_s: float = Field(default=1.0, gt=0, le=600)
    instrument_interval_s: float = Field(default=60.0, gt=0, le=86400)
    # 1: every published book update starts an md.tick span and carries its context. N > 1:
    # one update in N does; the others go out without a span or trace headers, and the quoter,
    # risk and the executor make no span for what follows from them, so an untraced tick costs
    # no span object anywhere. The default keeps a whole md.tick -> order.ack trace every few
    # seconds at a few symbols' book rate (about 5 a second at 500 updates/s) for a tenth of
    # the CPU that tracing every update costs (bench/bench_service_cpu.py).
    tick_trace_interval: int = Field(default=100, ge=1, le=1_000_000)

    @field_validator("shard")
    @classmethod
    def _shard_parses(cls, value: str) -> str:
        return str(parse_shard(value))

    @field_validator("depth")
    @classmethod
    def _known_depth(cls, value: int) -> int:
        if value not in BOOK_DEPTHS:
            raise ValueError(f"depth must be one of {list(BOOK_DEPTHS)}, was {value}")
        return value

    @model_validator(mode="after")
    def _shard_owns_a_symbol(self) -> GatewaySettings:
        if not self.owned_symbols:
            raise ValueError(
                f"shard {self.shard} owns none of the {len(self.symbols)} symbols; "
                "use fewer replicas or more symbols"
            )
        return self

    @property
    def shard_spec(self) -> Shard:
        return parse_shard(self.shard)

    @property
    def owned_symbols(self) -> list[str]:
        """The symbols this replica carries."""
        return shard_symbols(self.symbols, self.shard_spec)
