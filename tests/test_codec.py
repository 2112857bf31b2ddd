"""The row codec: orjson's canonical JSON equals json.dumps byte for byte (or json is used), zstd blobs, and blobs
written by older versions (zlib rows, gzip documents) still read."""

from __future__ import annotations

import gzip
import json
import tempfile
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from tracker.models import Row
from tracker.store import Archive, codec, encode_rows, pack_rows, unpack_rows

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "tracker-hypothesis")
PROPERTY = settings(max_examples=300, deadline=None, database=None)

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)  # no lone surrogates: UTF-8 cannot hold them
numbers = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2 ** 70), 2 ** 70),
                    st.sampled_from([1e-05, 1.234e-07, 5e-324, 1e16, 1e22, -0.0, 0.0, 9999.5, 1e-4, 2 ** 63]))
rows = st.lists(st.builds(
    Row, st.lists(text, min_size=1, max_size=3).map(tuple), text,
    st.dictionaries(text, st.one_of(st.none(), text), max_size=4),
    st.dictionaries(text, numbers, max_size=4)), max_size=8)


def reference(rs: list[Row]) -> bytes:
    """encode_rows as it was before orjson: the json module."""
    idx = sorted(range(len(rs)), key=lambda i: rs[i].key)
    return json.dumps([[list(rs[i].key), rs[i].model, rs[i].fields, rs[i].values] for i in idx],
                      separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


@PROPERTY
@given(rows)
def test_canonical_json_is_byte_identical_to_json_dumps(rs: list[Row]) -> None:
    assert encode_rows(rs).data == reference(rs)


nested: Any = st.recursive(
    st.one_of(st.none(), st.booleans(), text, st.floats(), st.integers(-(2 ** 70), 2 ** 70)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)), max_leaves=20)


def leaves(x: Any) -> list[Any]:
    if isinstance(x, dict):
        return [v for item in x.values() for v in leaves(item)]
    if isinstance(x, list):
        return [v for item in x for v in leaves(item)]
    return [x] if x is None or isinstance(x, int | float) else []


@PROPERTY
@given(nested)
def test_canonical_json_of_nested_data_is_byte_identical(data: Any) -> None:
    assert codec.canonical(data, leaves(data)) == codec.dumps_json(data)


@pytest.mark.parametrize("value", [1e-05, 1.234e-07, float("nan"), float("inf"), -float("inf")])
def test_the_numbers_orjson_writes_differently_go_through_json(value: float) -> None:
    """The fallback is needed, not defensive: orjson really writes each of these differently."""
    assert orjson.dumps(value) != codec.dumps_json(value) and not codec.plain_numbers([value])
    r = [Row(("a",), "A", {"m": "A"}, {"x": value, "y": 0.5})]
    assert encode_rows(r).data == reference(r)


@pytest.mark.parametrize("value", [2 ** 64, -(2 ** 63) - 1, 10 ** 30])
def test_integers_past_64_bits_go_through_json(value: int) -> None:
    """orjson refuses them when writing and reads them back as floats: both directions use json."""
    with pytest.raises(TypeError):
        orjson.dumps(value)
    assert type(orjson.loads(str(value))) is float
    r = [Row(("a",), "A", {"m": "A"}, {"x": value})]
    assert encode_rows(r).data == reference(r)


def test_ordinary_numbers_take_orjson() -> None:
    assert codec.plain_numbers([None, 0.0, 0, 91.234, -3, 1e-4, 1.5e16, 2 ** 63 - 1, True])


@PROPERTY
@given(rows)
def test_packed_rows_come_back_in_source_order(rs: list[Row]) -> None:
    keyed = list({r.key: r for r in rs}.values())
    rs = [Row(r.key, r.model, r.fields, r.values, i) for i, r in enumerate(keyed)]
    blob = pack_rows(rs)
    assert blob[:4] == codec.ZSTD_MAGIC
    back = unpack_rows(blob)
    assert [(r.key, r.model, dict(r.fields), r.position) for r in back] == \
        [(r.key, r.model, dict(r.fields), r.position) for r in rs]
    assert reference(list(back)) == reference(rs)  # numbers included (NaN and big ints through json)


def test_a_zlib_blob_written_by_older_versions_still_reads() -> None:
    rs = [Row(("b",), "B", {"model": "B"}, {"s": 2.0}, 0), Row(("a",), "A", {"model": "A"}, {"s": 1.0}, 1)]
    enc = encode_rows(rs)
    old = zlib.compress(enc.data + b"\n" + json.dumps(enc.order, separators=(",", ":")).encode(), 1)  # 0.1.0's form
    assert unpack_rows(old) == tuple(rs)
    assert unpack_rows(pack_rows(rs)) == tuple(rs)
    assert len(pack_rows(rs)) < len(enc.data) + 40


def test_archive_reads_gzip_documents_and_writes_zstd(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    old = b"model,score\nA,1\n" * 100
    sha = codec_sha = __import__("hashlib").sha256(old).hexdigest()
    archive.path(sha).parent.mkdir(parents=True)
    archive.path(sha).write_bytes(gzip.compress(old, compresslevel=3, mtime=0))  # as 0.1.0 wrote it
    assert archive.get(codec_sha) == old
    new = archive.put(b"fresh document")
    assert archive.path(new).read_bytes()[:4] == codec.ZSTD_MAGIC and archive.get(new) == b"fresh document"


def test_archive_group_defers_fsync_to_one_flush(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    with archive.group():
        shas = [archive.put(f"doc {i}".encode()) for i in range(3)]
        assert len(archive._unsynced) == 3  # written and renamed, waiting for the group's flush
        assert all(archive.get(s) == f"doc {i}".encode() for i, s in enumerate(shas))
    assert archive._unsynced == [] and archive.flush() == 0
    archive.put(b"outside a group")
    assert archive._unsynced == []  # synced at once, as before


def test_archive_rewrites_a_document_left_empty(tmp_path: Path) -> None:
    """A file that a power loss left empty (renamed, data never written) is written again."""
    archive = Archive(tmp_path)
    sha = archive.put(b"document")
    archive.path(sha).write_bytes(b"")
    assert archive.put(b"document") == sha and archive.get(sha) == b"document"
