"""What the history pages show, from stored gates: the pure view functions."""

from __future__ import annotations

import dataclasses

import pytest

from gate.server.settings import ServerSettings, github_web_url
from gate.server.ui.views import (
    Filters,
    duration_text,
    evaluations_of,
    gate_view,
    headline_view,
    list_view,
    parse_filters,
    repository_ok,
    safe_next,
)
from gate.store.transaction import gate_values
from gate.store.values import GateRow, NewGate
from tests.server.ui.helpers import HOUR, T0

GITHUB = "https://github.com"


def row(**changes) -> GateRow:
    values = gate_values(
        NewGate(request={"evals": ["e-1"]}, max_wait_ms=HOUR, repository="o/r", pull_number=7),
        T0,
    )
    values.update(request={"evals": ["e-1"]})
    gate = GateRow(**values)
    return dataclasses.replace(gate, **changes)


@pytest.mark.parametrize(
    ("repository", "ok"),
    [
        ("octo-org/octo-repo", True),
        ("o/r.js", True),
        ("a" * 39 + "/x", True),
        ("a" * 40 + "/x", False),
        ("-o/r", False),
        ("o/..", False),
        ("o/r/extra", False),
        ("o", False),
        ('"><img src=x>/r', False),
        ("javascript:alert(1)//x", False),
        (None, False),
    ],
)
def test_only_an_owner_name_repository_becomes_a_link(repository, ok):
    assert repository_ok(repository) is ok


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/ui/gates/gt_1", "/ui/gates/gt_1"),
        ("/ui/?status=done&verdict=fail", "/ui/?status=done&verdict=fail"),
        ("https://evil.example/ui/", "/ui/"),
        ("//evil.example/", "/ui/"),
        ("/ui//evil.example", "/ui/"),
        ("/ui/\\evil", "/ui/"),
        ("/v1/gate", "/ui/"),
        ("/ui/\nSet-Cookie: x", "/ui/"),
        (None, "/ui/"),
    ],
)
def test_after_a_login_a_browser_goes_only_to_a_page_of_the_history(target, expected):
    assert safe_next(target) == expected


def test_filters_are_read_and_normalised():
    filters = parse_filters(
        {"repository": " o/r ", "pull": "#07", "status": "waiting", "verdict": "fail"}
    )
    assert filters == Filters("o/r", "7", "waiting", "fail", None, ())
    assert filters.pull_number == 7
    assert filters.query(cursor="abc") == (
        "repository=o%2Fr&pull=7&status=waiting&verdict=fail&cursor=abc"
    )
    assert parse_filters({}) == Filters()
    assert not parse_filters({}).active


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"repository": "<script>"}, "repository: write it as owner/name"),
        ({"repository": "o/r", "pull": "0"}, "pull request: a number"),
        ({"repository": "o/r", "pull": "99999999999"}, "pull request: a number"),
        ({"repository": "o/r", "pull": "٣"}, "pull request: a number"),
        ({"pull": "3"}, "give its repository too"),
        ({"status": "DONE"}, "status: one of queued, waiting, done"),
        ({"verdict": "ok"}, "verdict: one of pass, warn, fail"),
        ({"cursor": "x" * 129}, "page link is not valid"),
    ],
)
def test_a_filter_that_is_not_valid_is_a_problem_and_is_not_applied(params, problem):
    filters = parse_filters(params)
    assert len(filters.problems) == 1
    assert problem in filters.problems[0]
    assert "<script>" not in filters.problems[0]


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0 s"),
        (45_000, "45 s"),
        (12 * 60_000, "12 min"),
        (3 * HOUR, "3 h"),
        (3 * HOUR + 5 * 60_000, "3 h 5 min"),
        (52 * HOUR, "2 d 4 h"),
        (48 * HOUR, "2 d"),
        (-5, "0 s"),
    ],
)
def test_durations_read_like_a_person_says_them(ms, text):
    assert duration_text(ms) == text


def test_the_headline_shows_value_baseline_and_a_signed_delta():
    down = headline_view({"metric": "map50", "value": 0.712, "baseline": 0.725, "delta": -0.013})
    assert (down.value, down.baseline, down.delta, down.direction) == (
        "0.712",
        "0.725",
        "\u22120.013",
        "down",
    )
    up = headline_view({"metric": "map50", "value": 0.8, "baseline": 0.79, "delta": None})
    assert (up.delta, up.direction) == ("+0.010", "up")
    same = headline_view({"metric": "m", "value": 0.5, "baseline": 0.5, "delta": 0.0})
    assert (same.delta, same.direction) == ("\u00b10.000", "same")
    alone = headline_view({"metric": "m", "value": 0.5, "baseline": None})
    assert (alone.delta, alone.baseline, alone.summary) == (None, None, "m 0.500")


@pytest.mark.parametrize(
    "headline",
    [
        None,
        "map50",
        {"metric": "map50"},
        {"metric": "map50", "value": None},
        {"metric": "map50", "value": float("nan")},
        {"metric": "map50", "value": True},
        {"metric": "map50", "value": "0.9"},
        {"metric": "", "value": 0.9},
    ],
)
def test_a_headline_without_a_real_number_shows_nothing_never_a_made_up_value(headline):
    assert headline_view(headline) is None


def test_a_gate_s_links_go_to_its_pull_request_and_check_run():
    view = gate_view(
        row(check_run_id=99, status="done", finished_at=T0 + 65_000, verdict="fail"),
        now_ms=T0 + HOUR,
        github_web_url=GITHUB,
    )
    assert view.pull_url == "https://github.com/o/r/pull/7"
    assert view.check_run_url == "https://github.com/o/r/runs/99"
    assert view.page_url == f"/ui/gates/{view.id}"
    assert (view.outcome, view.outcome_class, view.waited) == ("fail", "fail", "1 min")


def test_a_gate_with_a_hostile_repository_gets_no_link():
    view = gate_view(
        row(repository='"><script>alert(1)</script>', check_run_id=1),
        now_ms=T0,
        github_web_url=GITHUB,
    )
    assert view.repository_url is view.pull_url is view.check_run_url is None


def test_an_active_gate_says_how_long_it_has_waited():
    view = gate_view(row(status="waiting"), now_ms=T0 + 3 * HOUR, github_web_url=GITHUB)
    assert view.waited == "waiting 3 h"
    assert (view.outcome, view.outcome_class) == ("waiting", "waiting")
    timed_out = gate_view(
        row(status="timed_out", finished_at=T0 + HOUR), now_ms=T0, github_web_url=GITHUB
    )
    assert (timed_out.outcome, timed_out.outcome_class) == ("timed out", "timed-out")


def test_evaluations_come_from_the_result_else_from_the_request():
    result = {"evals": [{"label": "rim v2", "id": "e-2", "url": "https://app.roboflow.com/x"}]}
    assert [(e.label, e.url) for e in evaluations_of(row(result=result))] == [
        ("rim v2", "https://app.roboflow.com/x")
    ]
    hostile = {"evals": [{"label": "x", "url": "javascript:alert(1)"}, {"url": "http://a/"}]}
    assert [(e.label, e.url) for e in evaluations_of(row(result=hostile))] == [
        ("x", None),
        ("?", None),
    ]
    asked = row(request={"evals": ["e-1", {"model": "m/3", "name": "rim"}, {"version": "v/4"}]})
    assert [e.label for e in evaluations_of(asked)] == ["e-1", "rim (model m/3)", "version v/4"]
    view = gate_view(
        row(request={"evals": ["a", "b", "c", "d", "e"]}), now_ms=T0, github_web_url=GITHUB
    )
    assert view.evaluations_short == "a, b, c and 2 more"


def test_a_list_page_links_to_the_next_page_with_its_filters():
    filters = parse_filters({"repository": "o/r"})
    view = list_view([row()], filters, "CURSOR", now_ms=T0, github_web_url=GITHUB)
    assert view.next_url == "/ui/?repository=o%2Fr&cursor=CURSOR"
    assert view.first_url is None
    deeper = parse_filters({"repository": "o/r", "cursor": "CURSOR"})
    last = list_view([row()], deeper, None, now_ms=T0, github_web_url=GITHUB)
    assert (last.next_url, last.first_url) == (None, "/ui/?repository=o%2Fr")


@pytest.mark.parametrize(
    ("api", "web"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("https://ghe.example.com/api/v3/", "https://ghe.example.com"),
        ("https://api.acme.ghe.com", "https://acme.ghe.com"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
    ],
)
def test_github_s_web_address_is_derived_from_its_api_s(api, web):
    assert github_web_url(api) == web
    assert ServerSettings(github_api_url=api).github_web_url == web


def test_the_github_web_address_setting_wins():
    settings = ServerSettings(github_api_url="https://x/api/v3", github_web="https://web.x")
    assert settings.github_web_url == "https://web.x"
