"""Encoding messages to bytes for the bus (msgpack) or for people (JSON), and decoding them back.

Every failure to decode, whatever the bytes, raises `DecodeError`, so a handler can count and
drop bad payloads with a single `except`; a message newer than this code raises its subclass
`UnsupportedVersion`.
"""

from typing import Any, TypeVar, cast, overload

import msgspec

from mm_proto.message import Message
from mm_proto.registry import MESSAGE_TYPES, SUPPORTED_VERSIONS, tag_of

T = TypeVar("T")

Buffer = bytes | bytearray | memoryview


class DecodeError(ValueError):
    """The payload could not be decoded as the expected message type."""


class UnsupportedVersion(DecodeError):  # noqa: N818 (name fixed by the contract)
    """The payload is a version of a message type newer than this code can read."""

    def __init__(self, tag: str, version: int, supported: int) -> None:
        super().__init__(
            f"message {tag!r} has version {version}, this reader supports up to {supported}"
        )
        self.tag = tag
        self.version = version
        self.supported = supported


_HIGHEST_VERSION_BY_CLASS: dict[type, int] = {
    message_type: SUPPORTED_VERSIONS[tag_of(message_type)] for message_type in MESSAGE_TYPES
}
_MSGPACK_ENCODER = msgspec.msgpack.Encoder()
_JSON_ENCODER = msgspec.json.Encoder()
_MSGPACK_DECODERS: dict[Any, msgspec.msgpack.Decoder[Any]] = {}
_JSON_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def encode(message: msgspec.Struct) -> bytes:
    """Encode a message as msgpack for the bus."""
    return _MSGPACK_ENCODER.encode(message)


def to_json(message: msgspec.Struct) -> bytes:
    """Encode a message as JSON (for logs, `mm tail`, KV values people read)."""
    return _JSON_ENCODER.encode(message)


class _TagGuard(msgspec.Struct, frozen=True, tag_field="type", tag="__tag_guard__"):
    """Never sent: decoding `SomeMessage | _TagGuard` makes msgspec require the `type` tag."""


def _decodable_type(message_type: Any) -> Any:
    """A lone message class is decoded as a union so that a payload without its tag is refused."""
    if isinstance(message_type, type) and issubclass(message_type, Message):
        return message_type | _TagGuard
    return message_type


@overload
def decode(data: Buffer, message_type: type[T]) -> T: ...
@overload
def decode(data: Buffer, message_type: Any) -> Any: ...
def decode(data: Buffer, message_type: Any) -> Any:
    """Decode msgpack as `message_type` (a message class or union of them), or raise DecodeError."""
    decoder = _MSGPACK_DECODERS.get(message_type)
    if decoder is None:
        decoder = msgspec.msgpack.Decoder(_decodable_type(message_type))
        _MSGPACK_DECODERS[message_type] = decoder
    try:
        message = decoder.decode(data)
    # Whatever the bytes do to the decoder (including UnicodeDecodeError on a corrupted key),
    # the caller sees exactly one exception type.
    except Exception as error:
        raise _explain_failure(data, error, msgspec.msgpack.decode) from error
    _check_message(message)
    return message


@overload
def from_json(data: Buffer | str, message_type: type[T]) -> T: ...
@overload
def from_json(data: Buffer | str, message_type: Any) -> Any: ...
def from_json(data: Buffer | str, message_type: Any) -> Any:
    """Decode JSON as `message_type` (a message class or union of them), or raise DecodeError."""
    decoder = _JSON_DECODERS.get(message_type)
    if decoder is None:
        decoder = msgspec.json.Decoder(_decodable_type(message_type))
        _JSON_DECODERS[message_type] = decoder
    try:
        message = decoder.decode(data)
    except Exception as error:
        raise _explain_failure(data, error, msgspec.json.decode) from error
    _check_message(message)
    return message


def _check_message(message: object) -> None:
    highest = _HIGHEST_VERSION_BY_CLASS.get(type(message))
    if type(message) is _TagGuard:
        raise DecodeError(f"undecodable payload: tag {_TagGuard.__struct_config__.tag!r}")
    if highest is not None:
        version = cast(Message, message).version
        if version > highest:
            raise UnsupportedVersion(tag_of(cast(type[Message], type(message))), version, highest)


def _explain_failure(data: Any, error: Exception, decode_untyped: Any) -> DecodeError:
    """Turn a failed typed decode into UnsupportedVersion when the payload is a newer version."""
    try:
        envelope = decode_untyped(data)
    except Exception:
        envelope = None
    if isinstance(envelope, dict):
        tag, version = envelope.get("type"), envelope.get("version")
        highest = SUPPORTED_VERSIONS.get(tag) if isinstance(tag, str) else None
        if highest is not None and type(version) is int and version > highest:
            return UnsupportedVersion(str(tag), version, highest)
    return DecodeError(f"undecodable payload ({_size_of(data)} bytes): {error}")


def _size_of(data: Any) -> int | str:
    try:
        return len(data)
    except TypeError:
        return f"? ({type(data).__name__})"
