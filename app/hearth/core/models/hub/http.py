"""Byte ranges over HTTP(S) with nothing in between: the transport under downloads and remote header reads.

``http.client`` is used directly because downloads must resume (Range), stream at disk speed, and keep their partial
file when a connection drops — huggingface_hub's downloader deletes partial files on failure. Redirects are followed
(the Hub sends large files to a CDN) and the ``Authorization`` header is dropped when a redirect leaves the host, so a
token never reaches a third party.
"""

from __future__ import annotations

import email.utils
import http.client
import re
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

_RANGE_RE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# Errors after which a new request may succeed: dropped connections, timeouts, truncated bodies.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError, TimeoutError, socket.timeout, http.client.HTTPException, ssl.SSLError, OSError,
)


class HttpStatusError(Exception):
    """The server answered with an error status.

    Attributes:
        status: HTTP status code.
        error_code: the Hub's ``X-Error-Code`` header ("GatedRepo", "RepoNotFound", ...), or "".
        server_message: the Hub's ``X-Error-Message`` header, or "".
        retry_after: seconds the server asked us to wait (``Retry-After``), or None.
        url: the URL that failed.
    """

    def __init__(self, status: int, error_code: str, server_message: str, retry_after: float | None,
                 url: str) -> None:
        super().__init__(f"HTTP {status} {error_code} {server_message}".strip())
        self.status = status
        self.error_code = error_code
        self.server_message = server_message
        self.retry_after = retry_after
        self.url = url

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE_STATUS


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


@dataclass
class RangeResponse:
    """An open response positioned at ``start`` of the file.

    Attributes:
        start: the offset of the first byte the body carries.
        length: bytes in the body (None if the server did not say).
        total: the file's full size, if the server said.
    """

    response: http.client.HTTPResponse
    connection: http.client.HTTPConnection
    status: int
    start: int
    length: int | None
    total: int | None
    headers: Mapping[str, str]

    def read1(self, n: int) -> bytes:
        return self.response.read1(n)

    def readinto(self, buffer: memoryview) -> int:
        return self.response.readinto(buffer)

    def close(self) -> None:
        try:
            self.response.close()
        finally:
            self.connection.close()


class HttpFetcher:
    """Opens byte ranges of URLs, following redirects.

    Args:
        headers: sent with every request (user agent; ``Authorization`` only to the first host).
        timeout: seconds to wait for a connection or for data before giving up on that attempt.
    """

    def __init__(self, headers: Mapping[str, str] | None = None, *, timeout: float = 30.0,
                 max_redirects: int = 10) -> None:
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.max_redirects = max_redirects

    def _connect(self, url: str) -> tuple[http.client.HTTPConnection, str]:
        parts = urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        if parts.scheme == "https":
            return http.client.HTTPSConnection(parts.netloc, timeout=self.timeout,
                                               context=ssl.create_default_context()), target
        if parts.scheme == "http":
            return http.client.HTTPConnection(parts.netloc, timeout=self.timeout), target
        raise HttpStatusError(0, "", f"unsupported URL scheme {parts.scheme!r}", None, url)

    def open(self, url: str, start: int = 0, end: int | None = None) -> RangeResponse:
        """GET ``url`` from byte ``start`` (to ``end`` inclusive, or the end of the file).

        Raises:
            HttpStatusError: an error status (after redirects), including 416 for a range past the end.
            OSError, http.client.HTTPException: the connection failed (see ``NETWORK_ERRORS``).
        """
        headers = dict(self.headers)
        if start or end is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end}"
        origin = urlsplit(url).netloc
        for _ in range(self.max_redirects + 1):
            conn, target = self._connect(url)
            try:
                conn.request("GET", target, headers=headers)
                resp = conn.getresponse()
            except BaseException:
                conn.close()
                raise
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.getheader("Location")
                resp.read(65536)
                conn.close()
                if not location:
                    raise HttpStatusError(resp.status, "", "redirect without a Location", None, url)
                url = urljoin(url, location)
                if urlsplit(url).netloc != origin:
                    headers.pop("Authorization", None)
                continue
            if resp.status >= 400:
                error = HttpStatusError(resp.status, resp.getheader("X-Error-Code") or "",
                                        resp.getheader("X-Error-Message") or "",
                                        parse_retry_after(resp.getheader("Retry-After")), url)
                conn.close()
                raise error
            return self._ranged(resp, conn, start)
        raise HttpStatusError(310, "", "too many redirects", None, url)

    @staticmethod
    def _ranged(resp: http.client.HTTPResponse, conn: http.client.HTTPConnection, start: int) -> RangeResponse:
        length_header = resp.getheader("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        headers = {k.lower(): v for k, v in resp.getheaders()}
        if resp.status == 206:
            match = _RANGE_RE.match(resp.getheader("Content-Range") or "")
            if match is None:
                conn.close()
                raise HttpStatusError(206, "", "partial content without a valid Content-Range", None, "")
            total = None if match.group(3) == "*" else int(match.group(3))
            return RangeResponse(resp, conn, 206, int(match.group(1)), length, total, headers)
        # 200: the server ignored the Range header and sends the whole file from byte 0.
        return RangeResponse(resp, conn, resp.status, 0, length, length, headers)
