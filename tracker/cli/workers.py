"""`tracker workers`: the worker pool of the store (`tracker schedule --workers`)."""

from __future__ import annotations

import click

from .. import workers as pool
from ..store.pool import workers as list_workers
from .app import FORMAT_TEXT_JSON, App, cli, errors


@cli.command()
@click.option("--format", "style", type=FORMAT_TEXT_JSON, default="text", show_default=True,
              help="json: one array of {id, host, pid, state, started_at, heartbeat_at, heartbeat_age, stopped_at, "
                   "running, runs, failures}.")
@click.pass_obj
def workers(app: App, style: str) -> None:
    """List the store's worker pool: each worker's host, pid, heartbeat age, boards running, runs and failures.

    A worker is `running` while its heartbeat is younger than [schedule] lease, `stopped` when it stopped
    cleanly, and `gone` when it vanished (killed, or its machine is down); its boards went back to the others.

    Example: tracker workers --format json
    """
    with errors(app), app.context() as ctx:
        items = list_workers(ctx.store)
        text = pool.workers_table(items, style, app.load().schedule.lease.total_seconds())
    click.echo(app.mask(text))
