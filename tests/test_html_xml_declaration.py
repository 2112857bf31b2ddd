"""XHTML pages start with `<?xml version="1.0" encoding="..."?>`: lxml refuses decoded text that declares an
encoding, so such a board used to fail every run with "not parseable HTML" (and `tracker add` found no table).
And a page that is not UTF-8 and whose server names no charset is read in the encoding it declares (XML
declaration or <meta charset>) before charset-normalizer guesses, which on a short page guessed ISO-8859-2 for
French accents."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker import config
from tracker.config import BoardSpec
from tracker.detect.htmldoc import html_tables
from tracker.models import Page
from tracker.normalize.text import canonical
from tracker.pipeline import parse_rows
from tracker.sources.html_table import without_xml_declaration

XHTML = ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
         '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml">'
         "<head><title>Board</title></head><body><table><tr><th>Model</th><th>Score</th></tr>"
         "{rows}</table></body></html>")


def board() -> BoardSpec:
    return config.parse({"board": [{"id": "b", "title": "B", "url": "https://example.org/x", "format": "html",
                                    "metric": "score", "fields": {"model": "Model", "score": "Score"}}]},
                        base=Path("/")).boards[0]


def page(doc: bytes, content_type: str | None = None, hint: str | None = None) -> Page:
    """A fetched page; a charset in `content_type` is the server's declared encoding, as the fetcher sets it."""
    charset = content_type.split("charset=")[1] if content_type and "charset=" in content_type else None
    return Page("https://example.org/x", doc, datetime.now(UTC), content_type=content_type or "", encoding=charset,
                hint_encoding=hint)


def table_rows(entries: list[tuple[str, float]]) -> str:
    return "".join(f"<tr><td>{m}</td><td>{v}</td></tr>" for m, v in entries)


@pytest.mark.parametrize("encoding", ["utf-8", "iso-8859-1", "windows-1252"])
@pytest.mark.parametrize("content_type", [None, "text/html; charset={enc}", "application/xhtml+xml"])
def test_an_xhtml_page_with_an_xml_declaration_is_read(encoding: str, content_type: str | None) -> None:
    doc = (f'<?xml version="1.0" encoding="{encoding}"?>\n'
           + XHTML.format(rows=table_rows([("Café Net", 91.0), ("Zürich-L", 90.5)]))).encode(encoding)
    rows, warnings = parse_rows(page(doc, content_type and content_type.format(enc=encoding)), board())
    assert [(r.model, r.value("score")) for r in rows] == [("Café Net", 91.0), ("Zürich-L", 90.5)]
    assert warnings == []


def test_tracker_add_finds_the_table_of_an_xhtml_page() -> None:
    text = '<?xml version="1.0" encoding="UTF-8"?>' + XHTML.format(rows=table_rows([("A", 1.0), ("B", 2.0)]))
    found = html_tables("https://example.org/x", text)
    assert len(found) == 1 and [c.name for c in found[0].columns] == ["Model", "Score"]


def test_only_a_leading_declaration_is_removed() -> None:
    assert without_xml_declaration(' \n<?xml version="1.0"?><p>x</p>') == "<p>x</p>"
    assert without_xml_declaration("<p><?xml is text here?></p>") == "<p><?xml is text here?></p>"
    assert without_xml_declaration("<?xml-stylesheet href='a.css'?><p>x</p>").startswith("<?xml-stylesheet")


names = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd"), max_codepoint=0xFF), min_size=1,
                max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(names, st.floats(0, 100, allow_nan=False).map(lambda v: round(v, 2))), min_size=1,
                max_size=8, unique_by=lambda e: canonical(e[0])),
       st.sampled_from(["utf-8", "utf-16", "iso-8859-1"]), st.booleans())
def test_a_declaration_never_changes_the_rows(entries: list[tuple[str, float]], encoding: str,
                                              standalone: bool) -> None:
    body = XHTML.format(rows=table_rows(entries))
    extra = ' standalone="yes"' if standalone else ""
    decl = f'<?xml version="1.0" encoding="{encoding}"{extra}?>\n'
    plain, _ = parse_rows(page(body.encode("utf-8")), board())
    declared, _ = parse_rows(page((decl + body).encode(encoding), f"text/html; charset={encoding}"), board())
    assert [(r.model, r.values) for r in declared] == [(r.model, r.values) for r in plain]
    assert [r.model for r in plain] == [m for m, _ in entries]


LATIN = [("Réseau “gros” modèle", 91.0), ("Ärger-Net — v2", 90.5)]  # cp1252 smart quotes and dash


@pytest.mark.parametrize("declaration", [
    '<meta charset="windows-1252">', "<meta charset=iso-8859-1>",
    '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'])
def test_a_page_without_a_server_charset_is_read_in_the_encoding_it_declares(declaration: str) -> None:
    doc = XHTML.format(rows=table_rows(LATIN)).replace("<head>", f"<head>{declaration}").encode("cp1252")
    rows, _ = parse_rows(page(doc), board())
    assert [r.model for r in rows] == [m for m, _ in LATIN]


def test_the_server_charset_and_the_last_documents_encoding_still_come_first() -> None:
    doc = XHTML.format(rows=table_rows([("Ćwierć", 1.0)])).replace("<head>", "<head><meta charset=latin-1>")
    data = doc.encode("iso-8859-2")
    assert [r.model for r in parse_rows(page(data, "text/html; charset=iso-8859-2"), board())[0]] == ["Ćwierć"]
    assert [r.model for r in parse_rows(page(data, hint="iso8859-2"), board())[0]] == ["Ćwierć"]
    as_declared = "Ćwierć".encode("iso-8859-2").decode("cp1252")  # wrongly, but what the page says
    assert [r.model for r in parse_rows(page(data), board())[0]] == [as_declared]


def test_an_unknown_or_failing_declared_encoding_falls_through_to_detection() -> None:
    for label in ("no-such-codec", "punycode", "utf-8"):  # utf-8 fails on these bytes
        doc = XHTML.format(rows=table_rows(LATIN)).replace("<head>", f"<head><meta charset={label}>")
        rows, _ = parse_rows(page(doc.encode("cp1252")), board())
        assert len(rows) == 2
