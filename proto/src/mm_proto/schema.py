"""JSON Schema of every message, generated from the Structs, and release snapshots of it.

`python -m mm_proto.schema` rewrites `proto/schema/messages.json` from the code;
`python -m mm_proto.schema --release 0.2.0` also snapshots it as `proto/schema/releases/0.2.0.json`,
which the compatibility test then holds every later change against.
"""

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from mm_proto.message import Message
from mm_proto.registry import MESSAGE_TYPES, tag_of

PROTO_DIR = Path(__file__).resolve().parents[2]
SCHEMA_DIR = PROTO_DIR / "schema"
CURRENT_SCHEMA = SCHEMA_DIR / "messages.json"
RELEASES_DIR = SCHEMA_DIR / "releases"
_REF_PREFIX = "#/$defs/"


def schema_document(message_types: Sequence[type[Message]] = MESSAGE_TYPES) -> dict[str, Any]:
    """Today's schema: `messages` maps each tag to its definition in `$defs`."""
    refs, components = msgspec.json.schema_components(
        message_types, ref_template=_REF_PREFIX + "{name}"
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "mm_proto bus messages (msgpack on the wire, JSON here)",
        "messages": {
            tag_of(message_type): ref for message_type, ref in zip(message_types, refs, strict=True)
        },
        "$defs": components,
    }


def render(document: dict[str, Any]) -> str:
    """The checked-in text form of a schema document (stable key order, trailing newline)."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mm_proto.schema", description=__doc__)
    parser.add_argument("--release", help="also snapshot the schema as releases/<RELEASE>.json")
    arguments = parser.parse_args(argv)
    text = render(schema_document())
    CURRENT_SCHEMA.parent.mkdir(parents=True, exist_ok=True)
    CURRENT_SCHEMA.write_text(text)
    print(f"wrote {CURRENT_SCHEMA}")
    if arguments.release:
        snapshot = RELEASES_DIR / f"{arguments.release}.json"
        if snapshot.exists():
            raise SystemExit(f"{snapshot} exists: releases are history, never rewritten")
        RELEASES_DIR.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(text)
        print(f"wrote {snapshot}")


if __name__ == "__main__":
    main()
