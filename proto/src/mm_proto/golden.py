"""Golden payloads: the encoded examples of every message shape ever released, kept as history.

`python -m mm_proto.golden` writes `proto/golden/<tag>/v<version>-<n>.msgpack` (and a readable
`.json` twin) for each example whose bytes are not already there; it never rewrites a file.
"""

from pathlib import Path

from mm_proto.codec import encode, to_json
from mm_proto.examples import examples
from mm_proto.message import Message
from mm_proto.registry import tag_of
from mm_proto.schema import PROTO_DIR

GOLDEN_DIR = PROTO_DIR / "golden"


def golden_files(directory: Path = GOLDEN_DIR) -> list[Path]:
    """Every checked-in golden msgpack payload."""
    return sorted(directory.glob("*/v*-*.msgpack"))


def write_new_goldens(
    messages: list[Message] | None = None, directory: Path = GOLDEN_DIR
) -> list[Path]:
    """Add a golden for each message whose encoding is not yet recorded; return the new files."""
    written = []
    for message in examples() if messages is None else messages:
        tag = tag_of(type(message))
        payload = encode(message)
        tag_directory = directory / tag
        existing = sorted(tag_directory.glob(f"v{message.version}-*.msgpack"))
        if any(path.read_bytes() == payload for path in existing):
            continue
        number = 1 + max((int(path.stem.rsplit("-", 1)[1]) for path in existing), default=0)
        path = tag_directory / f"v{message.version}-{number}.msgpack"
        tag_directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        path.with_suffix(".json").write_bytes(to_json(message) + b"\n")
        written.append(path)
    return written


def main() -> None:
    written = write_new_goldens()
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} new golden payload(s); {len(golden_files())} in total")


if __name__ == "__main__":
    main()
