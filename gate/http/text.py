"""Pure text and header helpers shared by the HTTP clients (no I/O, no aiohttp).

One-line messages from untrusted text (`one_line`, re-exported from `gate.core.text`), sizes
for people, case-insensitive header lookup, `Retry-After`, RFC 8288 `Link` headers and
base-URL checks that never echo a secret.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from gate.core.text import one_line

__all__ = [
    "BaseUrl",
    "check_base_url",
    "credential_problem",
    "header",
    "human_size",
    "looks_like_html",
    "next_page_url",
    "one_line",
    "origin_of",
    "parse_retry_after",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def human_size(n: int) -> str:
    """`n` bytes as "32 MiB", "64 KiB" or "100 bytes"."""
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header `name`, looked up case-insensitively."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, val in headers.items():
        if key.lower() == lowered:
            return val
    return None


def looks_like_html(headers: Mapping[str, str], body: bytes) -> bool:
    """An HTML page (a proxy's or a login page) rather than the API's answer."""
    if "html" in (header(headers, "Content-Type") or "").lower():
        return True
    return body[:512].lstrip().startswith(b"<")


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date).

    Past dates and negative numbers give 0; absent or unparsable values give None.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if re.fullmatch(r"[+-]?\d+(\.\d+)?", text):
        seconds = float(text)
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    from email.utils import parsedate_to_datetime  # noqa: PLC0415 - rare path, costly import

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def _split_links(value: str) -> list[str]:
    """Split a Link header into its link-values (commas inside <...> or quotes are kept)."""
    parts: list[str] = []
    current: list[str] = []
    in_url = in_quotes = False
    for ch in value:
        if ch == "<" and not in_quotes:
            in_url = True
        elif ch == ">" and not in_quotes:
            in_url = False
        elif ch == '"' and not in_url:
            in_quotes = not in_quotes
        if ch == "," and not in_url and not in_quotes:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def next_page_url(link_header: str | None) -> str | None:
    """The target of the `rel="next"` link in a `Link` header (RFC 8288), or None."""
    if not link_header:
        return None
    for part in _split_links(link_header):
        match = re.match(r"\s*<([^>]*)>(.*)\Z", part, re.DOTALL)
        if match is None:
            continue
        target, params = match.group(1).strip(), match.group(2)
        for param in params.split(";"):
            key, sep, raw = param.partition("=")
            if not sep or key.strip().lower() != "rel":
                continue
            rels = raw.strip().strip('"').lower().split()
            if "next" in rels and target:
                return target
    return None


def origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an absolute http(s) URL, or None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except (TypeError, ValueError):
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port if port is not None else _DEFAULT_PORTS[scheme]


@dataclass(frozen=True, slots=True)
class BaseUrl:
    """A checked API base URL: `base` has no trailing slash, `host` is its authority."""

    base: str
    host: str

    @property
    def origin(self) -> tuple[str, str, int] | None:
        return origin_of(self.base)

    def url(self, path: str, query: str = "") -> str:
        """`base` + an already percent-encoded `path` (and query)."""
        return self.base + path + (f"?{query}" if query else "")


def check_base_url(api_url: str) -> BaseUrl | str:
    """The checked base URL, or a sentence saying what is wrong with it (never echoing
    credentials, a query or a fragment, which may hold secrets)."""
    text = api_url.strip() if isinstance(api_url, str) else ""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except (TypeError, ValueError):
        return f"{one_line(str(api_url), limit=80)!r} is not a URL"
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return f"{one_line(str(api_url), limit=80)!r} must be an http(s) URL with a host"
    if "@" in parts.netloc or parts.query or parts.fragment:
        return "the URL must not contain credentials, a query or a fragment"
    return BaseUrl(
        base=f"{parts.scheme.lower()}://{parts.netloc}{parts.path.rstrip('/')}", host=parts.netloc
    )


def credential_problem(value: str) -> str | None:
    """What is wrong with an API key or token (stripped), never quoting it; None if usable."""
    if not value:
        return "is empty"
    if not value.isascii() or not value.isprintable() or any(ch.isspace() for ch in value):
        return "contains spaces or non-ASCII characters"
    return None
