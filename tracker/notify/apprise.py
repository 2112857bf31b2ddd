"""Every human channel (e-mail, Slack, Discord, ntfy, Telegram, ...) through Apprise URLs."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import apprise

from ..config import mask_url, scrub, url_secrets
from ..errors import ConfigError, NotifyError
from .base import Alert, Notifier, body_html, body_plain, body_text, subject

logger = logging.getLogger(__name__)


def check(target: str) -> None:
    """Refuse a target Apprise does not understand, naming it (with secrets masked)."""
    if apprise.Apprise.instantiate(target) is None:
        raise ConfigError(f"alert target {mask_url(target)!r} is not a URL Apprise understands; see "
                          f"https://appriseit.com for the URL of each service (mailto://, slack://, ntfy://, ...)")


@contextmanager
def text_part(html_body: str, plain: str) -> Iterator[None]:
    """While open, Apprise's e-mail plugin uses `plain` as the text/plain part of a mail whose HTML is `html_body`.

    Apprise's mailto:// sends HTML as multipart/alternative and makes the text/plain part itself with its HTML-to-text
    converter, which puts every table cell on its own line; it takes no text part from the caller. So the converter
    its e-mail module looks up is swapped for one that answers `plain` for exactly this HTML body and defers to
    Apprise's own for anything else. Without that hook (another Apprise layout) Apprise's own text part is sent.
    """
    module: Any = None
    with suppress(ImportError):
        module = importlib.import_module("apprise.plugins.email.base")   # where Apprise 2.2 keeps it
    original: Callable[[object, object, str], str] | None = getattr(module, "convert_between", None)
    if original is None:  # pragma: no cover - another Apprise layout
        logger.warning("apprise.plugins.email.base.convert_between not found; Apprise makes the text/plain part")
        yield
        return
    apprise_convert = original

    def convert(from_format: object, to_format: object, content: str) -> str:
        if content == html_body and from_format == apprise.NotifyFormat.HTML \
                and to_format == apprise.NotifyFormat.TEXT:
            return plain
        return apprise_convert(from_format, to_format, content)

    module.convert_between = convert
    try:
        yield
    finally:
        module.convert_between = original


class AppriseNotifier(Notifier):
    """Any Apprise URL (mailto://, slack://, discord://, ntfy://, tgram://, ...): a title and a body."""

    kind = "apprise"

    def send(self, alerts: Sequence[Alert], *, digest: bool = False) -> None:
        """Send through Apprise; e-mail gets an HTML table and an aligned text table, other channels plain text."""
        ap = apprise.Apprise()
        if not ap.add(self.target):
            raise NotifyError(f"{mask_url(self.target)}: not a URL Apprise understands")
        is_mail = self.target.startswith(("mailto://", "mailtos://"))
        with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
            if is_mail:
                html_body = body_html(alerts)
                with text_part(html_body, body_plain(alerts)):
                    ok = ap.notify(title=subject(alerts), body=html_body, body_format=apprise.NotifyFormat.HTML)
            else:
                ok = ap.notify(title=subject(alerts), body=body_text(alerts), body_format=apprise.NotifyFormat.TEXT)
        if not ok:
            # scrub before cutting, so no fragment of a password or token survives the cut
            detail = scrub(" ".join(captured.getvalue().split()), url_secrets(self.target))[-300:] \
                if captured is not None else ""
            raise NotifyError(f"{mask_url(self.target)}: delivery failed{': ' + detail if detail else ''}")
