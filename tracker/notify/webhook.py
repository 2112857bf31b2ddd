"""The webhook channel: a structured JSON POST, signed with HMAC-SHA256 when the rule has a secret.

Each POST carries `Idempotency-Key: <event id(s)>:<target hash>` so a receiver can drop a message delivered twice
(the outbox retries after a crash). Redirects are never followed: a 3xx would re-send the signed body to a host
the rule never named, so it is a NotifyError.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Sequence

from ..config import mask_url
from ..errors import NotifyError
from .base import Alert, Notifier

logger = logging.getLogger(__name__)


def idempotency_key(alerts: Sequence[Alert], target: str, *, digest: bool = False) -> str:
    """The Idempotency-Key header: the event id (a digest: the ids joined by ","), ":", a hash of the target."""
    ids = ",".join(str(a.event.id) for a in alerts) if digest else str(alerts[0].event.id)
    return f"{ids}:{hashlib.sha256(target.encode()).hexdigest()[:16]}"


def signature(secret: str, body: bytes) -> str:
    """The X-Tracker-Signature header value: sha256=<hex HMAC of the body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookNotifier(Notifier):
    """`webhook+https://host/path`: POST the event as JSON (a digest posts {"digest": true, "events": [...]})."""

    kind = "webhook"

    def send(self, alerts: Sequence[Alert], *, digest: bool = False) -> None:
        """POST the JSON body; any non-2xx answer or network error is a NotifyError."""
        url = self.target.removeprefix("webhook+")
        data = ({"digest": True, "count": len(alerts), "events": [a.payload() for a in alerts]}
                if digest else alerts[0].payload())
        body = json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "tracker-alerts",
                   "X-Tracker-Event": "digest" if digest else alerts[0].event.type.value,
                   "Idempotency-Key": idempotency_key(alerts, self.target, digest=digest)}
        if self.secret:
            headers["X-Tracker-Signature"] = signature(self.secret, body)
        import requests  # imported by the first webhook sent: a run without one starts faster

        try:
            resp = requests.post(url, data=body, headers=headers, timeout=15, allow_redirects=False)
        except requests.RequestException as exc:
            raise NotifyError(f"{mask_url(self.target)}: {type(exc).__name__}") from exc
        logger.info('HTTP Request: POST %s "%s %s"', mask_url(url), resp.status_code, resp.reason)
        if 300 <= resp.status_code < 400:
            raise NotifyError(f"{mask_url(self.target)}: HTTP {resp.status_code} {resp.reason} (webhooks do not "
                              "follow redirects; point the target at the final URL)")
        if not 200 <= resp.status_code < 300:
            raise NotifyError(f"{mask_url(self.target)}: HTTP {resp.status_code} {resp.reason}")
