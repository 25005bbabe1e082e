"""RecorderSettings: which venue feed and bus subjects to record, where, and within what budget.

Environment names use the `RECORDER_` prefix and `__` for sections, the names `mm run` passes:
`RECORDER_SYMBOLS`, `RECORDER_DIR`, `RECORDER_VENUE__WS_URL` (mm_bybit appends the category's
public path), `RECORDER_TOPICS` (default `orderbook.50,orderbook.1,publicTrade,tickers`),
`RECORDER_BUS_SUBJECTS` (e.g. `exec.>,quote.intent.>`; default none), `RECORDER_BUDGET_BYTES`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from mm_bybit.feed_settings import PublicFeedSettings
from mm_runtime.settings import CommaList, ServiceSettings, SymbolList

TOPIC_KINDS = (
    "orderbook.1",
    "orderbook.50",
    "orderbook.200",
    "orderbook.1000",
    "publicTrade",
    "tickers",
)
DEFAULT_TOPICS = ["orderbook.50", "orderbook.1", "publicTrade", "tickers"]
# The bus subjects a recorder may be asked to keep: the ones its bus user may read.
BUS_DOMAINS = ("exec", "quote", "order", "risk", "md", "kpi")


class VenueSettings(PublicFeedSettings):
    """The venue's public WebSocket (the recorder needs no REST: it keeps frames, not books;
    `rest_url` is accepted because `mm run` passes it to every venue user)."""


class RecorderSettings(ServiceSettings):
    """Everything the recorder needs at start; refused with the field named when inconsistent."""

    model_config = SettingsConfigDict(env_prefix="RECORDER_")

    venue: VenueSettings = VenueSettings()
    symbols: SymbolList = Field(min_length=1)
    dir: Path = Path("recordings")
    topics: CommaList = Field(default_factory=lambda: list(DEFAULT_TOPICS), min_length=1)
    bus_subjects: CommaList = Field(default_factory=list)
    # Pending lines become a zstd frame on disk this often: the most a SIGKILL can lose.
    flush_interval_s: float = Field(default=1.0, gt=0, le=60)
    compression_level: int = Field(default=3, ge=1, le=19)
    # Total size of the recording directory; the oldest hours are deleted beyond it. 0: no limit.
    budget_bytes: int = Field(default=0, ge=0)
    budget_interval_s: float = Field(default=10.0, gt=0, le=3600)
    max_pending_bytes: int = Field(default=64 << 20, ge=1 << 16)

    @field_validator("topics")
    @classmethod
    def _known_topics(cls, value: list[str]) -> list[str]:
        unknown = [topic for topic in value if topic not in TOPIC_KINDS]
        if unknown:
            raise ValueError(f"topics must be among {list(TOPIC_KINDS)}, got {unknown}")
        return value

    @field_validator("bus_subjects")
    @classmethod
    def _readable_subjects(cls, value: list[str]) -> list[str]:
        for subject in value:
            if subject.split(".", 1)[0] not in BUS_DOMAINS:
                raise ValueError(
                    f"bus_subjects must start with one of {list(BUS_DOMAINS)}, got {subject!r}"
                )
        return value

    @property
    def venue_topics(self) -> dict[str, str]:
        """Each venue topic to subscribe, with its symbol."""
        return {f"{kind}.{symbol}": symbol for symbol in self.symbols for kind in self.topics}
