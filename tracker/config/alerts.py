"""The [[alert]] part of the configuration: AlertSpec, its validation, and masking of target URLs."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..models import ChangeKind
from .checks import check_keys, num, str_list

ALERT_KEYS = ("on", "boards", "notify", "digest", "secret", "min_margin", "confirm", "failures", "max_attempts",
              "backoff", "ties")
EVENT_TYPES = tuple(k.value for k in ChangeKind)


@dataclass(frozen=True)
class AlertSpec:
    """One [[alert]] rule: which events of which boards go to which targets, and how."""

    key: str
    on: tuple[str, ...]
    boards: tuple[str, ...]
    notify: tuple[str, ...]
    digest: bool = False
    secret: str | None = None
    min_margin: float = 0.0
    confirm: int = 1
    failures: int = 3
    max_attempts: int = 5
    backoff: float = 60.0
    ties: bool = False  # alert leader changes inside the confidence intervals (statistical ties) too

    def covers(self, board_id: str) -> bool:
        """Whether the rule's `boards` globs match this board."""
        return any(fnmatch.fnmatchcase(board_id, pattern) for pattern in self.boards)

    @staticmethod
    def covers_one(pattern: str, board_id: str) -> bool:
        """Whether one `boards` glob matches this board."""
        return fnmatch.fnmatchcase(board_id, pattern)


def alert(raw: Any, index: int) -> AlertSpec:
    """Validate one [[alert]] table."""
    w = f"alert #{index + 1}"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{w}: must be a table")
    check_keys(raw, ALERT_KEYS, w)
    on = str_list(raw, "on", w, ("leader_changed",))
    for t in on:
        if t not in EVENT_TYPES:
            raise ConfigError(f"{w}: unknown event type {t!r} in 'on' (allowed: {', '.join(EVENT_TYPES)})")
    notify = str_list(raw, "notify", w, ("console",))
    for target in notify:
        if target != "console" and not re.match(r"^[a-z][a-z0-9+.-]*://", target):
            raise ConfigError(f"{w}: notify target {mask_url(target)!r} is not 'console', 'webhook+https://...' "
                              f"or an Apprise URL such as mailto://... or ntfy://topic")
        if target.startswith("webhook+") and not target.startswith(("webhook+http://", "webhook+https://")):
            raise ConfigError(f"{w}: webhook target must be webhook+http://... or webhook+https://...")
    digest, ties = raw.get("digest", False), raw.get("ties", False)
    for name, flag in (("digest", digest), ("ties", ties)):
        if not isinstance(flag, bool):
            raise ConfigError(f"{w}: '{name}' must be true or false")
    secret = raw.get("secret")
    if secret is not None and (not isinstance(secret, str) or not secret):
        raise ConfigError(f"{w}: 'secret' must be a non-empty string, e.g. \"${{TRACKER_WEBHOOK_SECRET}}\"")
    spec = {k: raw.get(k) for k in ("on", "boards", "notify", "digest", "min_margin", "confirm")}
    if ties:
        spec["ties"] = True  # keeps the key (and so the delivery history) of rules written before `ties` existed
    key = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return AlertSpec(
        key=key, on=on, boards=str_list(raw, "boards", w, ("*",)), notify=notify, digest=digest, secret=secret,
        min_margin=num(raw, "min_margin", w, 0.0, low=0.0),
        confirm=int(num(raw, "confirm", w, 1, low=1, high=100)),
        failures=int(num(raw, "failures", w, 3, low=0, high=1000)),
        max_attempts=int(num(raw, "max_attempts", w, 5, low=1, high=100)),
        backoff=num(raw, "backoff", w, 60.0, low=0.0), ties=ties)


_URL = re.compile(r"^([a-z][a-z0-9+.-]*://)([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$", re.I)
_PLAIN_SEGMENT = re.compile(r"^[a-z][a-z_.-]{0,11}$")  # a short lowercase word ("services", "hooks"): not a token
_OPAQUE_SCHEMES = ("slack://", "discord://", "ntfy://", "ntfys://", "tgram://", "pover://", "gotify://", "gotifys://")


def url_secrets(url: str) -> list[str]:
    """The parts of a URL that may be secrets: password, path tokens, query and fragment values (longest first)."""
    m = _URL.match(url)
    if not m:
        return []
    scheme, netloc, path, query, fragment = m.groups()
    found: list[str] = []
    if "@" in netloc:
        cred = netloc.rsplit("@", 1)[0]
        if ":" in cred:
            found.append(cred.split(":", 1)[1])
    if scheme.lower() in _OPAQUE_SCHEMES:
        host = netloc.rsplit("@", 1)[-1]
        found.extend([host] if len(host) >= 8 else [])
        found.extend(x for x in path.split("/") if x)
    else:
        found.extend(seg for seg in path.split("/") if seg and not _PLAIN_SEGMENT.match(seg))
    for part in re.split(r"[?&#]", (query or "") + (fragment or "")):
        value = part.partition("=")[2] if "=" in part else part
        if value:
            found.append(value)
    return sorted({f for f in found if len(f) >= 4}, key=len, reverse=True)


def mask_url(url: str) -> str:
    """A target URL with its password, path tokens, query and fragment values masked, for logs and listings."""
    m = _URL.match(url)
    if not m:
        return url
    scheme, netloc, path, query, fragment = m.groups()
    if scheme.lower() in _OPAQUE_SCHEMES:
        return scheme + "***"
    if "@" in netloc:
        cred, host = netloc.rsplit("@", 1)
        user = cred.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in cred else f"{user}@{host}"
    path = "/".join(seg if not seg or _PLAIN_SEGMENT.match(seg) else "***" for seg in path.split("/"))
    query = re.sub(r"([?&][^=&]+=)[^&]*", r"\1***", query or "")
    return scheme + netloc + path + query + ("#***" if fragment else "")


def scrub(text: str, secrets: list[str]) -> str:
    """Text with every secret replaced by ***."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
