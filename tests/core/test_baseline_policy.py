"""The baseline policy as tables: `auto`, `champion` and `base` choose over listed `EvalInfo`s
and values already fetched, with no server (gate.core.baseline); and the list values they
choose from (gate.core.eval_info)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gate.core.baseline import (
    HEADLINE,
    BaseEvals,
    Baseline,
    Unscored,
    auto_in_project,
    auto_not_on_version,
    auto_on_version,
    auto_project_query,
    base_chosen,
    champion_rivals,
    champion_version,
    check_auto,
    choose_champion,
    newest_done,
    results_score,
    short_why,
    summary_score,
)
from gate.core.errors import ResultsUnavailable
from gate.core.eval_info import EvalInfo, EvalQuery, newest, once_each
from gate.core.metrics import TaskType
from gate.core.model import BASE_CHOSEN, EvalBy, EvalSpec
from gate.core.results import parse_map_results
from tests.roboflow_standin import detection_results, segmentation_results

UNKNOWN_PROJECT = " (a project not known to be the candidate's: not known to share its test set)"


def day(n: int) -> datetime:
    return datetime(2026, 1, n, tzinfo=UTC)


def ev(
    eval_id: str,
    *,
    model: str | None = "m1",
    version: str | None = "v2",
    created: int | None = 5,
    status: str = "done",
    project: str | None = "proj",
    summary: dict[str, object] | None = None,
) -> EvalInfo:
    return EvalInfo(
        eval_id=eval_id,
        status=status,
        project=project,
        version_id=version,
        model_id=model,
        created_at=day(created) if created is not None else None,
        summary=summary,
    )


CANDIDATE = ev("cand", model="m3", created=10)


# --------------------------------------------------------------------------- auto

AUTO_ON_VERSION = [
    # (what, listed, require_same_version, chosen id or None, same_version)
    (
        "the newest earlier done eval of another model",
        [ev("a", created=5), ev("b", created=7)],
        False,
        "b",
        True,
    ),
    (
        "never the candidate's own model",
        [ev("own", model="m3", created=9), ev("a")],
        False,
        "a",
        True,
    ),
    ("never a later one", [ev("later", created=11), ev("a")], False, "a", True),
    ("never one created at the same time", [ev("same-time", created=10)], False, None, None),
    (
        "never a running one",
        [ev("running", status="running", created=9), ev("a")],
        False,
        "a",
        True,
    ),
    ("never one without a creation time", [ev("undated", created=None)], False, None, None),
    (
        "never one of another version",
        [ev("other", version="v1", created=9), ev("a")],
        False,
        "a",
        True,
    ),
    ("a version left out of the list answer is trusted", [ev("a", version=None)], False, "a", True),
    ("never one of another project", [ev("elsewhere", project="p2", created=9)], False, None, None),
    (
        "one known to be of the project first",
        [ev("unknown", project=None, created=9), ev("a")],
        False,
        "a",
        True,
    ),
    (
        "an unknown project is flagged",
        [ev("unknown", project=None, created=9)],
        False,
        "unknown",
        False,
    ),
    (
        "require_same_version: only a known project",
        [ev("unknown", project=None, created=9)],
        True,
        None,
        None,
    ),
    ("nothing listed", [], False, None, None),
]


@pytest.mark.parametrize(
    ("listed", "require", "chosen", "same"),
    [row[1:] for row in AUTO_ON_VERSION],
    ids=[row[0] for row in AUTO_ON_VERSION],
)
def test_auto_chooses_on_the_candidate_s_dataset_version(listed, require, chosen, same):
    found = auto_on_version(CANDIDATE, listed, require_same_version=require)
    if chosen is None:
        assert found is None
        return
    assert found is not None
    assert (found.eval_id, found.same_version) == (chosen, same)
    expected = "auto: the newest earlier done evaluation of another model on dataset version v2"
    assert found.chosen == expected + ("" if same else UNKNOWN_PROJECT)


AUTO_IN_PROJECT = [
    # (what, candidate's version, listed, chosen id or None, same_version, how it says it)
    (
        "the newest earlier done eval, of any model",
        "v2",
        [ev("own", model="m3", created=9, version="v1"), ev("a", version="v1")],
        "own",
        False,
        " (none of another model on dataset version v2)",
    ),
    (
        "its own version, when only its own model was on it",
        "v2",
        [ev("own", model="m3", created=9)],
        "own",
        True,
        " (none of another model on dataset version v2)",
    ),
    (
        "an unknown version is not known to be the same",
        None,
        [ev("a", version="v1")],
        "a",
        None,
        "",
    ),
    ("a listed eval without a version neither", "v2", [ev("a", version=None)], "a", None, ""),
    (
        "never one of another project",
        "v2",
        [ev("elsewhere", project="p2", created=9)],
        None,
        None,
        "",
    ),
    (
        "a project left out of the list answer is trusted",
        "v2",
        [ev("a", project=None, version="v1")],
        "a",
        False,
        " (none of another model on dataset version v2)",
    ),
    ("never a later one", "v2", [ev("later", created=11, version="v1")], None, None, ""),
    ("never a running one", "v2", [ev("running", status="running", created=9)], None, None, ""),
    ("never the candidate itself", "v2", [ev("cand", created=9)], None, None, ""),
]


@pytest.mark.parametrize(
    ("version", "listed", "chosen", "same", "how"),
    [row[1:] for row in AUTO_IN_PROJECT],
    ids=[row[0] for row in AUTO_IN_PROJECT],
)
def test_auto_falls_back_to_the_candidate_s_project(version, listed, chosen, same, how):
    candidate = ev("cand", model="m3", created=10, version=version)
    found = auto_in_project(candidate, listed)
    if chosen is None:
        assert found == Baseline(
            None, "baseline: auto found no earlier done evaluation in project 'proj'"
        )
        return
    assert (found.eval_id, found.same_version) == (chosen, same)
    assert found.chosen == "auto: the newest earlier done evaluation in project proj" + how


def test_auto_with_require_same_version_says_where_it_looked():
    assert auto_not_on_version(CANDIDATE).note == (
        "baseline: auto found no earlier done evaluation of another model on dataset version "
        "'v2', and require_same_version is set"
    )
    assert auto_not_on_version(ev("cand", version=None)).note == (
        "baseline: auto found no earlier done evaluation of another model on its dataset "
        "version (unknown), and require_same_version is set"
    )


def test_auto_needs_the_candidate_s_creation_time_and_project():
    with pytest.raises(ResultsUnavailable) as caught:
        check_auto(ev("cand", created=None))
    assert str(caught.value) == (
        "baseline: auto for eval cand: Roboflow did not say when it was created; set "
        "baseline: to an eval id instead"
    )
    assert caught.value.eval_id == "cand"
    check_auto(CANDIDATE)  # no error
    assert auto_project_query(CANDIDATE) == EvalQuery(project="proj", status="done")
    with pytest.raises(ResultsUnavailable) as caught:
        auto_project_query(ev("cand", project=None))
    assert str(caught.value) == (
        "baseline: auto for eval cand: Roboflow did not say which project it belongs to; set "
        "baseline: to an eval id instead"
    )


# --------------------------------------------------------------------------- champion

SCORES = [
    # (what, scored rivals, chosen id or None, unknown)
    ("the best by the headline metric", [(ev("a"), 0.5), (ev("b"), 0.7)], "b", False),
    (
        "the newer on a tie",
        [(ev("old", created=3), 0.7), (ev("new", created=4), 0.7)],
        "new",
        False,
    ),
    (
        "an undated one loses a tie",
        [(ev("undated", created=None), 0.7), (ev("a"), 0.7)],
        "a",
        False,
    ),
    ("a rival of another task is no rival", [(ev("seg"), None), (ev("a"), 0.1)], "a", False),
    ("no rival at all", [], None, False),
    ("only rivals of another task", [(ev("seg"), None)], None, False),
    (
        "one unscored rival makes it unknown",
        [(ev("a"), 0.9), (ev("broken"), Unscored("HTTP 503"))],
        None,
        True,
    ),
]


@pytest.mark.parametrize(
    ("scored", "chosen", "unknown"),
    [row[1:] for row in SCORES],
    ids=[row[0] for row in SCORES],
)
def test_champion_is_the_best_rival_or_unknown(scored, chosen, unknown):
    found = choose_champion(CANDIDATE, TaskType.DETECTION, scored)
    assert (found.eval_id, found.unknown) == (chosen, unknown)
    if chosen is not None:
        score = {e.eval_id: s for e, s in scored}[chosen]
        assert found.chosen == (
            "champion: the best done evaluation of another model on dataset version v2 by "
            f"mAP@50:95 on test ({score:.4f})"
        )
        assert found.same_version is True
    elif unknown:
        assert found.note is not None
        assert found.note.startswith("baseline: champion is unknown: eval broken (HTTP 503): ")
    else:
        assert found.note == (
            "baseline: champion found no done evaluation of another model on dataset version 'v2'"
        )


def test_an_unknown_champion_names_three_rivals_and_counts_the_rest():
    scored = [(ev(f"r{n}"), Unscored("HTTP 500")) for n in range(5)]
    found = choose_champion(CANDIDATE, TaskType.SEGMENTATION, scored)
    assert found.note == (
        "baseline: champion is unknown: eval r0 (HTTP 500), eval r1 (HTTP 500), eval r2 "
        "(HTTP 500) and 2 more: no usable mIoU on test, so the best done evaluation of another "
        "model on dataset version 'v2' is not known; re-run the gate when Roboflow answers, or "
        "name the baseline's id"
    )


def test_a_champion_of_a_project_not_known_to_be_the_candidate_s_is_flagged():
    found = choose_champion(CANDIDATE, TaskType.DETECTION, [(ev("a", project=None), 0.5)])
    assert found.same_version is False
    assert (found.chosen or "").endswith(UNKNOWN_PROJECT)


RIVALS = [
    ("done, another model, the same version", ev("a"), True),
    ("the candidate itself", ev("cand", model="m9"), False),
    ("the candidate's model", ev("own", model="m3"), False),
    ("running", ev("running", status="running"), False),
    ("another version", ev("other", version="v1"), False),
    ("a version left out of the list answer", ev("a", version=None), True),
    ("another project", ev("elsewhere", project="p2"), False),
    ("a project left out of the list answer", ev("a", project=None), True),
]


@pytest.mark.parametrize(("info", "rival"), [r[1:] for r in RIVALS], ids=[r[0] for r in RIVALS])
def test_champion_rivals_are_done_evals_of_other_models_on_the_version(info, rival):
    assert champion_rivals(CANDIDATE, [info]) == ([info] if rival else [])


def test_a_candidate_of_an_unknown_model_has_every_done_eval_of_the_version_for_rival():
    assert champion_rivals(ev("cand", model=None), [ev("a", model="m3")]) == [ev("a", model="m3")]


def test_champion_needs_the_candidate_s_dataset_version():
    assert champion_version(CANDIDATE) == "v2"
    with pytest.raises(ResultsUnavailable) as caught:
        champion_version(ev("cand", version=None))
    assert str(caught.value) == (
        "baseline: champion for eval cand: Roboflow did not say which dataset version it was "
        "measured on; set baseline: to an eval id instead"
    )


SUMMARIES = [
    ("segmentation: the summary's mIoU", TaskType.SEGMENTATION, {"mIoU": 0.61}, 0.61),
    ("an integer fraction", TaskType.SEGMENTATION, {"mIoU": 1}, 1.0),
    ("null", TaskType.SEGMENTATION, {"mIoU": None}, None),
    ("NaN", TaskType.SEGMENTATION, {"mIoU": float("nan")}, None),
    ("out of range", TaskType.SEGMENTATION, {"mIoU": 61}, None),
    ("a boolean", TaskType.SEGMENTATION, {"mIoU": True}, None),
    ("a string", TaskType.SEGMENTATION, {"mIoU": "0.61"}, None),
    ("no summary", TaskType.SEGMENTATION, None, None),
    ("detection: summary.mAP is mAP@0.5, not the metric", TaskType.DETECTION, {"mAP": 0.8}, None),
]


@pytest.mark.parametrize(
    ("task", "summary", "score"), [r[1:] for r in SUMMARIES], ids=[r[0] for r in SUMMARIES]
)
def test_a_summary_scores_only_with_a_usable_headline_value(task, summary, score):
    assert summary_score(ev("a", summary=summary), task) == score


def test_map_results_score_by_the_task_s_headline_metric_on_test():
    detection = parse_map_results(detection_results(["car"], map50_95=0.42), "a")
    segmentation = parse_map_results(segmentation_results(["road"], miou=0.7), "b")
    assert results_score(detection, TaskType.DETECTION) == pytest.approx(0.42)
    assert results_score(segmentation, TaskType.SEGMENTATION) == pytest.approx(0.7)
    assert results_score(segmentation, TaskType.DETECTION) is None  # another task: no rival
    no_test = parse_map_results(detection_results(["car"], splits=("valid",)), "c")
    assert isinstance(results_score(no_test, TaskType.DETECTION), Unscored)
    assert set(HEADLINE) == set(TaskType)


def test_short_why_is_the_status_or_the_first_clause_without_the_eval():
    class Http(ResultsUnavailable):
        status = 503

    assert short_why(Http("map-results for eval a: HTTP 503; retry"), "a") == "HTTP 503"
    assert short_why(ResultsUnavailable("evaluation a failed on Roboflow; re-run"), "a") == (
        "failed on Roboflow"
    )
    assert short_why(ResultsUnavailable("map-results for eval a: not JSON; fix"), "a") == (
        "not JSON"
    )


# --------------------------------------------------------------------------- base

SPEC = EvalSpec("cand", name="prod")


def test_base_finds_the_base_s_eval_by_name_or_says_why_not():
    base = BaseEvals((EvalSpec("m7", name="prod", by=EvalBy.MODEL), EvalSpec("e1")))
    assert base.find("prod") == (EvalSpec("m7", name="prod", by=EvalBy.MODEL), "")
    assert base.find("e1") == (EvalSpec("e1"), "")
    assert base.find("other") == (None, "no eval named other in the base branch's config")
    assert BaseEvals(reason="there is no pull request").find("prod") == (
        None,
        "no baseline for prod: there is no pull request",
    )


BASE_CHOICES = [
    # (what, found, eval id it names, the baseline)
    ("an eval id", EvalSpec("e1", name="prod"), "e1", Baseline("e1", chosen=BASE_CHOSEN)),
    (
        "the candidate itself",
        EvalSpec("cand", name="prod"),
        "cand",
        Baseline(
            None,
            "the base branch's config names prod the same eval (cand): nothing to compare with",
        ),
    ),
    (
        "a model with no done evaluation",
        EvalSpec("m7", name="prod", by=EvalBy.MODEL),
        None,
        Baseline(None, "no done evaluation of model m7 (the base branch's config names it prod)"),
    ),
]


@pytest.mark.parametrize(
    ("found", "eval_id", "baseline"),
    [r[1:] for r in BASE_CHOICES],
    ids=[r[0] for r in BASE_CHOICES],
)
def test_base_is_the_eval_the_base_s_config_names(found, eval_id, baseline):
    assert base_chosen(SPEC, found, eval_id) == baseline


NEWEST_DONE = [
    (
        "the newest done eval of the model",
        [ev("old", created=3), ev("new", created=4)],
        "cand",
        "new",
    ),
    ("never a running one", [ev("run", status="running", created=9), ev("a")], "cand", "a"),
    ("never the candidate", [ev("cand", created=9), ev("a")], "cand", "a"),
    ("never another model's", [ev("other", model="m2", created=9), ev("a")], "cand", "a"),
    (
        "never one of another project than the candidate's",
        [ev("p2", project="p2", created=9), ev("a")],
        CANDIDATE,
        "a",
    ),
    (
        "a project unknown when only the id is known",
        [ev("p2", project="p2", created=9)],
        "cand",
        "p2",
    ),
    ("none", [], "cand", None),
]


@pytest.mark.parametrize(
    ("listed", "other_than", "chosen"),
    [r[1:] for r in NEWEST_DONE],
    ids=[r[0] for r in NEWEST_DONE],
)
def test_newest_done_is_what_the_base_s_model_names(listed, other_than, chosen):
    found = newest_done(listed, "model", "m1", other_than=other_than)
    assert (found.eval_id if found else None) == chosen


# --------------------------------------------------------------------------- lists


def test_a_query_lists_one_model_or_version():
    assert EvalQuery.of("model", "m1") == EvalQuery(model="m1")
    assert EvalQuery.of("version", "v1") == EvalQuery(version="v1")
    assert (EvalQuery(model="m1").named, EvalQuery(version="v1").named) == (
        "model m1",
        "version v1",
    )
    assert EvalQuery(project="p").named is None
    assert EvalQuery().limit == 200


def test_a_list_holds_each_eval_once_and_the_newest_is_by_creation_time():
    first, again = ev("a", created=5), ev("a", created=1)
    assert once_each([first, ev("b"), again]) == [first, ev("b")]
    assert newest([ev("a", created=3), ev("b", created=4), ev("c", created=None)]) == ev(
        "b", created=4
    )
    assert newest([ev("a", created=None), ev("b", created=None)]) == ev("a", created=None)
    assert newest([]) is None
