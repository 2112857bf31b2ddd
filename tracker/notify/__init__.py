"""The alert channels, by kind: console, webhook (signed JSON), and Apprise for every human channel."""

from __future__ import annotations

from .apprise import AppriseNotifier, check
from .base import Alert, Notifier
from .console import ConsoleNotifier
from .webhook import WebhookNotifier

NOTIFIERS: dict[str, type[Notifier]] = {"console": ConsoleNotifier, "webhook": WebhookNotifier,
                                        "apprise": AppriseNotifier}


def kind_of(target: str) -> str:
    """Which channel a notify target uses."""
    if target == "console":
        return "console"
    if target.startswith("webhook+"):
        return "webhook"
    return "apprise"


def make(target: str, secret: str | None = None) -> Notifier:
    """The notifier for a target string."""
    return NOTIFIERS[kind_of(target)](target, secret)


def check_targets(targets: list[str]) -> None:
    """Refuse Apprise targets Apprise does not understand (called when the config is loaded)."""
    for t in targets:
        if kind_of(t) == "apprise":
            check(t)


__all__ = ["NOTIFIERS", "Alert", "Notifier", "check_targets", "kind_of", "make"]
