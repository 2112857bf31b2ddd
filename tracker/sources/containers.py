"""Compressed and archived documents, recognised by content: gzip (any format inside) and zip (`member`)."""

from __future__ import annotations

import fnmatch
import gzip
import io
import lzma
import zipfile
import zlib
from dataclasses import replace

from ..config import BoardSpec
from ..errors import ParseError
from ..models import Page
from .base import one_line, shown

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header; an empty archive's end record
MAX_UNPACKED = 100_000_000  # bytes of one decompressed document: 5 x the default [fetch] max_bytes
_ARCHIVE_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, EOFError, NotImplementedError,
                   RuntimeError, ValueError)


def unpacked_limit(spec: BoardSpec) -> int:
    """Bytes one decompressed document may have: MAX_UNPACKED, or the board's own `max_bytes` when larger."""
    return max(MAX_UNPACKED, spec.max_bytes or 0)


def unpack(page: Page, spec: BoardSpec) -> tuple[Page, list[str]]:
    """The page with a gzip or zip document replaced by what it holds (other documents as they are), and warnings.

    Up to MAX_LAYERS are opened: a zip of `results.csv.gz`, or a gzip of a zip, is read through (each layer
    within the decompressed-size limit)."""
    data, zipped = page.content, False
    for _ in range(MAX_LAYERS):
        if data.startswith(GZIP_MAGIC):
            data = gunzip(data, spec, page.url)
        elif data.startswith(ZIP_MAGICS) and not zipped:
            data, zipped = unzip(data, spec, page.url), True
        else:
            break
    else:
        if data.startswith((GZIP_MAGIC, *ZIP_MAGICS)):
            raise ParseError(f"{spec.id}: {page.url} is compressed more than {MAX_LAYERS} times over; it is not read")
    if data is page.content and spec.member is not None:
        return page, [f"'member' ({spec.member}) is set but {page.url} is not a zip archive; read it as it is"]
    return (page if data is page.content else replace(page, content=data)), []


MAX_LAYERS = 3  # gzip/zip layers opened, one of them a zip at most


def gunzip(data: bytes, spec: BoardSpec, url: str) -> bytes:
    """A gzip file's content, read up to MAX_UNPACKED bytes (a ParseError past it, or when it is corrupt)."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            out = fh.read(unpacked_limit(spec) + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise ParseError(f"{spec.id}: {url} is a corrupt or truncated gzip file ({one_line(str(exc), 100)}); will "
                         f"try again on the next run") from None
    if len(out) > unpacked_limit(spec):
        raise ParseError(f"{spec.id}: {url} decompresses to more than {unpacked_limit(spec):,} bytes (a gzip bomb?); "
                         f"it is not read")
    return out


def unzip(data: bytes, spec: BoardSpec, url: str) -> bytes:
    """The board's `member` of a zip archive (a glob; the only member when unset), at most MAX_UNPACKED bytes."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            info = _choose(zf, spec, url)
            if info.flag_bits & 0x1:
                raise ParseError(f"{spec.id}: {url}: zip member {info.filename!r} is encrypted; tracker reads "
                                 f"unencrypted archives only")
            if info.file_size > unpacked_limit(spec):
                raise ParseError(f"{spec.id}: {url}: zip member {info.filename!r} declares {info.file_size:,} "
                                 f"bytes, more than the {unpacked_limit(spec):,} read (a zip bomb?); it is not read")
            with zf.open(info) as fh:
                out = fh.read(unpacked_limit(spec) + 1)
    except _ARCHIVE_ERRORS as exc:
        raise ParseError(f"{spec.id}: {url} is a corrupt or unsupported zip archive ({type(exc).__name__}: "
                         f"{one_line(str(exc), 100) or 'no detail'}); will try again on the next run") from None
    if len(out) > unpacked_limit(spec):
        raise ParseError(f"{spec.id}: {url}: zip member {info.filename!r} decompresses to more than "
                         f"{unpacked_limit(spec):,} bytes (a zip bomb?); it is not read")
    return out


def _os_litter(name: str) -> bool:
    """Files an operating system adds to an archive, never a board's data: macOS's __MACOSX/ folder and ._*
    resource forks, .DS_Store, Windows' Thumbs.db and desktop.ini."""
    base = name.rsplit("/", 1)[-1]
    return name.startswith("__MACOSX/") or base.startswith("._") or base in (".DS_Store", "Thumbs.db",
                                                                               "desktop.ini")


def _choose(zf: zipfile.ZipFile, spec: BoardSpec, url: str) -> zipfile.ZipInfo:
    """The one member that `member` matches (or the archive's only member); a ParseError listing the members."""
    files = [i for i in zf.infolist() if not i.is_dir() and not _os_litter(i.filename)]
    names = shown((i.filename for i in files), 30) or "(none)"
    if spec.member is None:
        if len(files) == 1:
            return files[0]
        raise ParseError(f"{spec.id}: {url} is a zip archive of {len(files)} members ({names}); set 'member' on "
                         f"the board to the one to read (a glob such as \"*.csv\" is allowed)")
    hits = [i for i in files if fnmatch.fnmatchcase(i.filename, spec.member)]
    if len(hits) != 1:
        what = "no member" if not hits else f"{len(hits)} members ({shown(i.filename for i in hits)})"
        raise ParseError(f"{spec.id}: {url}: 'member' ({spec.member}) matches {what} of the zip archive; exactly "
                         f"one must match (members: {names}); fix the board's 'member'")
    return hits[0]
