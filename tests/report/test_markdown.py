"""Escaping of untrusted text for Markdown/HTML (gate.report.markdown)."""

from __future__ import annotations

import html
import random
import re

import pytest

from gate.report.markdown import md_code, md_text, md_url, public_url

NASTY = [
    "plain",
    "a|b",
    "<script>alert(1)</script>",
    "@team",
    "ping @org/team now",
    "(@someone)",
    "`code` and ``more``",
    "*bold* _it_ ~~strike~~ **x**",
    "[link](https://evil.example)",
    "![img](x.png)",
    "# heading",
    "line1\nline2\r\nline3\ttab",
    "nul\x00bell\x07esc\x1b[31mred\x7fdel\x85nel",
    "amp & lt < gt > quote \" apos '",
    "&amp; &#64; &lt;",
    "back\\slash \\| \\`",
    "$x^2$ math",
    "bidi \u202eevil\u202c",
    "emoji 🐶 and ümlaut and 日本語",
    "lone \ud800 surrogate",
    "",
    " ",
    "|||",
    "<!-- comment -->",
    "<details><summary>x</summary>",
    "https://evil.example/login?next=www.x.com #12",
]


def _unescaped(text: str, char: str) -> int:
    """How many times `char` appears in `text` not escaped by a backslash."""
    count = 0
    index = 0
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == char:
            count += 1
        index += 1
    return count


def _render_inline(escaped: str) -> str:
    """What a reader sees: backslash escapes and entities resolved, the zero-width space gone."""
    unslashed = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", escaped)
    return html.unescape(unslashed).replace("\u200b", "")


@pytest.mark.parametrize("name", NASTY)
def test_md_text_is_safe_in_a_table_cell(name):
    cell = md_text(name)
    assert _unescaped(cell, "|") == 0
    assert _unescaped(cell, "`") == 0
    assert "<" not in cell
    assert ">" not in cell
    assert "\n" not in cell
    assert "\r" not in cell
    assert not re.search(r"(?<![A-Za-z0-9])@\w", cell)
    assert all(ch == " " or ch.isprintable() or ch == "\u200b" for ch in cell)
    row = f"| {cell} | x |"
    assert _unescaped(row, "|") == 3


@pytest.mark.parametrize("name", NASTY)
def test_md_text_reads_the_same_once_rendered(name):
    cleaned = "".join(
        " " if ch in "\r\n\t\x85" else ch
        for ch in name
        if ch.isprintable() or ch in "\r\n\t\x85" or ch == " "
    )
    cleaned = re.sub("[\u202a-\u202e\ud800-\udfff]", "", cleaned)
    assert _render_inline(md_text(name)) == cleaned


def test_md_text_escapes_every_markdown_special():
    for char in "\\`*_[]()#~!|$":
        assert md_text(char) == "\\" + char


def test_md_text_html_escapes():
    assert md_text('& < > "') == "&amp; &lt; &gt; &quot;"
    assert md_text("<script>") == "&lt;script&gt;"


def test_md_text_line_breaks_and_controls():
    assert md_text("a\nb\r\nc\td") == "a b  c d"
    assert md_text("a\x00b\x1bc\x7fd") == "abcd"
    assert md_text("a\u202eb") == "ab"


def test_md_text_breaks_mentions_but_not_emails_or_metric_names():
    assert md_text("@team") == "&#64;&#8203;team"
    assert md_text("hi @team") == "hi &#64;&#8203;team"
    assert md_text("x_@team") == "x\\_&#64;&#8203;team"
    assert md_text("mAP@50:95") == "mAP@50:95"
    assert md_text("me@example.com") == "me@example.com"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("https://evil.example/login", "https&#8203;://evil.example/login"),
        ("see HTTP://x.io", "see HTTP&#8203;://x.io"),
        ("ftp://files", "ftp&#8203;://files"),
        ("www.evil.com", "www&#8203;.evil.com"),
        ("(www.x.y)", "\\(www&#8203;.x.y\\)"),
        ("fixes #12", "fixes \\#&#8203;12"),
        ("#1#2", "\\#&#8203;1\\#&#8203;2"),
        # not links: left alone
        ("xhttp://a", "xhttp://a"),
        ("awww.b", "awww.b"),
        ("www", "www"),
        ("# heading", "\\# heading"),
        ("e.g. 1:2", "e.g. 1:2"),
    ],
)
def test_md_text_breaks_what_github_would_link_by_itself(text, escaped):
    assert md_text(text) == escaped
    assert _render_inline(md_text(text)) == text


def test_md_text_fuzz_keeps_table_cells_intact():
    rng = random.Random(1234)
    alphabet = "ab |\\`*_[]()#~!<>&\"'@\n\r\t\x00\x1b é🐶$"
    for _ in range(2000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        cell = md_text(name)
        assert _unescaped(f"| {cell} |", "|") == 2, name
        assert _unescaped(cell, "`") == 0, name
        assert "<" not in cell
        assert "\n" not in cell


def test_md_code():
    assert md_code("abc123") == "`abc123`"
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x") == "`` `x ``"
    assert md_code("a``b`c") == "```a``b`c```"
    assert md_code("two\nlines") == "`two lines`"
    assert md_code("") == "` `"
    # nothing is escaped inside a code span: it would show literally
    assert md_code("a_b*c<d>") == "`a_b*c<d>`"


def test_md_url():
    url = 'https://app.roboflow.com/ws/evals/a b(c)<d>"e"|f`g\\h?x=1&y=2'
    safe = md_url(url)
    assert safe == (
        "https://app.roboflow.com/ws/evals/a%20b%28c%29%3Cd%3E%22e%22%7Cf%60g%5Ch?x=1&amp;y=2"
    )
    assert md_url("caf\u00e9") == "caf%C3%A9"
    assert md_url("a%20b%zz%") == "a%20b%25zz%25"
    assert md_url("seg ment") == "seg%20ment"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://app.roboflow.com/ws/models/evals/abc",
            "https://app.roboflow.com/ws/models/evals/abc",
        ),
        ("http://localhost:8080/x?page=2", "http://localhost:8080/x?page=2"),
        (" https://example.com/a ", "https://example.com/a"),
        (None, None),
        ("", None),
        ("javascript:alert(1)", None),
        ("ftp://example.com/x", None),
        ("/relative/path", None),
        ("https://user:pass@example.com/", None),
        ("https://api.roboflow.com/ws/x?api_key=SECRET", None),
        ("https://example.com/x?access_token=SECRET", None),
        ("https://example.com/x#token=SECRET", None),
        ("https://example.com/x?sig=abc", None),
    ],
)
def test_public_url(url, expected):
    assert public_url(url) == expected
