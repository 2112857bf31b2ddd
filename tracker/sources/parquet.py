"""Parquet files (Hugging Face datasets such as LMArena's leaderboard): fields map to column names, as for CSV.

pyarrow is an optional extra (`pip install 'tracker[parquet]'`) and is imported only when a parquet board is read.
"""

from __future__ import annotations

import io
import math
from typing import Any

from ..config import BoardSpec
from ..errors import ParseError
from ..models import Page
from .base import Parsed, RawRow, Source, map_columns, one_line
from .json_api import as_text

PARQUET_MAGIC = b"PAR1"
MAX_CELLS = 20_000_000  # rows x mapped columns read from one file


def _text(value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return as_text(value.isoformat() if hasattr(value, "isoformat") else value)


class ParquetSource(Source):
    """An Apache Parquet file; fields map to column names (case- and space-insensitive). Needs tracker[parquet]."""

    kind = "parquet"

    def parse(self, page: Page, spec: BoardSpec) -> Parsed:
        """Read the mapped columns of every row group; each row is one raw row."""
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ParseError(f"{spec.id}: format 'parquet' needs pyarrow: pip install 'tracker[parquet]'") from None
        if not (page.content.startswith(PARQUET_MAGIC) and page.content.endswith(PARQUET_MAGIC)):
            raise ParseError(f"{spec.id}: {page.url} is not a Parquet file (no PAR1 magic at both ends); check the "
                             f"url (a Hugging Face file URL needs /resolve/, not /blob/)")
        try:
            pf = pq.ParquetFile(io.BytesIO(page.content))
            names = list(pf.schema_arrow.names)
            mapping, warnings = map_columns([[n] for n in names], spec, f"the Parquet columns of {page.url}")
            if pf.metadata.num_rows * max(1, len(mapping)) > MAX_CELLS:
                raise ParseError(f"{spec.id}: {page.url} has {pf.metadata.num_rows:,} rows, more than tracker reads "
                                 f"from one leaderboard file")
            table = pf.read(columns=[names[i] for i in dict.fromkeys(mapping.values())])
        except ParseError:
            raise
        except Exception as exc:  # pyarrow's errors (ArrowInvalid, OSError, ...) on a corrupt file
            raise ParseError(f"{spec.id}: {page.url} is not a readable Parquet file ({type(exc).__name__}: "
                             f"{one_line(str(exc), 120)})") from None
        columns = {name: table.column(names[col]).to_pylist() for name, col in mapping.items()}
        rows: list[RawRow] = [{name: _text(values[i]) for name, values in columns.items()}
                              for i in range(table.num_rows)]
        return Parsed(rows, warnings, "binary")
