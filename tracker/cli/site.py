"""The `site` command: publish every board as a static website and JSON API (tracker.site)."""

from __future__ import annotations

from pathlib import Path

import click

from ..site import build_site
from ..timeutil import parse_when
from ..views import pick_boards
from .app import App, cli, errors


@cli.command("site")
@click.option("-o", "--output", "output", required=True, type=click.Path(file_okay=False),
              help="The folder to write the site to (created if missing; updated in place).")
@click.option("--board", "names", multiple=True, metavar="GLOB",
              help="Only these boards (an id or a glob such as 'arena-*'); repeat for more. Default: every board.")
@click.option("--base-url", help="Where the site will be served (https://example.org/sota/): absolute links in "
                                 "api/boards.json and the feeds. Pages always link relatively.")
@click.option("--as-of", "as_of", help="The site as it would have been at WHEN (a date, a time, or an age like 30d).")
@click.pass_obj
def site(app: App, output: str, names: tuple[str, ...], base_url: str | None, as_of: str | None) -> None:
    """Write a static website of every board: index.html, a page per board with its SOTA chart, ranked table and
    history, JSON API files (api/), CSV/JSON downloads and Atom feeds. Boards with nothing new are not rewritten.

    Example: tracker site -o public --base-url https://example.org/sota/
    """
    if base_url and not base_url.lower().startswith(("http://", "https://")):
        raise click.BadParameter("give an http(s):// URL, e.g. https://example.org/sota/", param_hint="--base-url")
    with errors(app), app.context() as ctx:
        settings = app.load()
        when = parse_when(as_of) if as_of else None
        result = build_site(ctx.store, settings, Path(output), boards=pick_boards(settings, names),
                            base_url=base_url, as_of=when)
    click.echo(app.mask(result.summary()))
