"""The document formats, by `format` name."""

from __future__ import annotations

from .base import Parsed, Source
from .csv_file import CsvSource
from .html_table import HtmlTable
from .json_api import JsonSource
from .pwc import PwcSource

FORMATS: dict[str, type[Source]] = {"csv": CsvSource, "html": HtmlTable, "json": JsonSource, "pwc": PwcSource}

__all__ = ["FORMATS", "Parsed", "Source"]
