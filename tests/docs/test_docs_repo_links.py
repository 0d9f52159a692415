"""A docs page links to a repository file outside docs/ as GitHub reads it (relative to the
page); the site's build (tools/docs_repo_links.py, an MkDocs hook) points the link into the
repository, and a link to a path the repository does not have is a problem that fails
`mkdocs build --strict`."""

from __future__ import annotations

from tools.docs_repo_links import rewrite

URL = "https://github.com/your-org/eval-gate"
REPO = {"examples/eval-gate.yml": "file", "bench/README.md": "file", "examples/workflows": "dir"}


def point(markdown: str, page: str = "configuration.md") -> tuple[str, list[str]]:
    return rewrite(markdown, page, kind=REPO.get, repo_url=URL)


def test_a_link_to_a_repository_file_points_into_the_repository():
    text, problems = point("see [the example](../examples/eval-gate.yml).")
    assert text == f"see [the example]({URL}/blob/main/examples/eval-gate.yml)."
    assert problems == []


def test_a_link_from_a_nested_page_to_a_folder_points_at_the_tree_with_its_fragment():
    text, problems = point("[w](../../examples/workflows/) [b](../../bench/README.md#x)", "a/b.md")
    assert text == f"[w]({URL}/tree/main/examples/workflows) [b]({URL}/blob/main/bench/README.md#x)"
    assert problems == []


def test_a_link_to_a_path_the_repository_does_not_have_is_a_problem():
    text, problems = point("[gone](../examples/nope.yml)")
    assert text == "[gone](../examples/nope.yml)"
    assert problems == [
        "../examples/nope.yml points to examples/nope.yml, which is not in the repository"
    ]


def test_a_link_out_of_the_repository_is_a_problem():
    _, problems = point("[up](../../elsewhere.md)")
    assert problems == ["../../elsewhere.md leaves the repository"]


def test_links_mkdocs_checks_itself_are_left_alone():
    markdown = (
        "[page](reports.md#the-trend-chart) [here](#rules) ![pic](comment-300-classes.png) "
        "[web](https://roboflow.com) [mail](mailto:a@b.c)"
    )
    assert point(markdown) == (markdown, [])


def test_links_inside_fenced_code_are_text():
    markdown = "```md\n[gone](../examples/nope.yml)\n```\n[ok](../examples/eval-gate.yml)"
    text, problems = point(markdown)
    assert text.split("\n")[:3] == ["```md", "[gone](../examples/nope.yml)", "```"]
    assert text.endswith(f"({URL}/blob/main/examples/eval-gate.yml)")
    assert problems == []


def test_without_a_repository_address_a_link_out_of_docs_is_a_problem():
    _, problems = rewrite("[x](../examples/eval-gate.yml)", "index.md", kind=REPO.get, repo_url="")
    assert problems == [
        "../examples/eval-gate.yml: set repo_url in mkdocs.yml to link into the repository"
    ]
