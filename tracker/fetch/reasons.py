"""requests and urllib3 errors -> one short reason a person can act on, and whether the attempt may be retried.

requests wraps urllib3 errors inconsistently (a ReadTimeoutError raised while streaming a body arrives as
requests.ConnectionError), so the whole chain is searched for the innermost telling error.
"""

from __future__ import annotations

from collections.abc import Iterator

import requests
import requests.exceptions
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    IncompleteRead,
    InvalidChunkLength,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from .retry import Failure


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < 20:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo.extend(a for a in e.args if isinstance(a, BaseException))
        todo.extend(x for x in (e.__cause__, e.__context__) if x is not None)


def cut_short(resp: requests.Response, exc: BaseException | None = None) -> Failure:
    """The Failure of a body that ended before its Content-Length or its last chunk."""
    got = resp.raw.tell()
    declared = resp.headers.get("Content-Length", "")
    if "chunked" in resp.headers.get("Transfer-Encoding", "").lower():
        what = f"broken chunked encoding after {got} bytes"
    elif declared.isdigit():
        partials = [e.partial for e in _chain(exc) if isinstance(e, IncompleteRead)] if exc else []
        got = max([got, *partials])
        what = f"got {got} of {declared} bytes"
    else:
        what = f"got {got} bytes, then the connection broke"
    return Failure(f"the download was cut short ({what}); will try again on the next run")


def translate(exc: BaseException, timeout: float, resp: requests.Response | None = None) -> Failure:
    """The Failure for an error raised while requesting (resp None) or while reading the body of `resp`."""
    chain = list(_chain(exc))
    if any(isinstance(e, ReadTimeoutError | requests.ReadTimeout) for e in chain):
        return Failure(f"read timed out after {timeout:g}s (no data for that long); the site is slow or down, "
                       "or raise [fetch] timeout")
    if any(isinstance(e, requests.ConnectTimeout)  # urllib3's NewConnectionError subclasses ConnectTimeoutError
           or (isinstance(e, ConnectTimeoutError) and not isinstance(e, NewConnectionError)) for e in chain):
        return Failure("timed out connecting; the site is down or unreachable", retriable=True)
    if any(isinstance(e, DecodeError | requests.exceptions.ContentDecodingError) for e in chain):
        return Failure(f"the body could not be decompressed ({_innermost(exc)}); the site sent a broken "
                       "compressed body")
    body_broke = resp is not None and any(
        isinstance(e, ProtocolError | IncompleteRead | InvalidChunkLength | requests.exceptions.ChunkedEncodingError
                   | ConnectionError) for e in chain)
    if body_broke and resp is not None:
        return cut_short(resp, exc)
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return Failure("the download was cut short (broken chunked encoding); will try again on the next run")
    if any(isinstance(e, requests.ConnectionError | NewConnectionError | ProtocolError) for e in chain):
        return Failure(f"cannot connect ({_innermost(exc)}); check the URL and the network", retriable=True)
    if isinstance(exc, requests.TooManyRedirects):
        return Failure("too many redirects")
    return Failure(f"{type(exc).__name__}: {exc}")


def describe(exc: BaseException, timeout: float) -> str:
    """A short reason for a requests error: the innermost cause, not the whole adapter chain."""
    return translate(exc, timeout).reason


def _innermost(exc: BaseException) -> str:
    cause = exc
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    return str(cause).split("] ", 1)[-1] if str(cause) else type(cause).__name__
