"""The document formats, by `format` name, and parse_document(): unpack gzip/zip, parse, with one safety net."""

from __future__ import annotations

import csv
import logging

import jmespath.exceptions
import lxml.etree

from ..config import BoardSpec
from ..errors import ParseError
from ..models import Page
from .base import Parsed, Source, one_line
from .containers import unpack
from .csv_file import CsvSource
from .html_table import HtmlTable, has_element
from .json_api import JsonSource
from .parquet import ParquetSource
from .pwc import PwcSource
from .yaml_doc import YamlSource

FORMATS: dict[str, type[Source]] = {"csv": CsvSource, "html": HtmlTable, "json": JsonSource, "pwc": PwcSource,
                                    "yaml": YamlSource, "parquet": ParquetSource}

__all__ = ["FORMATS", "Parsed", "Source", "has_element", "parse_document"]

logger = logging.getLogger(__name__)

# what a parser bug on a hostile document can raise (UnicodeError, KeyError and IndexError are among these)
_BUGS = (RecursionError, ValueError, TypeError, AttributeError, LookupError, ArithmeticError, csv.Error,
         jmespath.exceptions.JMESPathError, lxml.etree.Error)


def parse_document(page: Page, spec: BoardSpec) -> Parsed:
    """Parse `page` with the board's format (a gzip or zip document unpacked first); the only error is ParseError."""
    try:
        page, warnings = unpack(page, spec)
        parsed = FORMATS[spec.format]().parse(page, spec)
        parsed.warnings[:0] = warnings
        return parsed
    except _BUGS as exc:
        logger.debug("%s: parsing %s failed unexpectedly", spec.id, page.url, exc_info=True)
        raise ParseError(f"{spec.id}: {page.url}: could not parse the document ({type(exc).__name__}: "
                         f"{one_line(str(exc), 120) or 'no detail'})") from exc
