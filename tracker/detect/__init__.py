"""Adding a board from a document: find its tables, propose column roles, append a [[board]], and dry runs.

    tables.py       the document's format (CSV dialect, JSON, YAML, HTML; gzip/zip unpacked) and its candidate tables
    jsondoc.py      JSON/YAML: lists of row objects anywhere, objects keyed by model name (model = "$key")
    htmldoc.py      HTML: every <table>, read as the html source reads it, with a selector when needed
    propose.py      which column names the entries, which is the metric, its direction, the board id
    toml_append.py  the [[board]] text, appended to the config file after validating the result
    dryrun.py       what ingesting a document would do, stored nowhere (`tracker check`)
    add.py          the steps of `tracker add` and `tracker check` around those: read, refuse, append, ingest
"""

from __future__ import annotations

from .add import (
                  add_board,
                  best_table,
                  check_board,
                  new_settings,
                  read_document,
                  refuse_existing,
                  tracked_by,
                  written_url,
)
from .dryrun import DryRun, dry_run
from .propose import Proposal, lower_is_better, profile, propose, slug
from .tables import DETECTABLE, Candidate, Column, find_tables
from .toml_append import Appended, append_board, board_block

__all__ = ["DETECTABLE", "Appended", "Candidate", "Column", "DryRun", "Proposal", "add_board", "append_board",
           "best_table", "board_block", "check_board", "dry_run", "find_tables", "lower_is_better", "new_settings",
           "profile", "propose", "read_document", "refuse_existing", "slug", "tracked_by", "written_url"]
