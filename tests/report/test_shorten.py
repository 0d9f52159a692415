"""Shortening Markdown that was not built to fit (gate.report.shorten): whole lines, blocks
closed, a note; and the one wording of where the full report is."""

from __future__ import annotations

from gate.report.shorten import full_report_hint, shorten_markdown, summary_note


def test_shorten_keeps_a_whole_fence_when_it_fits():
    text = "intro\n```\ncode\ncode\ncode\n```\n" + "after\n" * 40
    assert shorten_markdown(text, 36, "[N]") == "intro\n```\ncode\ncode\ncode\n```\n[N]"


def test_shorten_prefers_a_cut_outside_a_fence():
    text = "a" * 20 + "\n```\n" + "c\n" * 10 + "```\n"
    # A cut inside the fence would keep 31 bytes, the one before it 21: more than half.
    assert shorten_markdown(text, 38, "[N]") == "a" * 20 + "\n[N]"


def test_shorten_closes_the_fence_when_the_safe_cut_keeps_too_little():
    text = "intro\n```\ncode\ncode\ncode\n```\n" + "after\n" * 40
    assert shorten_markdown(text, 30, "[N]") == "intro\n```\ncode\ncode\n```\n[N]"


def test_shorten_closes_blocks_innermost_first():
    text = "<details><summary>all</summary>\n\n```python\n" + "x = 1\n" * 100 + "```\n</details>\n"
    cut = shorten_markdown(text, 200, "[N]")
    assert cut is not None and len(cut.encode()) <= 200
    assert cut.endswith("x = 1\n```\n\n</details>\n[N]")
    assert cut.count("x = 1") == 23


def test_shorten_tracks_tilde_fences_longer_closers_and_comments():
    text = "~~~~\n```\nstill code\n~~~~~\n<!-- hidden\n<details>\n-->\nend\n" + "z\n" * 50
    # The fence opened by ~~~~ is closed by ~~~~~ (not by ```): a cut after it is safe.
    assert shorten_markdown(text, 30, "!") == text[:26] + "!"
    # Inside the comment: the safe cut before it keeps more than half.
    assert shorten_markdown(text, 50, "!") == text[:26] + "!"
    # Inside the fence with nothing safe to keep: close it with its own marker.
    assert shorten_markdown(text, 20, "!") == "~~~~\n```\n~~~~\n!"
    # <details> inside the comment opens nothing: after the comment everything is closed.
    assert shorten_markdown(text, 60, "!") == text[:58] + "!"


def test_shorten_never_cuts_inside_a_line():
    text = "".join(f"line {i} " + "w" * (i % 37) + "\n" for i in range(500))
    for size in (10, 100, 999, 5000):
        cut = shorten_markdown(text, size, "#")
        assert cut is not None
        body = cut[:-1]
        assert text.startswith(body)
        assert body == "" or body.endswith("\n")


def test_shorten_returns_none_when_the_note_does_not_fit():
    assert shorten_markdown("abc\n", 3, "note") is None
    assert shorten_markdown("abc\n", 4, "note") == "note"


def test_the_notes_say_where_the_full_report_is_in_one_wording():
    assert full_report_hint("`r.md`") == "The full report is in `r.md`."
    assert summary_note(".eval-gate/g/report.md") == (
        "\n…summary truncated: the full report is in `.eval-gate/g/report.md`\n"
    )
    assert summary_note(None) == (
        "\n…summary truncated: the full report did not fit in the 1 MiB job summary\n"
    )
