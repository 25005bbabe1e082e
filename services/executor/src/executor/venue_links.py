"""The executor's connections to the venue, built from its venue settings.

REST (with its rate budget and breaker), the trade WebSocket (REST when it is down), the private
stream wired to the `VenueFeed`, and the venue's disconnect-cancel (DCP) window. Addresses and
topics come from mm_bybit; the service owns starting and stopping them.
"""

from __future__ import annotations

import logging

from executor.settings import VenueSettings
from executor.venue_feed import VenueFeed
from mm_bybit.api import BybitRestApi
from mm_bybit.connection_events import StateListener
from mm_bybit.credentials import ApiCredentials
from mm_bybit.errors import BybitError
from mm_bybit.rest import RestClient
from mm_bybit.ws_private import (
    PrivateHandlers,
    PrivateStream,
    dcp_applies,
    private_topics,
    private_url,
)
from mm_bybit.ws_trade import TradeStream, trade_url

_log = logging.getLogger("executor")


def venue_credentials(venue: VenueSettings) -> ApiCredentials:
    """The account's key and secret from the settings (the secret stays a SecretStr)."""
    return ApiCredentials(api_key=venue.api_key.get_secret_value(), api_secret=venue.api_secret)


def rest_client(venue: VenueSettings, credentials: ApiCredentials) -> RestClient:
    """The signed REST client, with the venue's timeouts and receive window."""
    return RestClient(
        venue.rest_url,
        credentials,
        recv_window_ms=venue.recv_window_ms,
        connect_timeout_s=venue.connect_timeout_s,
        read_timeout_s=venue.read_timeout_s,
    )


def trade_stream(
    venue: VenueSettings, credentials: ApiCredentials, fallback: BybitRestApi
) -> TradeStream:
    """Order entry on the trade WebSocket, by REST while the socket is down (not started)."""
    return TradeStream(
        trade_url(venue.ws_url),
        credentials,
        fallback=fallback,
        recv_window_ms=venue.recv_window_ms,
        request_timeout_s=venue.read_timeout_s,
        ping_interval_s=venue.ws_ping_interval_s,
    )


def private_stream(
    venue: VenueSettings,
    credentials: ApiCredentials,
    feed: VenueFeed,
    catch_up: BybitRestApi,
    on_state: StateListener,
) -> PrivateStream:
    """The private stream handing every push to `feed` (not started)."""
    return PrivateStream(
        private_url(venue.ws_url),
        credentials,
        PrivateHandlers(
            on_orders=feed.on_orders,
            on_fills=feed.on_fills,
            on_funding=feed.on_funding,
            on_positions=feed.on_positions,
            on_wallets=feed.on_wallets,
            on_dcp=feed.on_dcp,
            on_resynced=feed.on_resynced_push,
        ),
        topics=private_topics(venue.category, dcp=bool(venue.dcp_window_s)),
        catch_up=catch_up,
        catch_up_categories=(venue.category,),
        on_state=on_state,
        ping_interval_s=venue.ws_ping_interval_s,
    )


async def arm_dcp(api: BybitRestApi, venue: VenueSettings) -> None:
    """Ask the venue to cancel our orders when every DCP-subscribed connection is gone."""
    window = venue.dcp_window_s
    if not window or not dcp_applies(venue.category):
        return
    try:
        await api.set_disconnect_cancel_window(window)
        _log.info("dcp armed", extra={"window_s": window})
    except BybitError as error:
        # Bybit enables DCP per account on request; without it the watchdog still protects.
        _log.warning("dcp not armed", extra={"error": str(error)})
