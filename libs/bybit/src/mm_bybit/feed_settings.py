"""Where the venue's public market data is and how its WebSocket is kept up.

One settings section for every service that reads the public feed (md_gateway, the recorder), so
the URLs, the category and the keep-alive timings are named and validated once; a service adds its
own fields by subclassing. Pointing at Bybit is a change of URLs only.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mm_bybit.ws_public import public_url
from mm_proto import subjects

LOCAL_SIMULATOR = "127.0.0.1:14230"  # the simulator `mm run` starts (base port 14220 + 10)


class PublicFeedSettings(BaseModel):
    """The venue's REST base URL, its WebSocket base URL (the category's public path is appended)
    and the socket's ping, pong and reconnect timings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "bybit"
    rest_url: str = f"http://{LOCAL_SIMULATOR}"
    ws_url: str = f"ws://{LOCAL_SIMULATOR}"
    category: str = "linear"
    ping_interval_s: float = Field(default=20.0, gt=0)
    pong_timeout_s: float = Field(default=10.0, gt=0)
    reconnect_base_s: float = Field(default=0.5, gt=0)
    reconnect_cap_s: float = Field(default=30.0, gt=0)

    @field_validator("name", "category")
    @classmethod
    def _is_a_token(cls, value: str) -> str:
        return subjects.token(value)

    @field_validator("rest_url")
    @classmethod
    def _is_http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"rest_url must start with http:// or https://, was {value!r}")
        return value.rstrip("/")

    @field_validator("ws_url")
    @classmethod
    def _is_ws(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError(f"ws_url must start with ws:// or wss://, was {value!r}")
        return value.rstrip("/")

    @property
    def public_ws_url(self) -> str:
        """The public stream of the category, e.g. ws://127.0.0.1:14230/v5/public/linear."""
        return public_url(self.ws_url, self.category)
