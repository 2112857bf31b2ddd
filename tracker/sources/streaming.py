"""Read a big JSON array (plain or gzip) one item at a time with ijson, so a 200 MB document is never one object.

The Papers With Code dump is a list of tasks: holding it parsed costs ~10x its size in memory; streamed, only the
task being read (and the boards kept from it) is held. Anything else (an object at the top, a byte-order mark, a
non-UTF-8 document) is read whole by the json format's rules instead.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections.abc import Iterator
from typing import Any

import ijson

from ..config import BoardSpec
from ..errors import ParseError
from ..models import Page
from .base import one_line
from .containers import GZIP_MAGIC, unpacked_limit

_ARRAY = re.compile(rb"[ \t\r\n]*\[")


def streamable(data: bytes) -> bool:
    """Whether the document (gzip or not) is UTF-8 JSON whose top level is an array."""
    if data.startswith(GZIP_MAGIC):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
                data = fh.read(4096)
        except (OSError, EOFError, zlib.error):
            return False  # the whole-document reader gives the precise error
    return _ARRAY.match(data) is not None


class _Capped(io.RawIOBase):
    """A readable that fails past `limit` bytes (a gzip bomb stops there, not at the end of memory)."""

    def __init__(self, inner: Any, limit: int, spec: BoardSpec, url: str) -> None:
        self.inner, self.limit, self.seen, self.spec, self.url = inner, limit, 0, spec, url

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        data = self.inner.read(len(buf))
        self.seen += len(data)
        if self.seen > self.limit:
            raise ParseError(f"{self.spec.id}: {self.url} decompresses to more than {self.limit:,} bytes (a gzip "
                             f"bomb?); raise the collection's max_bytes if it is genuine")
        buf[:len(data)] = data
        return len(data)


def stream_items(page: Page, spec: BoardSpec) -> Iterator[Any]:
    """The items of the document's top-level array, one at a time; a ParseError where the JSON breaks."""
    limit = unpacked_limit(spec)
    raw: Any = io.BytesIO(page.content)
    if page.content.startswith(GZIP_MAGIC):
        raw = gzip.GzipFile(fileobj=raw)
    reader = io.BufferedReader(_Capped(raw, limit, spec, page.url), 1 << 16)
    try:
        yield from ijson.items(reader, "item", use_float=True)
    except ijson.JSONError as exc:
        raise ParseError(f"{spec.id}: {page.url} is not valid JSON: {one_line(str(exc), 160)}") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise ParseError(f"{spec.id}: {page.url} is a corrupt or truncated gzip file ({one_line(str(exc), 100)}); "
                         f"will try again on the next run") from None
    except UnicodeDecodeError:
        raise ParseError(f"{spec.id}: {page.url} is not UTF-8 JSON; a Papers With Code dump is UTF-8") from None
