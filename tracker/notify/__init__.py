"""The alert channels, by kind: console, webhook (signed JSON), and Apprise for every human channel."""

from __future__ import annotations

from .base import Alert, Notifier
from .console import ConsoleNotifier
from .webhook import WebhookNotifier

NOTIFIERS: dict[str, type[Notifier]] = {"console": ConsoleNotifier, "webhook": WebhookNotifier}
# "apprise" (every other URL) is added on first use: importing Apprise costs more than the rest of a run's start-up


def _apprise() -> type[Notifier]:
    if "apprise" not in NOTIFIERS:
        from .apprise import AppriseNotifier

        NOTIFIERS["apprise"] = AppriseNotifier
    return NOTIFIERS["apprise"]


def kind_of(target: str) -> str:
    """Which channel a notify target uses."""
    if target == "console":
        return "console"
    if target.startswith("webhook+"):
        return "webhook"
    return "apprise"


def make(target: str, secret: str | None = None) -> Notifier:
    """The notifier for a target string."""
    kind = kind_of(target)
    return (_apprise() if kind == "apprise" else NOTIFIERS[kind])(target, secret)


def check_targets(targets: list[str]) -> None:
    """Refuse Apprise targets Apprise does not understand (called when the config is loaded)."""
    for t in targets:
        if kind_of(t) == "apprise":
            from .apprise import check

            check(t)


__all__ = ["NOTIFIERS", "Alert", "Notifier", "check_targets", "kind_of", "make"]
