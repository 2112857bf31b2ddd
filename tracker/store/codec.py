"""The stored form of a snapshot's rows: canonical JSON sorted by key, plus the source order, compressed.

The canonical JSON is byte for byte what `json.dumps(..., separators=(",", ":"), ensure_ascii=False,
sort_keys=True)` writes (content hashes of stores written before orjson stay valid). orjson writes it ten times
faster; it differs from `json` only for numbers (floats below 1e-4 in magnitude, NaN/infinity, integers past
64 bits) and types it does not know, and those rows go through `json` (tests/test_codec.py holds the proof).
Blobs are zstd frames; zlib blobs (tracker 0.1.0 to 0.2) stay readable, told apart by their first bytes.
"""

from __future__ import annotations

import gc
import json
import math
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from typing import Any

import orjson
import zstandard

from ..models import Row

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # every zstd frame starts with these four bytes; zlib starts with 0x78, gzip 1f 8b
_ZSTD_LEVEL = 3
_SMALL = 1e-4  # below this magnitude Python writes 1e-05 where orjson writes 0.00001
_local = threading.local()  # zstd (de)compressors are not safe to share between threads


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside (restored after): building 100,000s of small objects (rows, events)
    otherwise triggers full collections over everything alive, which made big imports quadratic. The objects
    made here hold no reference cycles, so nothing is collected later than it would have been."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class Encoded:
    """Rows as canonical JSON sorted by key (equal data, equal bytes, whatever the order) plus the source order."""

    data: bytes
    order: tuple[int, ...]


def dumps_json(data: Any) -> bytes:
    """The reference canonical encoding (Python's json module); encode_rows' bytes always equal it."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


def plain_numbers(numbers: Sequence[Any]) -> bool:
    """True when orjson writes every one of `numbers` exactly as `json` does (None and bools included)."""
    try:
        nums = [abs(v) for v in numbers if v]  # drops None, 0, 0.0 and False, which both write alike
        return not nums or (min(nums) >= _SMALL and all(map(math.isfinite, nums)))
    except (TypeError, OverflowError, ValueError):  # not a number, or an int too large for a float
        return False


def canonical(data: Any, numbers: Sequence[Any]) -> bytes:
    """Canonical JSON of `data`, whose only numbers are `numbers` (orjson when that gives the same bytes)."""
    if plain_numbers(numbers):
        try:
            return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # orjson.JSONEncodeError: an int past 64 bits, a type or lone surrogate it refuses
            pass
    return dumps_json(data)


def encode_rows(rows: Sequence[Row]) -> Encoded:
    """The canonical encoding of rows: hash `data` to compare versions; pack both to store them.

    Rows keep their contract (key and fields are text, values are numbers or None): only values are checked for
    numbers orjson would write differently.
    """
    with gc_paused():
        keys = [r.key for r in rows]
        idx = sorted(range(len(rows)), key=keys.__getitem__)
        data = [[r.key, r.model, r.fields, r.values] for r in map(rows.__getitem__, idx)]  # a tuple writes as a list
        numbers = list(chain.from_iterable([r.values.values() for r in rows]))
        return Encoded(canonical(data, numbers), tuple(idx))


def _compressor() -> zstandard.ZstdCompressor:
    c: zstandard.ZstdCompressor | None = getattr(_local, "c", None)
    if c is None:
        c = _local.c = zstandard.ZstdCompressor(level=_ZSTD_LEVEL)
    return c


def _decompressor() -> zstandard.ZstdDecompressor:
    d: zstandard.ZstdDecompressor | None = getattr(_local, "d", None)
    if d is None:
        d = _local.d = zstandard.ZstdDecompressor()
    return d


def compress(data: bytes) -> bytes:
    """`data` as one zstd frame (with its size, so it decompresses in one call)."""
    return _compressor().compress(data)


def decompress(blob: bytes, *, legacy: str = "zlib") -> bytes:
    """The inverse of compress(); blobs that are no zstd frame are read as `legacy` ("zlib" or "gzip")."""
    if blob[:4] == ZSTD_MAGIC:
        return _decompressor().decompress(blob)
    if legacy == "gzip":
        return zlib.decompress(blob, wbits=31)
    return zlib.decompress(blob)


def pack_rows(rows: Sequence[Row], encoded: Encoded | None = None) -> bytes:
    """Rows compressed for storage (from their encode_rows form when already computed)."""
    enc = encoded if encoded is not None else encode_rows(rows)
    return compress(enc.data + b"\n" + orjson.dumps(enc.order))


def unpack_rows(blob: bytes) -> tuple[Row, ...]:
    """The inverse of pack_rows: rows back in source order (zstd or the zlib blobs of older versions).

    Read with the json module, which reads back exactly what either encoder wrote (integers past 64 bits, NaN).
    orjson reads a 20,000-row blob about 10 ms faster but holds a parse tree of several times the text meanwhile:
    decoding a 200,000-row snapshot peaked at 693 MB with it, 300 MB with json (the rows themselves take 220 MB).
    """
    data, _, order = decompress(blob).rpartition(b"\n")
    with gc_paused():
        items = json.loads(data)
        out: list[Row | None] = [None] * len(items)
        for (k, m, f, v), pos in zip(items, json.loads(order), strict=True):
            out[pos] = Row(tuple(k), m, f, v, pos)
        return tuple(r for r in out if r is not None)
