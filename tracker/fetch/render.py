"""Rendered pages: a board with `render = "chromium"` is loaded in headless Chromium (Debian's `chromium`), its
scripts run, and the rendered DOM is the document. Bounded by the [fetch] deadline and max_bytes; stopped by
cancel(). Chromium fetches the page and its scripts itself, so the redirect rules of HttpFetcher do not apply
inside it (robots.txt of the board's host is still checked before)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime

from ..config import FetchSettings
from ..errors import Cancelled, FetchError
from ..models import Page

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
         "--disable-extensions", "--mute-audio", "--hide-scrollbars")
SCRIPT_TIME_MS = 10_000  # virtual time the page's scripts get before the DOM is read


def chromium(settings: FetchSettings) -> str:
    """The Chromium executable, or a FetchError saying how to install it."""
    found = shutil.which(settings.chromium)
    if found is None:
        raise FetchError(f"cannot render: no Chromium at {settings.chromium!r}; install Debian's chromium "
                         f"(apt-get install chromium) or set [fetch] chromium to its path")
    return found


def render(url: str, settings: FetchSettings, cancelled: threading.Event) -> Page:
    """The DOM of `url` after its scripts ran, as an HTML Page; FetchError when it cannot be had in time."""
    exe = chromium(settings)
    started, fetched_at = time.monotonic(), datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="tracker-chromium-") as profile:
        cmd = [exe, *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={SCRIPT_TIME_MS}", "--dump-dom",
               url]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        try:
            out = _communicate(proc, settings.deadline, cancelled, url)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if len(out) > settings.max_bytes:
        raise FetchError(f"{url}: rendered page of {len(out)} bytes is over max_bytes ({settings.max_bytes}); "
                         f"raise [fetch] max_bytes")
    if proc.returncode != 0 or not out.strip():
        raise FetchError(f"{url}: Chromium could not render the page (exit {proc.returncode}); check the URL")
    return Page(url=url, content=out, fetched_at=fetched_at, content_type="text/html; charset=utf-8",
                encoding="utf-8", duration=time.monotonic() - started)


def _communicate(proc: subprocess.Popen[bytes], deadline: float, cancelled: threading.Event, url: str) -> bytes:
    """Wait for Chromium, but no longer than the deadline and not past a cancel."""
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append(proc.communicate()[0]), daemon=True)
    reader.start()
    end = time.monotonic() + deadline
    while reader.is_alive():
        if cancelled.is_set():
            proc.kill()
            raise Cancelled(f"{url}: cancelled: tracker is stopping")
        if time.monotonic() >= end:
            proc.kill()
            raise FetchError(f"{url}: gave up rendering after the [fetch] deadline of {deadline:g}s; the page is too "
                             f"slow, or raise [fetch] deadline")
        reader.join(0.1)
    return result[0] if result else b""

