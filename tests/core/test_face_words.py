"""The engine's errors carry data and name no face (gate.core.errors): `worded` says them in a
face's words, keeping what they are (class, exit code, eval, data); unworded, they are neutral."""

from __future__ import annotations

import pytest

from gate.core.errors import (
    BaseNotAvailable,
    ConfigError,
    ExitCode,
    FaceWords,
    GateError,
    NoEvalAppeared,
    NothingToGate,
    NoWorkspace,
    ResultsUnavailable,
    StillRunning,
    UsageError,
)

WORDS = FaceWords(wait="WAIT", evals="EVALS", workspace="WORKSPACE", base="BASE")

ERRORS = [
    (
        StillRunning("e1", what="evaluation e1", status="queued", wait=5, waited=5.2),
        (
            "evaluation e1 is still queued after waiting 5 s; raise the wait, or run the gate "
            "again when it is done"
        ),
        "raise WAIT,",
    ),
    (
        NoEvalAppeared("version", "v9", wait=1.5, waited=1.6),
        (
            "no evaluation of version v9 appeared on Roboflow after waiting 1.5 s (the eval list "
            "filtered by version=v9 stayed empty); check the version id, raise the wait, or run "
            "the gate again once Roboflow has evaluated it"
        ),
        "raise WAIT,",
    ),
    (
        NothingToGate(),
        "no evaluation to gate: name the evaluations to gate, or list evals: in the config",
        "gate: EVALS, or",
    ),
    (
        NoWorkspace(),
        "no workspace: name the workspace, or add workspace: to the config",
        "workspace: WORKSPACE, or",
    ),
    (
        BaseNotAvailable([("eval-gate.yml", 3, 5)]),
        (
            "eval-gate.yml:3:5: baseline: base needs the base branch's config, which only the "
            "GitHub Action reads, on pull requests; name an eval id, auto or champion instead"
        ),
        "eval-gate.yml:3:5: BASE",
    ),
]


@pytest.mark.parametrize(("error", "neutral", "worded"), ERRORS, ids=lambda e: type(e).__name__)
def test_an_engine_error_is_neutral_until_a_face_words_it(error, neutral, worded):
    assert str(error) == neutral
    said = error.worded(WORDS)
    assert worded in str(said)
    assert type(said) is type(error)
    assert said.exit_code == error.exit_code
    if not isinstance(error, ConfigError):  # (its problems are its words)
        assert vars(said) == vars(error)


def test_worded_keeps_the_data_a_worker_needs():
    still = StillRunning("e1", what="evaluation e1", status="running", wait=5, waited=5.2)
    said = still.worded(WORDS)
    assert (said.eval_id, said.status, said.wait, said.waited) == ("e1", "running", 5, 5.2)
    assert said.exit_code is ExitCode.UNAVAILABLE and isinstance(said, ResultsUnavailable)
    base = BaseNotAvailable([("eval-gate.yml", 3, 5), ("baseline", None, None)])
    assert base.worded(WORDS).places == base.places
    assert [str(p) for p in base.worded(WORDS).problems] == [
        "eval-gate.yml:3:5: BASE",
        "baseline: BASE",
    ]


def test_an_error_without_a_face_s_setting_is_itself():
    for error in (UsageError("x"), ConfigError([]), ResultsUnavailable("y"), GateError("z")):
        assert error.worded(WORDS) is error
