"""The recorder: the venue's raw public feed (and chosen bus subjects) in hourly zstd JSON-lines
files, and `read(...)`, which streams them back in receive-time order."""

from recorder.lines import Kind
from recorder.reader import Frame, ReadStats, read

__all__ = ["Frame", "Kind", "ReadStats", "read"]
