"""Every message follows the house rules for the wire, so additions cannot drift from them."""

import inspect
import re
import typing

import msgspec
import pytest

from mm_proto import Message, QuoteLevel
from mm_proto.registry import MESSAGE_TYPES, tag_of

STRUCTS: list[type[msgspec.Struct]] = [*MESSAGE_TYPES, QuoteLevel]


def base_type(annotation: object) -> object:
    """int for Annotated[int, Meta(...)], list[int] for list[Annotated[int, ...]]."""
    if typing.get_origin(annotation) is typing.Annotated:
        return base_type(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) is list:
        return list[base_type(typing.get_args(annotation)[0])]  # type: ignore[misc]
    return annotation


@pytest.mark.parametrize("struct", STRUCTS, ids=lambda struct: struct.__name__)
def test_structs_are_frozen_keyword_only_and_tolerate_unknown_fields(
    struct: type[msgspec.Struct],
) -> None:
    config = struct.__struct_config__
    assert config.frozen
    assert not config.forbid_unknown_fields  # older readers must skip fields added later
    assert not config.array_like  # fields travel by name, so order never matters
    parameters = inspect.signature(struct).parameters.values()
    assert all(parameter.kind is inspect.Parameter.KEYWORD_ONLY for parameter in parameters)


@pytest.mark.parametrize("message_type", MESSAGE_TYPES, ids=tag_of)
def test_messages_carry_an_explicit_snake_case_tag_and_a_version(
    message_type: type[Message],
) -> None:
    tag = tag_of(message_type)
    assert re.fullmatch(r"[a-z]+(_[a-z]+)*", tag), tag
    assert message_type.__struct_config__.tag_field == "type"
    assert "version" in message_type.__struct_fields__


@pytest.mark.parametrize("struct", STRUCTS, ids=lambda struct: struct.__name__)
def test_times_prices_and_sizes_are_integers_with_unit_suffixes(
    struct: type[msgspec.Struct],
) -> None:
    for field in msgspec.structs.fields(struct):
        kind = base_type(field.type)
        if field.name.startswith("ts_") or field.name.endswith("_ns"):
            assert re.fullmatch(r"ts_[a-z_]+_ns", field.name), field.name
            assert kind is int, f"{struct.__name__}.{field.name} must be int nanoseconds"
        if field.name.endswith(("_ticks", "_lots")):
            assert kind in (int, list[int]), f"{struct.__name__}.{field.name} must be integer"
        assert kind is not float, f"{struct.__name__}.{field.name}: no floats on the bus"
