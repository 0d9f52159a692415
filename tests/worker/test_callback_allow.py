"""Which callback URLs the service may call (`EVAL_GATE_CALLBACK_ALLOW`): a table of URLs that
are allowed (and how they are normalised), a table of hostile URLs that are not, the segment
boundary, the words of a refusal, and properties over generated URLs: whatever is allowed is,
read by yarl (aiohttp's parser) and by urllib, on an allowed origin."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from yarl import URL

from gate.worker import (
    ALLOW_SETTING,
    AllowList,
    CallbackRefused,
    CallbackUrl,
    check_callback_url,
    parse_callback_url,
)

ALLOW = AllowList.parse("https://hooks.example.com, https://h.example/cb http://127.0.0.1:9000/in/")
PASSWORD = "p4ssw0rd-Zq8Wx7Ev"
BOUNDED = settings(max_examples=300, deadline=None, database=None)


def allowed(url: str) -> CallbackUrl:
    checked = check_callback_url(url, ALLOW)
    assert isinstance(checked, CallbackUrl), checked
    return checked


def refused(url: str, allow: AllowList = ALLOW) -> str:
    checked = check_callback_url(url, allow)
    assert isinstance(checked, CallbackRefused), f"{url!r} was allowed as {checked}"
    assert "\n" not in checked.reason
    return checked.reason


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("https://hooks.example.com", "https://hooks.example.com/"),
        (
            "https://hooks.example.com/any/path?x=1&y=%20",
            "https://hooks.example.com/any/path?x=1&y=%20",
        ),
        ("HTTPS://HOOKS.Example.COM:443/a", "https://hooks.example.com/a"),
        ("https://hooks.example.com:/a", "https://hooks.example.com/a"),
        ("https://hooks.example.com:00443/a", "https://hooks.example.com/a"),
        ("https://hooks.example.com./a", "https://hooks.example.com/a"),
        ("https://hooks.example\u3002com/a", "https://hooks.example.com/a"),  # ideographic stop
        ("https://\uff48\uff4f\uff4f\uff4b\uff53.example.com/a", "https://hooks.example.com/a"),
        ("https://h.example/cb", "https://h.example/cb"),
        ("https://h.example/cb/", "https://h.example/cb/"),
        ("https://h.example/cb/x/y", "https://h.example/cb/x/y"),
        ("https://h.example/cb?to=team", "https://h.example/cb?to=team"),
        ("https://h.example/c%62/x", "https://h.example/cb/x"),
        ("https://h.example/cb/%7euser", "https://h.example/cb/~user"),
        ("https://h.example/cb/a%2fb", "https://h.example/cb/a%2Fb"),
        ("https://h.example/cb/a..b/.x", "https://h.example/cb/a..b/.x"),
        ("http://127.0.0.1:9000/in/x", "http://127.0.0.1:9000/in/x"),
    ],
)
def test_an_allowed_url_is_sent_as_normalised(url, sent):
    assert allowed(url).url == sent


@pytest.mark.parametrize(
    ("url", "why"),
    [
        # another origin that starts with, ends with or hides an allowed one
        ("https://hooks.example.com.evil.net/", "origin https://hooks.example.com.evil.net"),
        ("https://evil-hooks.example.com/", "origin https://evil-hooks.example.com"),
        ("https://hooks.example.co/", "origin https://hooks.example.co "),
        ("http://hooks.example.com/", "origin http://hooks.example.com "),
        ("https://hooks.example.com:8443/", "origin https://hooks.example.com:8443"),
        (
            "https://hooks.ex\u0430mple.com/",
            "origin https://hooks.xn--exmple-4nf.com",
        ),  # Cyrillic a
        ("http://127.0.0.1:9001/in/", "origin http://127.0.0.1:9001"),
        ("http://localhost:9000/in/", "origin http://localhost:9000"),
        ("http://[::1]:9000/in/", "origin http://[::1]:9000"),
        ("http://[::ffff:127.0.0.1]:9000/in/", "origin http://[::ffff:7f00:1]:9000"),
        # userinfo: the host is the part after the @
        ("https://hooks.example.com@evil.net/", "user:password@"),
        (f"https://hooks.example.com:{PASSWORD}@evil.net/", "user:password@"),
        (f"https://user:{PASSWORD}@hooks.example.com/", "user:password@"),
        ("https://hooks.example.com%40evil.net/", "no valid host"),
        ("https://hooks.example.com\uff20evil.net/", "no valid host"),  # full-width @
        # a fragment, backslashes, spaces and control characters: parsers disagree on them
        ("https://evil.net#@hooks.example.com/", "#fragment"),
        ("https://hooks.example.com/#x", "#fragment"),
        ("https://evil.net\\@hooks.example.com/", "backslashes"),
        ("https://hooks.example.com\\.evil.net/", "backslashes"),
        ("https://hooks.example.com /", "spaces"),
        ("https://hooks.exa\tmple.com/", "control characters"),
        ("https://hooks.example.com/\n", "control characters"),
        ("https://hooks.example.com\u202e/", "control characters"),  # bidi override
        # paths: segment boundary, dot segments, escapes
        ("https://h.example/cbx", "path is not under"),
        ("https://h.example/c", "path is not under"),
        ("https://h.example/", "path is not under"),
        ("https://h.example/CB", "path is not under"),
        ("https://h.example/cb%2Fx", "path is not under"),
        ("https://h.example/cb;x", "path is not under"),
        ("http://127.0.0.1:9000/in", "path is not under"),
        ("https://h.example/cb/../admin", "'..' segments"),
        ("https://h.example/cb/./x", "'..' segments"),
        ("https://h.example/cb/%2e%2E/admin", "'..' segments"),
        ("https://h.example/cb/..", "'..' segments"),
        ("https://h.example/cb/%zz", "%XX escape"),
        ("https://h.example/cb/%2", "%XX escape"),
        ("https://h.example/cb/caf\u00e9", "non-ASCII"),
        ("https://h.example/cb/<x>", "percent-encode them"),
        # hosts a resolver reads as addresses, and hosts that are not hosts
        ("http://2130706433:9000/in/", "no valid host"),
        ("http://0x7f000001:9000/in/", "no valid host"),
        ("http://127.1:9000/in/", "no valid host"),
        ("http://0x7f.0.0.1:9000/in/", "no valid host"),
        ("http://127.0.0.01:9000/in/", "no valid host"),
        ("http://127.0.0.1.:9000/in/x", None),  # the same dotted quad: allowed
        ("http://[fe80::1%25eth0]/", "no valid host"),
        ("http://[v1.x]/", "no valid host"),
        ("http://[::1/", "no valid host"),
        ("https:///hooks.example.com/", "no valid host"),
        ("https://hooks..example.com/", "no valid host"),
        ("https://-hooks.example.com/", "no valid host"),
        ("https://hooks.example.com:443:80/", "no valid host"),
        ("https://" + "a" * 64 + ".example.com/", "no valid host"),
        # ports
        ("https://hooks.example.com:0/", "port"),
        ("https://hooks.example.com:65536/", "port"),
        ("https://hooks.example.com:+443/", "port"),
        ("https://hooks.example.com:\u0664\u0664\u0663/", "port"),  # Arabic-Indic digits
        # not an absolute http(s) URL
        ("", "is empty"),
        ("   ", "is empty"),
        ("//hooks.example.com/", "absolute http(s) URL"),
        ("hooks.example.com/", "absolute http(s) URL"),
        ("https:hooks.example.com/", "absolute http(s) URL"),
        ("ftp://hooks.example.com/", "absolute http(s) URL"),
        ("file:///etc/passwd", "absolute http(s) URL"),
        ("javascript://hooks.example.com/%0aalert(1)", "absolute http(s) URL"),
        ("https://hooks.example.com/" + "a" * 2100, "longer than 2048"),
    ],
)
def test_a_hostile_url_is_refused_saying_why(url, why):
    if why is None:
        assert allowed(url)
        return
    reason = refused(url)
    assert why in reason
    assert PASSWORD not in reason
    assert len(reason) < 300


@pytest.mark.parametrize(
    ("prefix", "path", "allows"),
    [
        ("/cb", "/cb", True),
        ("/cb", "/cb/", True),
        ("/cb", "/cb/x", True),
        ("/cb", "/cb//x", True),
        ("/cb", "/cbx", False),
        ("/cb", "/c", False),
        ("/cb", "/cb.x", False),
        ("/cb/", "/cb", False),
        ("/cb/", "/cb/", True),
        ("/cb/", "/cb/x", True),
        ("", "/anything/at/all", True),
        ("/", "/", True),
        ("/a/b", "/a/b/c", True),
        ("/a/b", "/a/bc", False),
        ("/a/b", "/a", False),
    ],
)
def test_a_prefix_matches_at_a_segment_boundary(prefix, path, allows):
    allow = AllowList.parse(f"https://h.example{prefix}")
    assert isinstance(check_callback_url(f"https://h.example{path}", allow), CallbackUrl) is allows


def test_with_no_prefix_every_callback_is_refused_saying_how_to_allow_it():
    reason = refused("https://hooks.example.com/cb", AllowList())
    assert reason == (
        "callbacks are off on this server: EVAL_GATE_CALLBACK_ALLOW lists no URL prefix; an "
        "operator allows it by adding a prefix such as https://hooks.example.com/ to "
        "EVAL_GATE_CALLBACK_ALLOW (URL prefixes, comma or space separated)"
    )
    assert AllowList.parse("") == AllowList.parse(" , ,") == AllowList()


def test_a_refusal_names_the_origin_never_the_path_or_the_query():
    secret_path = "https://evil.net:8443/services/T0AAA/B0BBB/XyZsecretpart?token=abc123def"
    reason = refused(secret_path)
    assert reason == (
        "the callback URL's origin https://evil.net:8443 is not allowed; an operator allows it "
        f"by adding a prefix such as https://evil.net:8443/ to {ALLOW_SETTING} (URL prefixes, "
        "comma or space separated)"
    )
    reason = refused("https://h.example/other/XyZsecretpart?token=abc123def")
    assert reason == (
        "the callback URL's path is not under a prefix EVAL_GATE_CALLBACK_ALLOW allows for "
        "https://h.example; use a URL under one, or an operator adds a prefix that covers it"
    )
    assert "secret" not in repr(allowed("https://h.example/cb?token=abc123def"))
    assert "abc123def" not in repr(allowed("https://h.example/cb?token=abc123def"))


def test_the_allow_list_reads_prefixes_separated_by_commas_or_spaces():
    allow = AllowList.parse(" https://A.example/x,https://b.example\n\thttps://a.example:443/x ")
    assert str(allow) == "https://a.example/x https://b.example/"
    assert [p.origin for p in allow.prefixes] == ["https://a.example", "https://b.example"]


def test_an_allow_list_entry_that_is_not_a_prefix_stops_the_reading_naming_it_by_number():
    with pytest.raises(ValueError, match="has entries that are not URL prefixes") as caught:
        AllowList.parse(
            f"https://ok.example, https://me:{PASSWORD}@hooks.example.com "
            "https://h.example/cb?x=1 https://h.example/#x ftp://h.example https://h.example/../a"
        )
    message = str(caught.value)
    assert PASSWORD not in message
    assert "entry #2 must not contain user:password@;" in message
    assert "entry #3 must not have a ?query (it is a prefix)" in message
    assert "entry #4 must not have a #fragment" in message
    assert "entry #5 must be an absolute http(s) URL, e.g. https://hooks.example.com/eval-gate" in (
        message
    )
    assert "entry #6 has '.' or '..' segments" in message
    assert "entry #1" not in message


# --- properties over generated URLs -----------------------------------------------------------

# Characters that make URL parsers disagree, letters that IDNA maps, and a few plain ones.
TRICKY = "aAhH0179.:/@#?%\\[]-_~;=+ \t\n\u3002\uff0e\uff20\uff0f\u2100\u0430\u00df\u200b"


def origin_by_yarl(url: str) -> tuple[str, str | None, int | None]:
    parsed = URL(url, encoded=True)
    return parsed.scheme, parsed.raw_host, parsed.port


@BOUNDED
@given(st.text(max_size=120))
def test_any_text_is_allowed_or_refused_in_one_line_never_an_exception(text):
    checked = check_callback_url(text, ALLOW)
    if isinstance(checked, CallbackRefused):
        assert "\n" not in checked.reason
        assert len(checked.reason) < 300


@BOUNDED
@given(
    st.sampled_from(
        ["https://hooks.example.com", "https://h.example/cb", "http://127.0.0.1:9000/in/"]
    ),
    st.text(alphabet=TRICKY, max_size=30),
)
def test_whatever_is_allowed_goes_to_an_allowed_origin_whoever_parses_it(prefix, suffix):
    checked = check_callback_url(prefix + suffix, ALLOW)
    if isinstance(checked, CallbackRefused):
        return
    sent = checked.url
    origins = {(p.scheme, p.host, p.port) for p in ALLOW.prefixes}
    assert origin_by_yarl(sent) in origins
    split = urlsplit(sent)
    assert (split.scheme, split.hostname, split.port or checked.port) in origins
    assert any(checked.under(p) for p in ALLOW.prefixes)
    assert "#" not in sent
    assert "@" not in split.netloc


@BOUNDED
@given(st.text(alphabet=TRICKY, max_size=40))
def test_a_normalised_url_normalises_to_itself(rest):
    parsed = parse_callback_url("https://" + rest)
    if isinstance(parsed, CallbackUrl):
        assert parse_callback_url(parsed.url) == parsed
        assert origin_by_yarl(parsed.url) == (parsed.scheme, parsed.host, parsed.port)


SEGMENTS = st.lists(st.text(alphabet="ab.", min_size=1, max_size=3), max_size=4)


def dotted(segments: list[str]) -> bool:
    return any(segment in (".", "..") for segment in segments)


@BOUNDED
@given(SEGMENTS.filter(lambda s: not dotted(s)), SEGMENTS)
def test_a_prefix_allows_exactly_the_paths_that_start_with_its_segments(prefix, path):
    allow = AllowList.parse("https://h.example/" + "/".join(prefix))
    checked = check_callback_url("https://h.example/" + "/".join(path), allow)
    if dotted(path):
        assert isinstance(checked, CallbackRefused)
    else:
        assert isinstance(checked, CallbackUrl) is (path[: len(prefix)] == prefix)
