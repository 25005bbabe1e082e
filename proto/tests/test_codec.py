"""Encoding and decoding: round trips, and one exception type for every bad payload."""

import random
from typing import Any

import msgspec
import pytest

from mm_proto import (
    BookTop,
    CtlReply,
    CtlRequestMessage,
    DecodeError,
    Fill,
    InstrumentDefinition,
    Message,
    OrderEvent,
    OrderFilled,
    StatusRequest,
    UnsupportedVersion,
    codec,
    examples,
)
from mm_proto.registry import MESSAGE_TYPES, SUPPORTED_VERSIONS, tag_of

EXAMPLES = examples.examples()
UNIONS: list[Any] = [OrderEvent, CtlRequestMessage]


def example_of(message_type: type[Message]) -> Message:
    return next(message for message in EXAMPLES if type(message) is message_type)


def raw_fields(message: Message) -> dict[str, Any]:
    fields = msgspec.msgpack.decode(codec.encode(message))
    assert isinstance(fields, dict)
    return fields


def test_there_is_an_example_of_every_message_type() -> None:
    assert sorted(tag_of(type(message)) for message in EXAMPLES) == sorted(
        tag_of(message_type) for message_type in MESSAGE_TYPES
    )


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda message: tag_of(type(message)))
def test_every_message_round_trips_through_msgpack_and_json(message: Message) -> None:
    assert codec.decode(codec.encode(message), type(message)) == message
    assert codec.from_json(codec.to_json(message), type(message)) == message
    assert codec.decode(memoryview(codec.encode(message)), type(message)) == message


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda message: tag_of(type(message)))
def test_the_wire_carries_the_explicit_tag_and_version(message: Message) -> None:
    fields = raw_fields(message)
    assert fields["type"] == tag_of(type(message))
    assert fields["version"] == SUPPORTED_VERSIONS[fields["type"]] == message.version


def test_unions_decode_to_the_member_the_tag_names() -> None:
    for message in EXAMPLES:
        for union in UNIONS:
            if type(message) in union.__args__:
                assert codec.decode(codec.encode(message), union) == message
                assert codec.from_json(codec.to_json(message), union) == message


def test_a_message_of_another_type_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="type"):
        codec.decode(codec.encode(example_of(Fill)), BookTop)
    with pytest.raises(DecodeError):
        codec.decode(codec.encode(example_of(BookTop)), OrderEvent)


@pytest.mark.parametrize(
    "payload",
    [b"", b"\xc1", b"not msgpack at all", b"\x92\x01\x02", b"\xa5hello", b"\x80", b"\xdc\xff\xff"],
)
def test_undecodable_bytes_raise_decode_error(payload: bytes) -> None:
    for message_type in [*MESSAGE_TYPES, *UNIONS]:
        with pytest.raises(DecodeError, match="undecodable payload"):
            codec.decode(payload, message_type)


@pytest.mark.parametrize("payload", [None, 42, "text", ["list"]])
def test_payloads_that_are_not_bytes_raise_decode_error(payload: Any) -> None:
    with pytest.raises(DecodeError):
        codec.decode(payload, BookTop)
    with pytest.raises(DecodeError):
        codec.from_json(payload, BookTop)


def test_truncated_payloads_raise_decode_error() -> None:
    for message in EXAMPLES:
        payload = codec.encode(message)
        for cut in range(len(payload)):
            with pytest.raises(DecodeError):
                codec.decode(payload[:cut], type(message))


def with_fields(message: Message, **changes: Any) -> dict[str, Any]:
    fields = raw_fields(message)
    fields.update(changes)
    return fields


@pytest.mark.parametrize("message_type", MESSAGE_TYPES, ids=tag_of)
def test_a_newer_version_raises_unsupported_version(message_type: type[Message]) -> None:
    payload = msgspec.msgpack.encode(with_fields(example_of(message_type), version=99))
    with pytest.raises(UnsupportedVersion) as raised:
        codec.decode(payload, message_type)
    assert (raised.value.tag, raised.value.version, raised.value.supported) == (
        tag_of(message_type),
        99,
        1,
    )
    assert "version 99" in str(raised.value)
    assert isinstance(raised.value, DecodeError)


def test_a_newer_version_whose_shape_changed_is_still_reported_as_unsupported() -> None:
    fields = with_fields(example_of(OrderFilled), version=2, filled_lots="a string now")
    del fields["partial"]
    with pytest.raises(UnsupportedVersion, match="'order_filled' has version 2"):
        codec.decode(msgspec.msgpack.encode(fields), OrderEvent)
    with pytest.raises(UnsupportedVersion):
        codec.from_json(msgspec.json.encode(fields), OrderFilled)


@pytest.mark.parametrize("version", [0, -1, "1", 1.0, None])
def test_an_invalid_version_is_a_decode_error_not_an_unsupported_one(version: Any) -> None:
    payload = msgspec.msgpack.encode(with_fields(example_of(BookTop), version=version))
    with pytest.raises(DecodeError, match=r"\$\.version") as raised:
        codec.decode(payload, BookTop)
    assert not isinstance(raised.value, UnsupportedVersion)


def test_fields_added_by_a_newer_writer_are_ignored() -> None:
    book = example_of(BookTop)
    payload = msgspec.msgpack.encode(with_fields(book, microprice_ticks=650001, venue_flags=[1]))
    assert codec.decode(payload, BookTop) == book


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("bid_price_ticks", -1),
        ("ask_size_lots", -5),
        ("ts_exchange_ns", -1),
        ("bid_price_ticks", 1.5),
        ("bid_price_ticks", "650001"),
        ("update_id", None),
        ("venue", 3),
    ],
)
def test_out_of_range_or_mistyped_fields_are_decode_errors_naming_the_field(
    field: str, value: Any
) -> None:
    payload = msgspec.msgpack.encode(with_fields(example_of(BookTop), **{field: value}))
    with pytest.raises(DecodeError, match=rf"\$\.{field}"):
        codec.decode(payload, BookTop)


def test_a_missing_required_field_is_a_decode_error() -> None:
    fields = raw_fields(example_of(Fill))
    del fields["fill_id"]
    with pytest.raises(DecodeError, match="fill_id"):
        codec.decode(msgspec.msgpack.encode(fields), Fill)


def test_an_instrument_with_an_invalid_grid_is_a_decode_error() -> None:
    instrument = example_of(InstrumentDefinition)
    for changes in ({"tick_size": "0"}, {"lot_size": "abc"}, {"min_notional": "-1"}):
        payload = msgspec.msgpack.encode(with_fields(instrument, **changes))
        with pytest.raises(DecodeError, match=next(iter(changes))):
            codec.decode(payload, InstrumentDefinition)


def test_an_unknown_tag_is_a_decode_error() -> None:
    payload = msgspec.msgpack.encode(with_fields(example_of(BookTop), type="book_top_v2"))
    with pytest.raises(DecodeError, match="book_top_v2"):
        codec.decode(payload, BookTop)


@pytest.mark.parametrize("message_type", MESSAGE_TYPES, ids=tag_of)
def test_a_payload_without_its_type_tag_is_refused(message_type: type[Message]) -> None:
    fields = raw_fields(example_of(message_type))
    del fields["type"]
    with pytest.raises(DecodeError, match="type"):
        codec.decode(msgspec.msgpack.encode(fields), message_type)
    with pytest.raises(DecodeError, match="type"):
        codec.from_json(msgspec.json.encode(fields), message_type)


def test_an_empty_map_is_not_a_status_request() -> None:
    with pytest.raises(DecodeError):
        codec.decode(msgspec.msgpack.encode({}), StatusRequest)
    with pytest.raises(DecodeError):
        codec.decode(msgspec.msgpack.encode({"type": "__tag_guard__"}), StatusRequest)


def test_ctl_reply_data_defaults_to_empty() -> None:
    reply = codec.decode(codec.encode(CtlReply(ok=False, message="unknown key")), CtlReply)
    assert reply.data == {}


def mutations(payload: bytes, generator: random.Random) -> list[bytes]:
    mutated = []
    for _ in range(40):
        data = bytearray(payload)
        for _ in range(generator.randint(1, 4)):
            data[generator.randrange(len(data))] = generator.randrange(256)
        mutated.append(bytes(data))
    mutated.append(bytes(generator.randrange(256) for _ in range(generator.randint(1, 64))))
    return mutated


def test_corrupted_payloads_never_raise_anything_but_decode_error() -> None:
    generator = random.Random(20261125)
    targets: list[Any] = [*MESSAGE_TYPES, *UNIONS]
    outcomes = {"decoded": 0, "refused": 0}
    for message in EXAMPLES:
        attempts: list[tuple[Any, Any, Any]] = [
            (codec.decode, payload, target)
            for payload in mutations(codec.encode(message), generator)
            for target in (type(message), generator.choice(targets))
        ]
        attempts += [
            (codec.from_json, text, type(message))
            for text in mutations(codec.to_json(message), generator)
        ]
        for decode, payload, target in attempts:
            try:
                decode(payload, target)
                outcomes["decoded"] += 1
            except DecodeError:
                outcomes["refused"] += 1
    assert outcomes["refused"] > 1000
    assert outcomes["decoded"] > 0  # some mutations only touch values, which is fine
