"""The base every bus message derives from and the field types all messages share."""

import enum
from typing import Annotated

import msgspec

SchemaVersion = Annotated[int, msgspec.Meta(ge=1)]
"""Major version of one message type's schema; a reader refuses versions it does not know."""

PriceTicks = Annotated[int, msgspec.Meta(ge=0)]
"""A price as a whole number of the instrument's tick size."""

SizeLots = Annotated[int, msgspec.Meta(ge=0)]
"""A size as a whole number of the instrument's lot size (quantity step)."""

TimestampNs = Annotated[int, msgspec.Meta(ge=0)]
"""Nanoseconds since the Unix epoch."""

Color = Annotated[str, msgspec.Meta(pattern="^[a-z0-9]{1,8}$")]
"""The label of the parameter set an order belongs to: 1-8 lowercase letters or digits."""

DEFAULT_COLOR = "blue"

UpdateId = Annotated[int, msgspec.Meta(ge=0)]
"""The venue's monotonically increasing sequence number of a book or stream."""


class Side(enum.Enum):
    """Which side of the book an order, fill or aggressor is on."""

    BUY = "buy"
    SELL = "sell"


class Message(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every bus message: the tag goes in `type`, the schema major version in `version`.

    Subclasses set an explicit `tag=` so that renaming a class never changes the wire.
    """

    version: SchemaVersion = 1
