"""The document formats, by `format` name, and parse_document(): any format's parse with one safety net."""

from __future__ import annotations

import csv
import logging

import jmespath.exceptions
import lxml.etree

from ..config import BoardSpec
from ..errors import ParseError
from ..models import Page
from .base import Parsed, Source, one_line
from .csv_file import CsvSource
from .html_table import HtmlTable, has_element
from .json_api import JsonSource
from .pwc import PwcSource

FORMATS: dict[str, type[Source]] = {"csv": CsvSource, "html": HtmlTable, "json": JsonSource, "pwc": PwcSource}

__all__ = ["FORMATS", "Parsed", "Source", "has_element", "parse_document"]

logger = logging.getLogger(__name__)

# what a parser bug on a hostile document can raise (UnicodeError, KeyError and IndexError are among these)
_BUGS = (RecursionError, ValueError, TypeError, AttributeError, LookupError, ArithmeticError, csv.Error,
         jmespath.exceptions.JMESPathError, lxml.etree.Error)


def parse_document(page: Page, spec: BoardSpec) -> Parsed:
    """Parse `page` with the board's format; whatever the document holds, the only error raised is ParseError."""
    try:
        return FORMATS[spec.format]().parse(page, spec)
    except _BUGS as exc:
        logger.debug("%s: parsing %s failed unexpectedly", spec.id, page.url, exc_info=True)
        raise ParseError(f"{spec.id}: {page.url}: could not parse the document ({type(exc).__name__}: "
                         f"{one_line(str(exc), 120) or 'no detail'})") from exc
