"""The document formats, by `format` name, and parse_document(): unpack gzip/zip, parse, with one safety net.

Each format's module (and its library: lxml, jmespath, PyYAML, pyarrow) is imported the first time a board of that
format is parsed, so a run whose boards are all unchanged, or all CSV, never loads the others (issue 10).
"""

from __future__ import annotations

import csv
import importlib
import logging
import sys
from collections.abc import Iterator, MutableMapping

from ..config import BoardSpec
from ..errors import ParseError
from ..models import Page
from .base import Parsed, Source, one_line
from .containers import unpack

_MODULES: dict[str, tuple[str, str]] = {"csv": ("csv_file", "CsvSource"), "html": ("html_table", "HtmlTable"),
                                        "json": ("json_api", "JsonSource"), "pwc": ("pwc", "PwcSource"),
                                        "yaml": ("yaml_doc", "YamlSource"), "parquet": ("parquet", "ParquetSource")}


class Formats(MutableMapping[str, type[Source]]):
    """format name -> Source class, importing a format's module on first use; a class set here (a plugin, or a
    test's stand-in) wins over the built-in one."""

    def __init__(self) -> None:
        self._set: dict[str, type[Source]] = {}

    def __getitem__(self, name: str) -> type[Source]:
        if name in self._set:
            return self._set[name]
        module, cls = _MODULES[name]
        found: type[Source] = getattr(importlib.import_module(f"{__name__}.{module}"), cls)
        return found

    def __setitem__(self, name: str, source: type[Source]) -> None:
        self._set[name] = source

    def __delitem__(self, name: str) -> None:
        del self._set[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*_MODULES, *self._set]))

    def __len__(self) -> int:
        return len(set(_MODULES) | set(self._set))


FORMATS: MutableMapping[str, type[Source]] = Formats()

__all__ = ["FORMATS", "Parsed", "Source", "has_element", "parse_document"]

logger = logging.getLogger(__name__)

# what a parser bug on a hostile document can raise (UnicodeError, KeyError and IndexError are among these), plus
# the error bases of the parsing libraries a format has loaded (a library not imported cannot have raised)
_BUGS = (RecursionError, ValueError, TypeError, AttributeError, LookupError, ArithmeticError, csv.Error)
_LIBRARY_ERRORS = (("lxml.etree", "Error"), ("jmespath.exceptions", "JMESPathError"))


def _bugs() -> tuple[type[BaseException], ...]:
    loaded = (getattr(sys.modules[m], name, None) for m, name in _LIBRARY_ERRORS if m in sys.modules)
    return _BUGS + tuple(e for e in loaded if isinstance(e, type) and issubclass(e, BaseException))


def has_element(page: Page, css: str) -> bool:
    """Whether the (rendered) HTML page has an element matching the CSS selector."""
    from .html_table import has_element as found

    return found(page, css)


def parse_document(page: Page, spec: BoardSpec) -> Parsed:
    """Parse `page` with the board's format (a gzip or zip document unpacked first); the only error is ParseError."""
    try:
        page, warnings = unpack(page, spec)
        parsed = FORMATS[spec.format]().parse(page, spec)
        parsed.warnings[:0] = warnings
        return parsed
    except Exception as exc:
        if not isinstance(exc, _bugs()):
            raise
        logger.debug("%s: parsing %s failed unexpectedly", spec.id, page.url, exc_info=True)
        raise ParseError(f"{spec.id}: {page.url}: could not parse the document ({type(exc).__name__}: "
                         f"{one_line(str(exc), 120) or 'no detail'})") from exc
