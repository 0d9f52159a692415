"""Which callback URLs the service may POST to: `EVAL_GATE_CALLBACK_ALLOW`, as pure values.

An operator lists URL prefixes, comma or space separated; none by default, so every callback
is refused until one is allowed: the service must not be a way into its own network. A URL and
each prefix are normalised the same way, and a URL that cannot be normalised unambiguously is
refused rather than guessed at:

- the scheme is http or https (any case);
- no `user:password@` (refused, never echoed), no `#fragment`; a prefix has no `?query`;
- no control characters, spaces or backslashes anywhere, no non-ASCII outside the host;
- the host is lower-case ASCII: a Unicode name in its IDNA form (UTS #46, as yarl and aiohttp
  read it), one trailing dot dropped; an IPv4 address only as a dotted quad (`127.1`,
  `0x7f.0.0.1` and `2130706433` are refused: resolvers read them as addresses); an IPv6
  address in brackets, compressed, without a zone;
- the port is explicit or the scheme's default (`https://h:443/` is `https://h/`);
- the path: escapes of unreserved characters decoded (`%62` is `b`), other escapes upper-case,
  `.` and `..` segments (also `%2E`) refused, an empty path is `/`.

A prefix allows a URL when their origins (scheme, host, port) are equal and the prefix's path
is the URL's path or ends at one of its segment boundaries: `https://hooks.example.com` never
allows `https://hooks.example.com.evil.net` nor `https://hooks.example.com@evil.net`, and
`https://h.example/cb` never allows `https://h.example/cbx`.

What is sent is what was checked: the worker POSTs to `CallbackUrl.url`, the normalised URL
built here, so no other parser (yarl's, a proxy's) gets to read the text differently. Messages
name a URL's origin only: its path or query may be a receiver's secret, and a refused URL may
hold credentials.

Pure: no DNS, no network, no environment (the reader of settings hands the text in).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

import idna

__all__ = [
    "ALLOW_SETTING",
    "MAX_URL_LENGTH",
    "AllowList",
    "CallbackRefused",
    "CallbackUrl",
    "check_callback_url",
    "parse_callback_url",
]

ALLOW_SETTING = "EVAL_GATE_CALLBACK_ALLOW"
MAX_URL_LENGTH = 2048  # characters of a callback URL (a client sends it: bounded before work)
MAX_HOST_LENGTH = 253
_DEFAULT_PORTS = {"http": 80, "https": 443}
_EXAMPLE = "https://hooks.example.com/eval-gate"

# RFC 3986, appendix B, on text already known to be printable ASCII (but the host).
_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)"
    r"(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?(?P<fragment>#.*)?",
    re.DOTALL,
)
_PORT = re.compile(r"[0-9]{1,5}")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PCHAR = _UNRESERVED | frozenset("!$&'()*+,;=:@")
_PATH_CHARS = _PCHAR | {"/", "%"}
_QUERY_CHARS = _PATH_CHARS | {"?"}
_ESCAPE = re.compile(r"%(?P<hex>[0-9A-Fa-f]{2})")
_SPLIT = re.compile(r"[\s,]+")


@dataclass(frozen=True, slots=True)
class CallbackRefused:
    """Why a callback URL is not used: one line saying what is wrong and how to fix it (or
    how an operator allows it). It names the URL's origin at most, never its path or query."""

    reason: str


@dataclass(frozen=True, slots=True)
class CallbackUrl:
    """A normalised absolute http(s) URL (see the module's docstring for the rules)."""

    scheme: str  # "http" or "https"
    host: str  # lower-case ASCII name, dotted IPv4, or "[IPv6]"
    port: int  # explicit or the scheme's default
    path: str  # normalised, starts with "/"
    query: str | None = field(default=None, repr=False)  # as given; may hold a receiver's token

    @property
    def origin(self) -> str:
        """`scheme://host[:port]` (the port only when not the scheme's default): all that
        messages and logs show of a callback URL."""
        port = "" if self.port == _DEFAULT_PORTS[self.scheme] else f":{self.port}"
        return f"{self.scheme}://{self.host}{port}"

    @property
    def url(self) -> str:
        """The URL to send to: exactly what was checked."""
        query = "" if self.query is None else f"?{self.query}"
        return f"{self.origin}{self.path}{query}"

    def under(self, prefix: CallbackUrl) -> bool:
        """Whether `prefix` allows this URL: same origin, and the prefix's path is this path
        or ends at one of its segment boundaries."""
        if (self.scheme, self.host, self.port) != (prefix.scheme, prefix.host, prefix.port):
            return False
        if prefix.path.endswith("/"):
            return self.path.startswith(prefix.path)
        return self.path == prefix.path or self.path.startswith(prefix.path + "/")


def _refused(problem: str) -> CallbackRefused:
    return CallbackRefused(f"the callback URL {problem}")


def _host(text: str) -> str | None:
    """The normalised host, or None when it is not a host name or an IP address we accept."""
    if text.startswith("["):
        if not text.endswith("]") or "%" in text:
            return None  # an IPv6 zone (fe80::1%eth0) names an interface of this machine
        try:
            return f"[{ipaddress.IPv6Address(text[1:-1]).compressed}]"
        except ValueError:
            return None  # also IPvFuture ([v1.x])
    if not text.isascii():
        try:
            text = idna.encode(text, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            return None
    host = text.lower()
    host = host.removesuffix(".")  # the same name, fully qualified
    if not host or len(host) > MAX_HOST_LENGTH:
        return None
    labels = host.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        # Ends in a number: a resolver reads it as an IPv4 address (127.1, 0x7f000001).
        try:
            return str(ipaddress.IPv4Address(host))  # strict: a dotted quad, no leading zeros
        except ValueError:
            return None
    if not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return host


def _normalise_escapes(part: str) -> str | None:
    """`part` with escapes of unreserved characters decoded and the others upper-case; None
    when a `%` starts no escape."""
    if part.count("%") != len(_ESCAPE.findall(part)):
        return None

    def one(match: re.Match[str]) -> str:
        char = chr(int(match.group("hex"), 16))
        return char if char in _UNRESERVED else f"%{match.group('hex').upper()}"

    return _ESCAPE.sub(one, part)


def parse_callback_url(text: str, *, prefix: bool = False) -> CallbackUrl | CallbackRefused:
    """`text` normalised, or why it cannot be. `prefix`: an allow-list entry (no query)."""
    if not isinstance(text, str) or not text.strip():
        return _refused("is empty")
    if len(text) > MAX_URL_LENGTH:
        return _refused(f"is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or not ch.isprintable() or ch == "\\" for ch in text):
        return _refused(
            "contains spaces, control characters or backslashes; percent-encode them in the path"
        )
    match = _URL.fullmatch(text)
    if match is None or match.group("scheme").lower() not in _DEFAULT_PORTS:
        return _refused(f"must be an absolute http(s) URL, e.g. {_EXAMPLE}")
    scheme = match.group("scheme").lower()
    authority, path = match.group("authority"), match.group("path")
    query, fragment = match.group("query"), match.group("fragment")
    if "@" in authority:
        if prefix:
            return _refused("must not contain user:password@")
        return _refused(
            "must not contain user:password@ (credentials in a URL end up in logs); a receiver "
            "checks the X-Eval-Gate-Signature-256 header instead"
        )
    if fragment is not None:
        return _refused("must not have a #fragment")
    if prefix and query is not None:
        return _refused("must not have a ?query (it is a prefix)")
    if not (path + (query or "")).isascii():
        return _refused("has non-ASCII characters in its path or query; percent-encode them")
    host_text, port_text = authority, ""
    if not authority.endswith("]") and ":" in authority:  # "[::1]" has colons but no port
        host_text, _, port_text = authority.rpartition(":")
    host = _host(host_text)
    if host is None:
        return _refused(
            "has no valid host: a DNS name, a dotted IPv4 address (a.b.c.d) or an IPv6 address "
            "in brackets"
        )
    port = _DEFAULT_PORTS[scheme]
    if port_text:
        if not _PORT.fullmatch(port_text) or not 0 < int(port_text) <= 65535:
            return _refused("has a port that is not a number from 1 to 65535")
        port = int(port_text)
    if not set(path) <= _PATH_CHARS or (query is not None and not set(query) <= _QUERY_CHARS):
        return _refused("has characters a URL's path or query cannot hold; percent-encode them")
    normal_path = _normalise_escapes(path)
    if normal_path is None or (query is not None and _normalise_escapes(query) is None):
        return _refused("has a '%' that does not start a %XX escape")
    normal_path = normal_path or "/"
    if any(segment in (".", "..") for segment in normal_path.split("/")):
        return _refused("has '.' or '..' segments in its path; write the path without them")
    return CallbackUrl(scheme, host, port, normal_path, query)


@dataclass(frozen=True, slots=True)
class AllowList:
    """The URL prefixes callbacks may go to (`EVAL_GATE_CALLBACK_ALLOW`); empty: none."""

    prefixes: tuple[CallbackUrl, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AllowList:
        """The prefixes in `text` (comma or space separated), or ValueError naming every
        entry that is not one by its number (an entry is never echoed: it may hold
        credentials)."""
        entries = [entry for entry in _SPLIT.split(text) if entry]
        prefixes: list[CallbackUrl] = []
        problems: list[str] = []
        for number, entry in enumerate(entries, start=1):
            parsed = parse_callback_url(entry, prefix=True)
            if isinstance(parsed, CallbackRefused):
                problem = parsed.reason.removeprefix("the callback URL ")
                problems.append(f"entry #{number} {problem}")
            else:
                prefixes.append(parsed)
        if problems:
            said = "; ".join(problems)
            if _EXAMPLE not in said:
                said += f" (write prefixes like {_EXAMPLE}, comma or space separated)"
            raise ValueError(f"has entries that are not URL prefixes: {said}")
        return cls(tuple(dict.fromkeys(prefixes)))

    def __str__(self) -> str:
        """The prefixes as normalised (no query ever: a prefix has none)."""
        return " ".join(prefix.url for prefix in self.prefixes)

    def check(self, url: str) -> CallbackUrl | CallbackRefused:
        """`check_callback_url(url, self)`."""
        return check_callback_url(url, self)


def check_callback_url(url: str, allow: AllowList) -> CallbackUrl | CallbackRefused:
    """The normalised URL when a prefix of `allow` allows it; else one line saying why not
    and how it would be allowed (naming the URL's origin at most)."""
    parsed = parse_callback_url(url)
    if isinstance(parsed, CallbackRefused):
        return parsed
    if any(parsed.under(prefix) for prefix in allow.prefixes):
        return parsed
    how = (
        f"an operator allows it by adding a prefix such as {parsed.origin}/ to {ALLOW_SETTING} "
        "(URL prefixes, comma or space separated)"
    )
    if not allow.prefixes:
        return CallbackRefused(
            f"callbacks are off on this server: {ALLOW_SETTING} lists no URL prefix; {how}"
        )
    origins = {prefix.origin for prefix in allow.prefixes}
    if parsed.origin not in origins:
        return CallbackRefused(f"the callback URL's origin {parsed.origin} is not allowed; {how}")
    return CallbackRefused(
        f"the callback URL's path is not under a prefix {ALLOW_SETTING} allows for "
        f"{parsed.origin}; use a URL under one, or an operator adds a prefix that covers it"
    )
