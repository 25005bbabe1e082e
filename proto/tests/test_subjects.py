"""The subject switchboard: tokens, builders, patterns and parsing."""

import re

import pytest

from mm_proto import codec, examples, subjects
from mm_proto.control import CancelAllRequest, Heartbeat
from mm_proto.market import BookTop
from mm_proto.orders import Fill, OrderEvent
from mm_proto.registry import tag_of

BUILDERS = {
    "instrument": subjects.instrument,
    "book": subjects.book,
    "mark": subjects.mark,
    "depth": subjects.depth,
    "trade": subjects.trade,
    "feed_status": subjects.feed_status,
    "quote_intent": subjects.quote_intent,
    "order_target": subjects.order_target,
    "exec_order": subjects.exec_order,
    "exec_fill": subjects.exec_fill,
    "exec_position": subjects.exec_position,
    "risk_event": subjects.risk_event,
    "exec_funding": subjects.exec_funding,
    "kpi": subjects.kpi,
    "policy_event": subjects.policy_event,
    "rollout_event": subjects.rollout_event,
    "tick_to_order": subjects.tick_to_order,
    "reconciliation": subjects.reconciliation,
    "obligation": subjects.obligation,
}
PATTERNS = {
    "instrument": subjects.instrument_pattern,
    "book": subjects.book_pattern,
    "mark": subjects.mark_pattern,
    "depth": subjects.depth_pattern,
    "trade": subjects.trade_pattern,
    "feed_status": subjects.feed_status_pattern,
    "quote_intent": subjects.quote_intent_pattern,
    "order_target": subjects.order_target_pattern,
    "exec_order": subjects.exec_order_pattern,
    "exec_fill": subjects.exec_fill_pattern,
    "exec_position": subjects.exec_position_pattern,
    "risk_event": subjects.risk_event_pattern,
    "exec_funding": subjects.exec_funding_pattern,
    "kpi": subjects.kpi_pattern,
    "policy_event": subjects.policy_event_pattern,
    "rollout_event": subjects.rollout_event_pattern,
    "tick_to_order": subjects.tick_to_order_pattern,
    "reconciliation": subjects.reconciliation_pattern,
    "obligation": subjects.obligation_pattern,
}


def nats_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: '*' is one token, a final '>' is one or more tokens."""
    pattern_tokens, subject_tokens = pattern.split("."), subject.split(".")
    for index, pattern_token in enumerate(pattern_tokens):
        if pattern_token == ">":
            return len(subject_tokens) > index
        if index >= len(subject_tokens):
            return False
        if pattern_token not in ("*", subject_tokens[index]):
            return False
    return len(pattern_tokens) == len(subject_tokens)


@pytest.mark.parametrize(
    "identifier", ["BTCUSDT", "1000PEPEUSDT", "BTC-26DEC25-100000-C", "md_gateway", "bybit", "a"]
)
def test_token_accepts_venue_symbol_and_service_names(identifier: str) -> None:
    assert subjects.token(identifier) == identifier


@pytest.mark.parametrize(
    ("identifier", "complaint"),
    [
        ("", "non-empty"),
        ("*", "wildcard '*'"),
        ("BTC*", "wildcard '*'"),
        (">", "wildcard '>'"),
        ("BTC>", "wildcard '>'"),
        ("BTC.USDT", "'.'"),
        (".", "'.'"),
        ("BTC USDT", "whitespace"),
        ("BTCUSDT ", "whitespace"),
        ("BTC\tUSDT", "whitespace"),
        ("BTC\nUSDT", "whitespace"),
        ("BTC\u00a0USDT", "whitespace"),
        ("$SYS", "bad character '$'"),
        ("BTC/USDT", "bad character '/'"),
        ("BTC:USDT", "bad character ':'"),
        ("BTC\x00", "bad character '\\x00'"),
        ("BTCÜSDT", "bad character 'Ü'"),
        ("A" * 65, "at most 64 characters"),
    ],
)
def test_token_rejects_each_unsafe_identifier_naming_the_problem(
    identifier: str, complaint: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)) as raised:
        subjects.token(identifier)
    assert repr(identifier[:64]) in str(raised.value)


@pytest.mark.parametrize("identifier", [None, 5, b"BTCUSDT"])
def test_token_rejects_non_strings(identifier: object) -> None:
    with pytest.raises(ValueError, match="must be a str"):
        subjects.token(identifier)  # type: ignore[arg-type]


def test_fact_subjects_put_vocabulary_first_and_identifiers_last() -> None:
    assert subjects.book("bybit", "linear", "BTCUSDT") == "md.book.bybit.linear.BTCUSDT"
    assert subjects.feed_status("bybit", "spot", "ETHUSDT") == "md.status.bybit.spot.ETHUSDT"
    assert subjects.quote_intent("bybit", "linear", "X") == "quote.intent.bybit.linear.X"
    assert subjects.order_target("bybit", "linear", "X") == "order.target.bybit.linear.X"
    assert subjects.exec_fill("bybit", "linear", "X") == "exec.fill.bybit.linear.X"
    assert subjects.risk_event("bybit", "linear", "X") == "risk.event.bybit.linear.X"


@pytest.mark.parametrize("family", sorted(BUILDERS))
@pytest.mark.parametrize("position", [0, 1, 2])
@pytest.mark.parametrize("bad", ["*", ">", "a.b", "a b"])
def test_every_builder_rejects_a_bad_identifier_in_every_position(
    family: str, position: int, bad: str
) -> None:
    arguments = ["bybit", "linear", "BTCUSDT"]
    arguments[position] = bad
    with pytest.raises(ValueError, match="subject token"):
        BUILDERS[family](*arguments)


def test_portfolio_wide_risk_events_use_a_reserved_symbol_token() -> None:
    subject = subjects.risk_event("bybit", "linear", "")
    assert subject == f"risk.event.bybit.linear.{subjects.PORTFOLIO_SYMBOL}"
    assert subjects.parse(subject).symbol == subjects.PORTFOLIO_SYMBOL


def test_patterns_put_wildcards_only_where_an_argument_is_left_out() -> None:
    assert subjects.book_pattern(venue="bybit", category="linear") == "md.book.bybit.linear.*"
    assert subjects.book_pattern() == "md.book.*.*.*"
    assert subjects.trade_pattern(symbol="BTCUSDT") == "md.trade.*.*.BTCUSDT"
    assert subjects.domain_pattern("exec") == "exec.>"
    assert subjects.heartbeat_pattern() == "health.heartbeat.*"
    assert subjects.ctl_pattern("risk") == "ctl.risk.*"


@pytest.mark.parametrize("family", sorted(PATTERNS))
def test_every_pattern_matches_its_builders_subjects_and_no_other_family(family: str) -> None:
    subject = BUILDERS[family]("bybit", "linear", "BTCUSDT")
    assert nats_matches(PATTERNS[family](), subject)
    assert nats_matches(PATTERNS[family]("bybit", "linear"), subject)
    assert not nats_matches(PATTERNS[family]("bybit", "spot"), subject)
    others = [
        BUILDERS[other]("bybit", "linear", "BTCUSDT") for other in BUILDERS if other != family
    ]
    assert not any(nats_matches(PATTERNS[family](), other) for other in others)


@pytest.mark.parametrize("wildcard", ["*", ">"])
def test_patterns_refuse_wildcards_smuggled_in_as_identifiers(wildcard: str) -> None:
    with pytest.raises(ValueError, match="wildcard"):
        subjects.book_pattern(venue=wildcard)
    with pytest.raises(ValueError, match="wildcard"):
        subjects.heartbeat_pattern(wildcard)


def test_domain_pattern_rejects_unknown_domains() -> None:
    with pytest.raises(ValueError, match=r"domain must be one of .*, was 'mdx'"):
        subjects.domain_pattern("mdx")


def test_exec_stream_captures_every_exec_subject_and_risk_stream_every_risk_event() -> None:
    for builder in (subjects.exec_order, subjects.exec_fill, subjects.exec_position):
        subject = builder("bybit", "linear", "BTCUSDT")
        assert any(nats_matches(pattern, subject) for pattern in subjects.EXEC_STREAM_SUBJECTS)
    risk_subject = subjects.risk_event("bybit", "linear", "")
    assert any(nats_matches(pattern, risk_subject) for pattern in subjects.RISK_STREAM_SUBJECTS)
    hot = subjects.book("bybit", "linear", "BTCUSDT")
    streams = (*subjects.EXEC_STREAM_SUBJECTS, *subjects.RISK_STREAM_SUBJECTS)
    assert not any(nats_matches(pattern, hot) for pattern in streams)


@pytest.mark.parametrize("verb", list(subjects.CtlVerb))
def test_ctl_subjects_parse_back_to_service_verb_and_request_type(verb: subjects.CtlVerb) -> None:
    subject = subjects.ctl("risk", verb)
    assert subject == f"ctl.risk.{verb.value}"
    assert subjects.ctl("risk", verb.value) == subject
    parsed = subjects.parse(subject)
    assert (parsed.family, parsed.service, parsed.verb) == ("ctl", "risk", verb)
    assert parsed.message_type is subjects.CTL_REQUEST_TYPES[verb]


def test_ctl_spells_multi_word_verbs_with_a_hyphen_and_rejects_unknown_verbs() -> None:
    assert subjects.ctl("executor", "cancel-all") == "ctl.executor.cancel-all"
    assert subjects.parse("ctl.executor.cancel-all").message_type is CancelAllRequest
    for verb in ("cancel_all", "reboot", "HALT"):
        with pytest.raises(ValueError, match=rf"ctl verb must be one of .*, was '{verb}'"):
            subjects.ctl("executor", verb)


@pytest.mark.parametrize("family", sorted(BUILDERS))
def test_parse_returns_the_parts_of_every_fact_subject(family: str) -> None:
    parsed = subjects.parse(BUILDERS[family]("bybit", "linear", "BTC-26DEC25"))
    assert (parsed.family, parsed.venue, parsed.category, parsed.symbol) == (
        family,
        "bybit",
        "linear",
        "BTC-26DEC25",
    )
    assert parsed.message_type is subjects.FACT_FAMILIES[family].message_type


def test_parse_names_the_type_that_decodes_each_subjects_payloads() -> None:
    assert subjects.parse("md.book.bybit.linear.BTCUSDT").message_type is BookTop
    assert subjects.parse("exec.order.bybit.linear.BTCUSDT").message_type == OrderEvent
    assert subjects.parse("exec.fill.bybit.linear.BTCUSDT").message_type is Fill
    heartbeat = subjects.parse(subjects.heartbeat("md_gateway"))
    assert (heartbeat.family, heartbeat.service, heartbeat.message_type) == (
        "heartbeat",
        "md_gateway",
        Heartbeat,
    )


def test_every_fact_example_decodes_with_the_type_parse_names_for_its_subject() -> None:
    family_by_tag: dict[str, str] = {}
    for name, family in subjects.FACT_FAMILIES.items():
        for member in getattr(family.message_type, "__args__", (family.message_type,)):
            family_by_tag[tag_of(member)] = name
    for message in examples.examples():
        family_name = family_by_tag.get(tag_of(type(message)))
        if family_name is None:
            continue
        last = "rollout_id" if family_name == "rollout_event" else "symbol"
        venue, category, symbol = (getattr(message, key) for key in ("venue", "category", last))
        subject = BUILDERS[family_name](venue, category, symbol)
        decoded = codec.decode(codec.encode(message), subjects.parse(subject).message_type)
        assert decoded == message


@pytest.mark.parametrize(
    "subject",
    [
        "",
        "md",
        "md.book.bybit.linear",
        "md.book.bybit.linear.BTCUSDT.extra",
        "md.book.bybit.linear.*",
        "md.book.>",
        "md.nope.bybit.linear.BTCUSDT",
        "quote.book.bybit.linear.BTCUSDT",
        "ctl.risk.reboot",
        "health.heartbeat",
        "_INBOX.abc.def",
        "md..bybit.linear.BTCUSDT",
    ],
)
def test_parse_rejects_subjects_outside_the_contract(subject: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(subject))):
        subjects.parse(subject)


def test_unknown_fact_family_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="fact family must be one of"):
        subjects.fact("orderbook", "bybit", "linear", "BTCUSDT")
