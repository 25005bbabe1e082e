"""Golden payloads of every released shape still decode with today's types, field for field."""

from pathlib import Path
from typing import Any

import msgspec
import pytest

from mm_proto import codec, golden
from mm_proto.examples import examples
from mm_proto.market import BookTop
from mm_proto.registry import MESSAGE_TYPES, MESSAGE_TYPES_BY_TAG, SUPPORTED_VERSIONS, tag_of

GOLDEN_FILES = golden.golden_files()


def untyped(payload: bytes) -> dict[str, Any]:
    fields = msgspec.msgpack.decode(payload)
    assert isinstance(fields, dict)
    return fields


def test_golden_payloads_are_checked_in() -> None:
    assert len(GOLDEN_FILES) >= len(MESSAGE_TYPES), f"too few goldens in {golden.GOLDEN_DIR}"


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_every_golden_decodes_with_todays_types_and_keeps_every_field(path: Path) -> None:
    tag = path.parent.name
    message_type = MESSAGE_TYPES_BY_TAG[tag]
    old_payload = path.read_bytes()
    message = codec.decode(old_payload, message_type)
    assert f"v{message.version}-" in path.name
    re_encoded = untyped(codec.encode(message))
    for field, value in untyped(old_payload).items():
        assert re_encoded.get(field) == value, f"{tag}.{field} changed meaning since {path.name}"
    twin = path.with_suffix(".json")
    assert codec.from_json(twin.read_bytes(), message_type) == message, f"{twin} differs"


@pytest.mark.parametrize("message_type", MESSAGE_TYPES, ids=tag_of)
def test_every_message_type_has_a_golden_at_its_current_version(message_type: type) -> None:
    tag = tag_of(message_type)
    version = SUPPORTED_VERSIONS[tag]
    assert list((golden.GOLDEN_DIR / tag).glob(f"v{version}-*.msgpack")), (
        f"no golden for {tag} v{version}: run `python -m mm_proto.golden` and commit it"
    )


def test_todays_examples_are_all_recorded_as_goldens() -> None:
    recorded = {path.read_bytes() for path in GOLDEN_FILES}
    missing = [
        tag_of(type(message)) for message in examples() if codec.encode(message) not in recorded
    ]
    assert not missing, f"shapes not yet golden: {missing}: run `python -m mm_proto.golden`"


def test_the_generator_adds_new_shapes_and_never_rewrites_history(tmp_path: Path) -> None:
    first = golden.write_new_goldens(directory=tmp_path)
    assert len(first) == len(MESSAGE_TYPES)
    assert golden.write_new_goldens(directory=tmp_path) == []
    book_golden = tmp_path / "book_top" / "v1-1.msgpack"
    before = book_golden.read_bytes()
    book = codec.decode(before, BookTop)
    changed = msgspec.structs.replace(book, bid_size_lots=book.bid_size_lots + 1)
    written = golden.write_new_goldens([changed], directory=tmp_path)
    assert written == [tmp_path / "book_top" / "v1-2.msgpack"]
    assert book_golden.read_bytes() == before
    assert codec.decode(written[0].read_bytes(), BookTop) == changed
    assert codec.from_json(written[0].with_suffix(".json").read_bytes(), BookTop) == changed
