"""Every NATS subject, stream and KV bucket name: the only code that builds subject strings.

Facts are `<domain>.<kind>.<venue>.<category>.<symbol>` (`md.book.bybit.linear.BTCUSDT`), heartbeats
`health.heartbeat.<service>`, commands `ctl.<service>.<verb>`. Every identifier passes through
`token`, which accepts only ASCII letters, digits, `_` and `-`: that rejects the wildcards `*` and
`>`, the separator `.`, whitespace, and also `$` (NATS reserves `$JS`, `$KV`, `$SYS`), control and
non-ASCII characters. Wildcards only ever come from the `*_pattern` builders, which put `*` where an
argument is None.
"""

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from mm_proto.control import (
    CancelAllRequest,
    ConfigGetRequest,
    ConfigSetRequest,
    ConfigUnsetRequest,
    FlattenRequest,
    HaltRequest,
    Heartbeat,
    ResumeRequest,
    StatusRequest,
)
from mm_proto.economics import KpiSnapshot
from mm_proto.gate import ObligationSummary, ReconciliationResult, TickToOrderSummary
from mm_proto.instrument import InstrumentDefinition
from mm_proto.market import BookDepth, BookTop, FeedStatus, Trade
from mm_proto.orders import Fill, FundingSettlement, OrderEvent, OrderTarget, Position
from mm_proto.policy import PolicyDecision
from mm_proto.quoting import QuoteIntent
from mm_proto.risk import RiskEvent
from mm_proto.rollout import RolloutEvent

MAX_TOKEN_LENGTH: Final = 64
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
_WILDCARD = "*"

EXEC_STREAM: Final = "EXEC"  # orders, fills, positions: the audit trail, never lost
EXEC_STREAM_SUBJECTS: Final = ("exec.>",)
# The marks (mid changes plus a per-second heartbeat per symbol), kept an hour for the ledger.
MARKS_STREAM: Final = "MARKS"
MARKS_STREAM_SUBJECTS: Final = ("md.mark.>",)
KPI_STREAM: Final = "KPI"  # the ledger's per-minute KPI snapshots
KPI_STREAM_SUBJECTS: Final = ("kpi.>",)
RISK_STREAM: Final = "RISK"  # risk events
RISK_STREAM_SUBJECTS: Final = ("risk.event.>",)
POLICY_STREAM: Final = "POLICY"  # the slow loop's decisions: the audit of every config it wrote
POLICY_STREAM_SUBJECTS: Final = ("policy.event.>",)
CONFIG_BUCKET: Final = "config"  # KV: live configuration, watched by every service
RISK_BUCKET: Final = "risk"  # KV: the kill switch
# KV: the latest InstrumentDefinition per symbol, written by md_gateway, read at start by others.
INSTRUMENT_BUCKET: Final = "instruments"
# KV: the account's FeeSchedule per symbol (keys as INSTRUMENT_BUCKET), written by the executor.
FEE_BUCKET: Final = "fees"
# KV: the canary rollout's RolloutState under ROLLOUT_KEY, written by `mm rollout`, read by
# the quoter.
ROLLOUT_BUCKET: Final = "rollout"
ROLLOUT_KEY: Final = "state"
# KV: per-symbol leases of replicated writers (executor, quoter) under `<service>.<SYMBOL>`,
# each written only by the replicas of that service (mm_runtime.symbol_lease).
LEASE_BUCKET: Final = "leases"
ROLLOUT_STREAM: Final = "ROLLOUT"  # every transition of a rollout, with its reason and KPIs
ROLLOUT_STREAM_SUBJECTS: Final = ("rollout.event.>",)
# The quoter's stored facts: a minute's obligation snapshots per symbol, read by `mm gate`.
# (Its intents stay core messages: nothing on the fast path waits for a store.)
QUOTER_STREAM: Final = "QUOTER"
QUOTER_STREAM_SUBJECTS: Final = ("quote.obligation.>",)
HALT_KEY: Final = "halt"  # key in RISK_BUCKET whose value is an encoded HaltState
# Key in RISK_BUCKET: risk's limits in force per symbol that other services size against, a JSON
# object {"<SYMBOL>": {"max_position_lots": int, "max_order_lots": int}}, written by risk.
RISK_LIMITS_KEY: Final = "limits"
# The symbol token of portfolio-wide risk events; venue symbols are never lowercase with '_'.
PORTFOLIO_SYMBOL: Final = "_portfolio"


def token(identifier: str) -> str:
    """Turn a venue, category, symbol or service name into exactly one subject token, or raise."""
    if not isinstance(identifier, str):
        raise ValueError(
            f"subject token must be a str, was {type(identifier).__name__} {identifier!r}"
        )
    if not identifier:
        raise ValueError("subject token must be a non-empty identifier, was ''")
    if any(character.isspace() for character in identifier):
        raise ValueError(f"subject token must not contain whitespace, was {identifier!r}")
    for wildcard in ("*", ">"):
        if wildcard in identifier:
            raise ValueError(
                f"subject token must not contain the wildcard {wildcard!r}, was {identifier!r}"
            )
    if "." in identifier:
        raise ValueError(
            f"subject token must not contain '.', the token separator, was {identifier!r}"
        )
    if len(identifier) > MAX_TOKEN_LENGTH:
        raise ValueError(
            f"subject token must be at most {MAX_TOKEN_LENGTH} characters, "
            f"was {len(identifier)}: {identifier[:MAX_TOKEN_LENGTH]!r}..."
        )
    if not _TOKEN.fullmatch(identifier):
        bad = next(character for character in identifier if not _TOKEN.fullmatch(character))
        raise ValueError(
            "subject token may contain only ASCII letters, digits, '_' and '-', "
            f"was {identifier!r} (bad character {bad!r})"
        )
    return identifier


@dataclass(frozen=True)
class FactFamily:
    """One family of fact subjects `<domain>.<kind>.<venue>.<category>.<symbol>`."""

    domain: str
    kind: str
    message_type: Any  # a message class, or a union of them for codec.decode


FACT_FAMILIES: Final[Mapping[str, FactFamily]] = MappingProxyType(
    {
        "instrument": FactFamily("md", "instrument", InstrumentDefinition),
        "book": FactFamily("md", "book", BookTop),
        "mark": FactFamily("md", "mark", BookTop),
        "depth": FactFamily("md", "depth", BookDepth),
        "trade": FactFamily("md", "trade", Trade),
        "feed_status": FactFamily("md", "status", FeedStatus),
        "quote_intent": FactFamily("quote", "intent", QuoteIntent),
        "order_target": FactFamily("order", "target", OrderTarget),
        "exec_order": FactFamily("exec", "order", OrderEvent),
        "exec_fill": FactFamily("exec", "fill", Fill),
        "exec_position": FactFamily("exec", "position", Position),
        "risk_event": FactFamily("risk", "event", RiskEvent),
        "exec_funding": FactFamily("exec", "funding", FundingSettlement),
        "kpi": FactFamily("kpi", "snapshot", KpiSnapshot),
        "policy_event": FactFamily("policy", "event", PolicyDecision),
        # The identifier token is the rollout's id (a rollout spans symbols).
        "rollout_event": FactFamily("rollout", "event", RolloutEvent),
        # The gate's figures no ledger row carries (`mm gate`).
        "tick_to_order": FactFamily("exec", "latency", TickToOrderSummary),
        "reconciliation": FactFamily("exec", "reconciliation", ReconciliationResult),
        "obligation": FactFamily("quote", "obligation", ObligationSummary),
    }
)
_FAMILY_BY_PREFIX: Final = {
    (family.domain, family.kind): name for name, family in FACT_FAMILIES.items()
}


class CtlVerb(enum.Enum):
    """The commands a service answers on `ctl.<service>.<verb>`; multi-word verbs use '-'."""

    HALT = "halt"
    RESUME = "resume"
    CANCEL_ALL = "cancel-all"
    STATUS = "status"
    CONFIG_GET = "config-get"
    CONFIG_SET = "config-set"
    CONFIG_UNSET = "config-unset"
    FLATTEN = "flatten"


CTL_REQUEST_TYPES: Final[Mapping[CtlVerb, type]] = MappingProxyType(
    {
        CtlVerb.HALT: HaltRequest,
        CtlVerb.RESUME: ResumeRequest,
        CtlVerb.CANCEL_ALL: CancelAllRequest,
        CtlVerb.STATUS: StatusRequest,
        CtlVerb.CONFIG_GET: ConfigGetRequest,
        CtlVerb.CONFIG_SET: ConfigSetRequest,
        CtlVerb.CONFIG_UNSET: ConfigUnsetRequest,
        CtlVerb.FLATTEN: FlattenRequest,
    }
)


def fact(family: str, venue: str, category: str, symbol: str) -> str:
    """The subject of one fact family for one instrument, e.g. fact("book", ...)."""
    prefix = _family(family)
    return f"{prefix.domain}.{prefix.kind}.{token(venue)}.{token(category)}.{token(symbol)}"


def fact_pattern(
    family: str, venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """A subscription pattern over one fact family; each argument left None matches any value."""
    prefix = _family(family)
    tokens = (_pattern_token(venue), _pattern_token(category), _pattern_token(symbol))
    return ".".join((prefix.domain, prefix.kind, *tokens))


def instrument(venue: str, category: str, symbol: str) -> str:
    """Where the gateway publishes an InstrumentDefinition."""
    return fact("instrument", venue, category, symbol)


def book(venue: str, category: str, symbol: str) -> str:
    """Where the gateway publishes BookTop."""
    return fact("book", venue, category, symbol)


def mark(venue: str, category: str, symbol: str) -> str:
    """Where the gateway publishes a BookTop when the mid changes or a second passed (MARKS)."""
    return fact("mark", venue, category, symbol)


def depth(venue: str, category: str, symbol: str) -> str:
    """Where the gateway publishes BookDepth."""
    return fact("depth", venue, category, symbol)


def trade(venue: str, category: str, symbol: str) -> str:
    """Where the gateway publishes Trade."""
    return fact("trade", venue, category, symbol)


def feed_status(venue: str, category: str, symbol: str) -> str:
    """Where the gateway publishes FeedStatus."""
    return fact("feed_status", venue, category, symbol)


def quote_intent(venue: str, category: str, symbol: str) -> str:
    """Where the quoter publishes QuoteIntent."""
    return fact("quote_intent", venue, category, symbol)


def order_target(venue: str, category: str, symbol: str) -> str:
    """Where risk publishes OrderTarget."""
    return fact("order_target", venue, category, symbol)


def exec_order(venue: str, category: str, symbol: str) -> str:
    """Where the executor publishes OrderEvent (JetStream stream EXEC)."""
    return fact("exec_order", venue, category, symbol)


def exec_fill(venue: str, category: str, symbol: str) -> str:
    """Where the executor publishes Fill (JetStream stream EXEC)."""
    return fact("exec_fill", venue, category, symbol)


def exec_position(venue: str, category: str, symbol: str) -> str:
    """Where the executor publishes Position (JetStream stream EXEC)."""
    return fact("exec_position", venue, category, symbol)


def exec_funding(venue: str, category: str, symbol: str) -> str:
    """Where the executor publishes FundingSettlement (JetStream stream EXEC)."""
    return fact("exec_funding", venue, category, symbol)


def kpi(venue: str, category: str, symbol: str) -> str:
    """Where the ledger publishes KpiSnapshot (JetStream stream KPI)."""
    return fact("kpi", venue, category, symbol)


def policy_event(venue: str, category: str, symbol: str) -> str:
    """Where the policy publishes PolicyDecision (JetStream stream POLICY)."""
    return fact("policy_event", venue, category, symbol)


def tick_to_order(venue: str, category: str, symbol: str) -> str:
    """Where the executor publishes TickToOrderSummary (JetStream stream EXEC)."""
    return fact("tick_to_order", venue, category, symbol)


def obligation(venue: str, category: str, symbol: str) -> str:
    """Where the quoter publishes ObligationSummary (JetStream stream QUOTER)."""
    return fact("obligation", venue, category, symbol)


def reconciliation(venue: str, category: str, symbol: str) -> str:
    """Where the executor publishes ReconciliationResult (JetStream stream EXEC)."""
    return fact("reconciliation", venue, category, symbol)


def tick_to_order_pattern(
    venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """Subscribe to TickToOrderSummary; None matches any value."""
    return fact_pattern("tick_to_order", venue, category, symbol)


def reconciliation_pattern(
    venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """Subscribe to ReconciliationResult; None matches any value."""
    return fact_pattern("reconciliation", venue, category, symbol)


def obligation_pattern(
    venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """Subscribe to ObligationSummary; None matches any value."""
    return fact_pattern("obligation", venue, category, symbol)


def policy_event_pattern(
    venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """Subscribe to PolicyDecision; None matches any value."""
    return fact_pattern("policy_event", venue, category, symbol)


def kpi_pattern(
    venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """Subscribe to KpiSnapshot; None matches any value."""
    return fact_pattern("kpi", venue, category, symbol)


def exec_funding_pattern(
    venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """Subscribe to FundingSettlement; None matches any value."""
    return fact_pattern("exec_funding", venue, category, symbol)


def risk_event(venue: str, category: str, symbol: str) -> str:
    """Where risk publishes RiskEvent (stream RISK); symbol "" (portfolio-wide) -> "_portfolio"."""
    return fact("risk_event", venue, category, symbol or PORTFOLIO_SYMBOL)


def instrument_pattern(
    venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """Subscribe to InstrumentDefinition; None matches any value."""
    return fact_pattern("instrument", venue, category, symbol)


def book_pattern(
    venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """Subscribe to BookTop, e.g. book_pattern("bybit", "linear") -> "md.book.bybit.linear.*"."""
    return fact_pattern("book", venue, category, symbol)


def mark_pattern(
    venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """Subscribe to the marks; None matches any value."""
    return fact_pattern("mark", venue, category, symbol)


def depth_pattern(
    venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """Subscribe to BookDepth; None matches any value."""
    return fact_pattern("depth", venue, category, symbol)


def trade_pattern(
    venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """Subscribe to Trade; None matches any value."""
    return fact_pattern("trade", venue, category, symbol)


def feed_status_pattern(
    venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """Subscribe to FeedStatus; None matches any value."""
    return fact_pattern("feed_status", venue, category, symbol)


def quote_intent_pattern(
    venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """Subscribe to QuoteIntent; None matches any value."""
    return fact_pattern("quote_intent", venue, category, symbol)


def order_target_pattern(
    venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """Subscribe to OrderTarget; None matches any value."""
    return fact_pattern("order_target", venue, category, symbol)


def exec_order_pattern(
    venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """Subscribe to OrderEvent; None matches any value."""
    return fact_pattern("exec_order", venue, category, symbol)


def exec_fill_pattern(
    venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """Subscribe to Fill; None matches any value."""
    return fact_pattern("exec_fill", venue, category, symbol)


def exec_position_pattern(
    venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """Subscribe to Position; None matches any value."""
    return fact_pattern("exec_position", venue, category, symbol)


def rollout_event(venue: str, category: str, rollout_id: str) -> str:
    """Where `mm rollout` publishes RolloutEvent (stream ROLLOUT), one rollout per last token."""
    return fact("rollout_event", venue, category, rollout_id)


def rollout_event_pattern(
    venue: str | None = None, category: str | None = None, rollout_id: str | None = None
) -> str:
    """Subscribe to RolloutEvent; None matches any value."""
    return fact_pattern("rollout_event", venue, category, rollout_id)


def risk_event_pattern(
    venue: str | None = None, category: str | None = None, symbol: str | None = None
) -> str:
    """Subscribe to RiskEvent; None matches any value."""
    return fact_pattern("risk_event", venue, category, symbol)


def domain_pattern(domain: str) -> str:
    """Everything under one domain, e.g. domain_pattern("md") -> "md.>"."""
    if domain not in _DOMAINS:
        raise ValueError(f"domain must be one of {sorted(_DOMAINS)}, was {domain!r}")
    return f"{domain}.>"


def heartbeat(service: str) -> str:
    """Where a service instance publishes its Heartbeat."""
    return f"{_HEARTBEAT_PREFIX}.{token(service)}"


def heartbeat_pattern(service: str | None = None) -> str:
    """Subscribe to heartbeats of one service, or of every service when None."""
    return f"{_HEARTBEAT_PREFIX}.{_pattern_token(service)}"


def ctl(service: str, verb: CtlVerb | str) -> str:
    """The request subject of one command, e.g. ctl("risk", "halt") -> "ctl.risk.halt"."""
    return f"{_CTL_DOMAIN}.{token(service)}.{_verb(verb).value}"


def instrument_key(venue: str, category: str, symbol: str) -> str:
    """The key of one symbol's definition in INSTRUMENT_BUCKET."""
    return f"{token(venue)}.{token(category)}.{token(symbol)}"


def instrument_key_pattern(venue: str, category: str) -> str:
    """Every symbol's key of one venue and category in INSTRUMENT_BUCKET."""
    return f"{token(venue)}.{token(category)}.{_WILDCARD}"


def ctl_pattern(service: str | None = None) -> str:
    """Subscribe to every command of one service (or of every service when None)."""
    return f"{_CTL_DOMAIN}.{_pattern_token(service)}.*"


@dataclass(frozen=True)
class ParsedSubject:
    """What a concrete subject names and which type its payloads decode as."""

    family: str  # a FACT_FAMILIES key, "heartbeat" or "ctl"
    message_type: Any  # pass to codec.decode
    venue: str = ""
    category: str = ""
    symbol: str = ""
    service: str = ""
    verb: CtlVerb | None = None


def parse(subject: str) -> ParsedSubject:
    """Split a concrete subject of this contract into its parts, or raise ValueError."""
    parts = subject.split(".") if isinstance(subject, str) else []
    try:
        for part in parts:
            token(part)
    except ValueError as error:
        raise ValueError(f"subject must be concrete tokens, was {subject!r}: {error}") from None
    if len(parts) == 5 and (parts[0], parts[1]) in _FAMILY_BY_PREFIX:
        family = _FAMILY_BY_PREFIX[(parts[0], parts[1])]
        return ParsedSubject(
            family=family,
            message_type=FACT_FAMILIES[family].message_type,
            venue=parts[2],
            category=parts[3],
            symbol=parts[4],
        )
    if len(parts) == 3 and ".".join(parts[:2]) == _HEARTBEAT_PREFIX:
        return ParsedSubject(family="heartbeat", message_type=Heartbeat, service=parts[2])
    if len(parts) == 3 and parts[0] == _CTL_DOMAIN and parts[2] in _VERBS:
        verb = CtlVerb(parts[2])
        return ParsedSubject(
            family="ctl", message_type=CTL_REQUEST_TYPES[verb], service=parts[1], verb=verb
        )
    raise ValueError(
        "subject must be <domain>.<kind>.<venue>.<category>.<symbol> with a known domain and "
        f"kind, {_HEARTBEAT_PREFIX}.<service> or ctl.<service>.<verb>, was {subject!r}"
    )


_HEARTBEAT_PREFIX: Final = "health.heartbeat"
_CTL_DOMAIN: Final = "ctl"
_DOMAINS: Final = frozenset(family.domain for family in FACT_FAMILIES.values())
_VERBS: Final = frozenset(verb.value for verb in CtlVerb)


def _family(name: str) -> FactFamily:
    family = FACT_FAMILIES.get(name)
    if family is None:
        raise ValueError(f"fact family must be one of {sorted(FACT_FAMILIES)}, was {name!r}")
    return family


def _pattern_token(identifier: str | None) -> str:
    return _WILDCARD if identifier is None else token(identifier)


def _verb(verb: CtlVerb | str) -> CtlVerb:
    if isinstance(verb, CtlVerb):
        return verb
    if verb not in _VERBS:
        raise ValueError(f"ctl verb must be one of {sorted(_VERBS)}, was {verb!r}")
    return CtlVerb(verb)
