"""[[collection]]s: one document, many boards.

    registry.py   the BoardSpecs of a collection's boards (its document's own board and the generated ones)
    run.py        run a collection: fetch once, split, store each board; run_specs() runs any mix of boards
    imports.py    `tracker import COLLECTION FILES`: saved versions of the document

The split itself (document -> boards and raw rows) is the parse stage: tracker.sources.collection.
"""

from __future__ import annotations

from .imports import import_files
from .registry import document_spec, is_document, with_generated
from .run import jobs, run_collection, run_job, run_specs

__all__ = ["document_spec", "import_files", "is_document", "jobs", "run_collection", "run_job", "run_specs",
           "with_generated"]
