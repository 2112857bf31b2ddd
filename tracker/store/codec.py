"""The stored form of a snapshot's rows: canonical JSON sorted by key, plus the source order, compressed."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from ..models import Row


@dataclass(frozen=True)
class Encoded:
    """Rows as canonical JSON sorted by key (equal data, equal bytes, whatever the order) plus the source order."""

    data: bytes
    order: tuple[int, ...]


def encode_rows(rows: Sequence[Row]) -> Encoded:
    """The canonical encoding of rows: hash `data` to compare versions; pack both to store them."""
    idx = sorted(range(len(rows)), key=lambda i: rows[i].key)
    data = [[list(rows[i].key), rows[i].model, rows[i].fields, rows[i].values] for i in idx]
    return Encoded(json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode(), tuple(idx))


def pack_rows(rows: Sequence[Row], encoded: Encoded | None = None) -> bytes:
    """Rows compressed for storage (from their encode_rows form when already computed)."""
    enc = encoded if encoded is not None else encode_rows(rows)
    return zlib.compress(enc.data + b"\n" + json.dumps(enc.order, separators=(",", ":")).encode(), 1)


def unpack_rows(blob: bytes) -> tuple[Row, ...]:
    """The inverse of pack_rows: rows back in source order."""
    data, _, order = zlib.decompress(blob).rpartition(b"\n")
    items = json.loads(data)
    out: list[Row | None] = [None] * len(items)
    for (k, m, f, v), pos in zip(items, json.loads(order), strict=True):
        out[pos] = Row(tuple(k), m, f, v, pos)
    return tuple(r for r in out if r is not None)
