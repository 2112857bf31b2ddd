"""The alerts commands: the outbox listing, a test send, and retry."""

from __future__ import annotations

import sys

import click

from .. import alerts, config, render
from .app import FORMAT_TEXT_JSON, App, cli, errors


@cli.group("alerts", invoke_without_command=True)
@click.option("--status", type=click.Choice(["waiting", "pending", "sent", "dead", "suppressed"]),
              help="Only deliveries in this state.")
@click.option("--format", "style", type=FORMAT_TEXT_JSON, default="text", show_default=True)
@click.pass_context
def alerts_(ctx: click.Context, status: str | None, style: str) -> None:
    """List alert deliveries (the outbox): waiting, pending, sent, dead or suppressed, with the last error.

    Example: tracker alerts --status dead
    """
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.obj
    with errors(app), app.context() as c:
        items = alerts.deliveries(c.store, status)
        events = {e.id: e for e in c.store.events(after_id=min((d.event_id for d in items), default=1) - 1)}
    click.echo(app.mask(render.deliveries(items, events, style)))


@alerts_.command("test")
@click.argument("target")
@click.option("--secret", envvar="TRACKER_WEBHOOK_SECRET", help="Sign a webhook test with this secret "
              "(default: $TRACKER_WEBHOOK_SECRET).", show_envvar=True)
@click.pass_obj
def alerts_test(app: App, target: str, secret: str | None) -> None:
    """Send a test alert to TARGET (console, webhook+https://..., or an Apprise URL) and say what happened.

    Example: tracker alerts test "mailto://user:pass@smtp.example.org?to=me@example.org"
    """
    shown = config.mask_url(target)
    with errors(app):
        alerts.send_test(target, secret)
    click.echo(f"sent a test alert to {shown}")


@alerts_.command("retry")
@click.pass_obj
def alerts_retry(app: App) -> None:
    """Retry pending and dead deliveries now (dead ones get their attempts back).

    Exits 2 when any send failed or went dead.

    Example: tracker alerts retry
    """
    with errors(app), app.context() as ctx, ctx.store.lock(app.load().lock_wait, "tracker alerts retry"):
        result = alerts.retry(app.load(), ctx.store)
    click.echo(app.mask(result.summary() or "alerts: nothing to send"))
    bad = result.failed + result.dead
    if bad:
        total = result.sent + bad
        click.echo(f"Error: {bad} of {total} alert send{'s' if total != 1 else ''} failed; `tracker alerts "
                   f"--status pending` and `--status dead` show why", err=True)
        sys.exit(2)
