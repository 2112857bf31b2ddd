"""The console channel: alerts printed on standard output (the default)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .base import Alert, Notifier, body_text, subject


class ConsoleNotifier(Notifier):
    """`console`: print each alert (or a digest) on standard output."""

    kind = "console"

    def send(self, alerts: Sequence[Alert], *, digest: bool = False) -> None:
        """Write the alert lines to stdout."""
        out = f"ALERT {subject(alerts)}\n" + "".join(f"  {line}\n" for line in body_text(alerts).splitlines()) \
            if digest and len(alerts) > 1 else "".join(f"ALERT {line}\n" for line in body_text(alerts).splitlines())
        sys.stdout.write(out)
        sys.stdout.flush()
