"""Which hosts are private, and the redirect rule: a public board may not redirect tracker into a private network.

A redirect is refused when its target resolves to any loopback, private, link-local, unspecified, multicast or
reserved address, unless the board's own URL is on such an address (a board on the LAN may redirect within it)
or [fetch] allow_private is true. The decision goes through `is_private`, whose resolver is `socket.getaddrinfo`
unless HttpFetcher is given another one (tests use that to call 127.0.0.1 "public"). The check happens before
the request; a DNS answer that changes in between (rebinding) is not caught.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urljoin, urlparse

from ..errors import FetchError

Resolver = Callable[[str], Sequence[str]]
"""A function from a host name to its IP addresses (as text)."""


def resolve(host: str) -> list[str]:
    """The addresses of `host` by socket.getaddrinfo; empty when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


def is_private_address(address: str) -> bool:
    """Whether an IP address is loopback, private, link-local, unspecified, multicast or reserved."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_unspecified or ip.is_multicast
            or ip.is_reserved)


def is_private(host: str, resolver: Resolver = resolve) -> bool:
    """Whether `host` (an IP literal or a name) is, or resolves to, any private address."""
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return any(is_private_address(a) for a in resolver(host))
    return is_private_address(host)


class RedirectGuard:
    """Checks each redirect of one board's fetch: http(s) only, and no way from public into private."""

    def __init__(self, board_url: str, allow_private: bool, resolver: Resolver = resolve) -> None:
        self.board_url = board_url
        self.allow_private = allow_private
        self.resolver = resolver
        self._board_private: bool | None = None

    def board_is_private(self) -> bool:
        """Whether the board's own URL is on a private address (then its redirects may stay private)."""
        if self._board_private is None:
            self._board_private = is_private(urlparse(self.board_url).hostname or "", self.resolver)
        return self._board_private

    def follow(self, current: str, location: str) -> str:
        """The absolute URL a redirect from `current` to `location` leads to, or a FetchError refusing it."""
        target = urljoin(current, location.strip())
        parts = urlparse(target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"{self.board_url}: refused a redirect to {target[:200]} (only http and https "
                             "URLs are followed); point the board at the final URL")
        if not self.allow_private and not self.board_is_private() and is_private(parts.hostname, self.resolver):
            raise FetchError(f"{self.board_url}: refused a redirect to {parts.hostname} (a private/loopback "
                             "address); set [fetch] allow_private = true if you trust it")
        return target
