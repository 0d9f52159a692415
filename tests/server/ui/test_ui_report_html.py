"""A stored report as HTML a page can hold: GitHub's tables and strikethrough, nothing that
runs (markdown-it-py, then nh3)."""

from __future__ import annotations

import pytest

from gate.server.ui.report_html import MAX_REPORT_CHARS, report_html


def html(markdown: str) -> str:
    return report_html(markdown)[0]


def test_github_tables_and_strikethrough_render():
    out = html("| a | b |\n|:--|--:|\n| 1 | ~~2~~ |\n")
    assert '<th class="align-left">a</th>' in out
    assert '<td class="align-right"><s>2</s></td>' in out
    assert "style=" not in out


def test_the_report_s_own_html_folds_and_legend_survive():
    out = html("<details><summary>6 passing</summary>\n\n- x\n</details>\n\n<sub>legend</sub>")
    assert "<details><summary>6 passing</summary>" in out
    assert "<sub>legend</sub>" in out


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        "[x](javascript:alert(1))",
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<iframe src="https://evil.example"></iframe>',
        '<svg onload="alert(1)"></svg>',
        '<p style="background:url(javascript:alert(1))">x</p>',
        '<form action="https://evil.example"><input name=token></form>',
        "<style>body{display:none}</style>",
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
        '<details open ontoggle="alert(1)"><summary>x</summary></details>',
        "<!-- <script>alert(1)</script> -->",
        '<base href="https://evil.example/">',
        '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    ],
)
def test_nothing_from_a_report_can_run(hostile):
    out = html(f"# report\n\n{hostile}\n").lower()
    for bad in ("<script", "onerror", "onload", "ontoggle", "javascript:", "<iframe", "<svg"):
        assert bad not in out.replace("[x](javascript:alert(1))", ""), (hostile, out)
    for bad in ("<form", "<input", "<style", "style=", "<img", "<base", "<meta", "data:"):
        assert bad not in out, (hostile, out)


def test_links_get_a_rel_that_cuts_the_opener_and_the_referrer():
    out = html("[site](https://example.com/)")
    assert 'href="https://example.com/"' in out
    assert 'rel="noopener noreferrer nofollow"' in out


def test_a_report_longer_than_the_bound_is_cut_and_says_so():
    long = "x" * (MAX_REPORT_CHARS + 10)
    out, cut = report_html(long)
    assert cut
    assert len(out) < MAX_REPORT_CHARS + 100
    assert report_html("short")[1] is False
