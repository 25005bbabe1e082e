"""The quoter's parameters as the policy reads and writes them: through the quoter's own verbs.

The policy never writes KV `config` itself: it asks `ctl.quoter.config-get` for the entries in
force and the effective values per symbol, and `ctl.quoter.config-set` to store an entry, so
every write passes exactly the validation an operator's `mm config set` passes (the model's
bounds, the quoter's live steps, its sizes against risk's limits) and is refused the same way.
A field in an entry whose value is not the one the policy last wrote there was set by hand: it
is pinned, and the policy leaves it alone until it is removed from the entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from mm_proto import (
    ConfigGetRequest,
    ConfigSetRequest,
    CtlReply,
    DecodeError,
    decode,
    encode,
    subjects,
)
from mm_proto.subjects import CtlVerb

PREFIX = "quoter"


class QuoterUnreachableError(RuntimeError):
    """The quoter's config could not be read or written; the policy holds."""


def entry_key(symbol: str) -> str:
    return f"{PREFIX}.{subjects.token(symbol)}"


def encode_value(value: object) -> str:
    """A field's value as the journal keeps it (JSON text)."""
    return json.dumps(value)


@dataclass(frozen=True)
class QuoterView:
    """The quoter's entries in force (by key) and its effective values (by scope)."""

    entries: Mapping[str, dict[str, Any]]
    effective: Mapping[str, dict[str, Any]]

    def entry(self, symbol: str) -> dict[str, Any]:
        return dict(self.entries.get(entry_key(symbol), {}))

    def values(self, symbol: str) -> dict[str, Any]:
        return self.effective.get(symbol) or self.effective.get("default", {})

    def pinned(self, symbol: str, written: Mapping[tuple[str, str], str]) -> set[str]:
        """The fields of the symbol's entry set by hand (not as the policy last wrote them)."""
        key = entry_key(symbol)
        return {
            name
            for name, value in self.entry(symbol).items()
            if written.get((key, name)) != encode_value(value)
        }


def parse_view(reply: CtlReply) -> QuoterView:
    """The view in a `config-get` reply of the whole prefix, or raise QuoterUnreachableError."""
    if not reply.ok:
        raise QuoterUnreachableError(f"quoter config-get refused: {reply.message}")
    entries: dict[str, dict[str, Any]] = {}
    effective: dict[str, dict[str, Any]] = {}
    for name, text in reply.data.items():
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise QuoterUnreachableError(
                f"quoter config-get: {name} is not JSON ({error})"
            ) from None
        if not isinstance(value, dict):
            raise QuoterUnreachableError(f"quoter config-get: {name} is not a JSON object")
        if name.startswith("effective."):
            effective[name.removeprefix("effective.")] = value
        else:
            entries[name] = value
    return QuoterView(entries, effective)


class QuoterConfig:
    """Requests to the quoter's config verbs."""

    def __init__(self, client: Client, timeout_s: float) -> None:
        self._client = client
        self._timeout_s = timeout_s

    async def read(self) -> QuoterView:
        return parse_view(await self._request(CtlVerb.CONFIG_GET, ConfigGetRequest(key=PREFIX)))

    async def write(self, symbol: str, entry: Mapping[str, Any]) -> CtlReply:
        request = ConfigSetRequest(key=entry_key(symbol), value=json.dumps(dict(entry)))
        return await self._request(CtlVerb.CONFIG_SET, request)

    async def _request(self, verb: CtlVerb, request: Any) -> CtlReply:
        subject = subjects.ctl(PREFIX, verb)
        try:
            reply = await self._client.request(subject, encode(request), timeout=self._timeout_s)
            return decode(reply.data, CtlReply)
        except NoRespondersError:
            raise QuoterUnreachableError(f"no quoter answers {subject}") from None
        except NatsTimeoutError:
            raise QuoterUnreachableError(
                f"the quoter did not answer {subject} within {self._timeout_s} s"
            ) from None
        except DecodeError as error:
            raise QuoterUnreachableError(f"undecodable reply on {subject}: {error}") from None
