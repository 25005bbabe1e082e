"""The checked-in JSON Schema matches the code, and the code reads what every release wrote."""

import copy
import json
from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest

from mm_proto import schema
from mm_proto.compatibility import breaking_changes
from mm_proto.market import BookTop
from mm_proto.message import Message, PriceTicks, SizeLots, TimestampNs
from mm_proto.quoting import QuoteIntent
from mm_proto.registry import MESSAGE_TYPES

RELEASES = sorted(schema.RELEASES_DIR.glob("*.json"))


def test_the_checked_in_schema_is_what_the_code_generates() -> None:
    checked_in = schema.CURRENT_SCHEMA.read_text()
    assert checked_in == schema.render(schema.schema_document()), (
        f"{schema.CURRENT_SCHEMA} is out of date: run `python -m mm_proto.schema` and commit it"
    )


def test_the_schema_names_every_message_by_its_tag() -> None:
    document = json.loads(schema.CURRENT_SCHEMA.read_text())
    assert len(document["messages"]) == len(MESSAGE_TYPES)
    for tag, reference in document["messages"].items():
        definition = document["$defs"][reference["$ref"].rsplit("/", 1)[1]]
        assert definition["properties"]["type"] == {"enum": [tag]}


def test_at_least_one_release_snapshot_is_checked_in() -> None:
    assert RELEASES, f"no release snapshot in {schema.RELEASES_DIR}"


@pytest.mark.parametrize("release", RELEASES, ids=lambda path: path.stem)
def test_todays_code_reads_everything_each_release_wrote(release: Path) -> None:
    problems = breaking_changes(json.loads(release.read_text()), schema.schema_document())
    assert not problems, f"breaking changes since release {release.stem}:\n" + "\n".join(problems)


def test_the_release_command_never_rewrites_a_snapshot(tmp_path: Path) -> None:
    original = (schema.CURRENT_SCHEMA, schema.RELEASES_DIR)
    try:
        schema.CURRENT_SCHEMA, schema.RELEASES_DIR = tmp_path / "messages.json", tmp_path / "r"
        schema.main(["--release", "9.9.9"])
        snapshot = tmp_path / "r" / "9.9.9.json"
        assert json.loads(snapshot.read_text()) == schema.schema_document()
        snapshot.write_text("history")
        with pytest.raises(SystemExit, match="releases are history"):
            schema.main(["--release", "9.9.9"])
        assert snapshot.read_text() == "history"
    finally:
        schema.CURRENT_SCHEMA, schema.RELEASES_DIR = original


# Variants of today's types, as a careless change would leave them; tags match the originals.


class BookTopWithoutVenue(Message, frozen=True, kw_only=True, tag="book_top"):
    category: str
    symbol: str
    bid_price_ticks: PriceTicks
    bid_size_lots: SizeLots
    ask_price_ticks: PriceTicks
    ask_size_lots: SizeLots
    update_id: int
    ts_exchange_ns: TimestampNs
    ts_gateway_ns: TimestampNs


class BookTopWithFloatPrice(BookTop, frozen=True, kw_only=True, tag="book_top"):
    bid_price_ticks: float  # type: ignore[assignment]


class BookTopWithNewRequiredField(BookTop, frozen=True, kw_only=True, tag="book_top"):
    microprice_ticks: int


class BookTopWithNewOptionalField(BookTop, frozen=True, kw_only=True, tag="book_top"):
    """A docstring change and a field with a default: both harmless."""

    microprice_ticks: int = 0


class CancelAllWithRequiredSymbol(Message, frozen=True, kw_only=True, tag="cancel_all_request"):
    symbol: str  # lost its default ""


class BookTopWithStricterPrice(BookTop, frozen=True, kw_only=True, tag="book_top"):
    bid_price_ticks: Annotated[int, msgspec.Meta(ge=1)]


def problems_after_replacing(*replacements: type[Message]) -> list[str]:
    by_tag = {variant.__struct_config__.tag: variant for variant in replacements}
    today = [
        by_tag.get(message_type.__struct_config__.tag, message_type)
        for message_type in MESSAGE_TYPES
    ]
    return breaking_changes(schema.schema_document(), schema.schema_document(today))


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        (BookTopWithoutVenue, "BookTop.venue was removed"),
        (BookTopWithFloatPrice, "BookTop.bid_price_ticks was retyped"),
        (BookTopWithStricterPrice, "BookTop.bid_price_ticks was retyped"),
        (BookTopWithNewRequiredField, "BookTop.microprice_ticks was added without a default"),
        (CancelAllWithRequiredSymbol, "CancelAllRequest.symbol lost its default"),
    ],
)
def test_a_breaking_change_is_reported_naming_type_and_field(
    variant: type[Message], expected: str
) -> None:
    problems = problems_after_replacing(variant)
    assert any(problem.startswith(expected) for problem in problems), problems


def edited(path: str, edit: Any) -> list[str]:
    """Breaking changes after editing one entry of today's `$defs` (for types several share)."""
    old = schema.schema_document()
    new = copy.deepcopy(old)
    *parents, last = path.split("/")
    target = new["$defs"]
    for key in parents:
        target = target[key]
    edit(target, last)
    return breaking_changes(old, new)


def test_a_field_removed_from_a_nested_struct_is_reported_naming_it() -> None:
    problems = edited("QuoteLevel/properties/size_lots", lambda parent, key: parent.pop(key))
    assert "QuoteLevel.size_lots was removed" in problems


def test_an_enum_value_added_is_reported_because_older_readers_cannot_decode_it() -> None:
    problems = edited("FeedState/enum", lambda parent, key: parent[key].append("paused"))
    assert problems == [
        "enum FeedState gained values ['paused'], which older readers cannot decode"
    ]


def test_an_enum_value_removed_is_reported() -> None:
    problems = edited("Side/enum", lambda parent, key: parent[key].remove("sell"))
    assert problems == ["enum Side lost values ['sell']"]


def test_a_removed_shared_type_is_reported() -> None:
    problems = edited("QuoteLevel", lambda parent, key: parent.pop(key))
    assert "type QuoteLevel was removed or renamed" in problems


def test_a_new_field_with_a_default_and_new_docs_are_compatible() -> None:
    assert problems_after_replacing(BookTopWithNewOptionalField) == []


def test_a_removed_message_type_is_reported() -> None:
    old = schema.schema_document()
    new = schema.schema_document([t for t in MESSAGE_TYPES if t is not QuoteIntent])
    assert "message type QuoteIntent (tag 'quote_intent') was removed" in breaking_changes(old, new)


def test_a_new_message_type_is_compatible() -> None:
    old = schema.schema_document([t for t in MESSAGE_TYPES if t is not QuoteIntent])
    assert breaking_changes(old, schema.schema_document()) == []


def test_identical_documents_have_no_breaking_changes() -> None:
    document: dict[str, Any] = schema.schema_document()
    assert breaking_changes(document, json.loads(json.dumps(document))) == []
