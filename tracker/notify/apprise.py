"""Every human channel (e-mail, Slack, Discord, ntfy, Telegram, ...) through Apprise URLs."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import apprise

from ..config import mask_url, scrub, url_secrets
from ..errors import ConfigError, NotifyError
from .base import Alert, Notifier, body_html, body_text, subject

logger = logging.getLogger(__name__)


def check(target: str) -> None:
    """Refuse a target Apprise does not understand, naming it (with secrets masked)."""
    if apprise.Apprise.instantiate(target) is None:
        raise ConfigError(f"alert target {mask_url(target)!r} is not a URL Apprise understands; see "
                          f"https://appriseit.com for the URL of each service (mailto://, slack://, ntfy://, ...)")


class AppriseNotifier(Notifier):
    """Any Apprise URL (mailto://, slack://, discord://, ntfy://, tgram://, ...): a title and a body."""

    kind = "apprise"

    def send(self, alerts: Sequence[Alert], *, digest: bool = False) -> None:
        """Send through Apprise; e-mail gets an HTML table, other channels plain text."""
        ap = apprise.Apprise()
        if not ap.add(self.target):
            raise NotifyError(f"{mask_url(self.target)}: not a URL Apprise understands")
        is_mail = self.target.startswith(("mailto://", "mailtos://"))
        with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
            ok = ap.notify(title=subject(alerts), body=body_html(alerts) if is_mail else body_text(alerts),
                           body_format=apprise.NotifyFormat.HTML if is_mail else apprise.NotifyFormat.TEXT)
        if not ok:
            # scrub before cutting, so no fragment of a password or token survives the cut
            detail = scrub(" ".join(captured.getvalue().split()), url_secrets(self.target))[-300:] \
                if captured is not None else ""
            raise NotifyError(f"{mask_url(self.target)}: delivery failed{': ' + detail if detail else ''}")
