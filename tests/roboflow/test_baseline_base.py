"""`baseline: base`: the candidate named N against the eval the base branch's config names N
(matching, by id or resolved by model or version), and refused where there is no base branch."""

from __future__ import annotations

import pytest

from gate.cli.main import WORDS as CLI_WORDS
from gate.config.loader import load_config
from gate.core.errors import BaseNotAvailable, ConfigError
from gate.core.model import BASE_CHOSEN, EvalBy, EvalSpec
from gate.core.outcome import GateOutcome
from gate.engine import BaseEvals, GateRequest, plan_targets, run_gate
from gate.fetch import FetchOptions
from gate.roboflow.client import RoboflowClient
from tests.roboflow_standin import RoboflowStandIn

KEY = "rf_baseline_base_key_0123456789"
RULES = "rules:\n  - metric: map50\n    max_drop: 0.5\n    if_missing: warn\n"


def day(n: int) -> str:
    return f"2026-01-{n:02d}T00:00:00Z"


@pytest.fixture
def standin() -> RoboflowStandIn:
    fake = RoboflowStandIn(api_key=KEY, workspace="ws")
    fake.add_eval("cand", model_id="m2", version_id="v2", created_at=day(10))
    fake.add_eval("shipped", model_id="m1", version_id="v2", created_at=day(5))
    return fake


def base_of(text: str) -> BaseEvals:
    return BaseEvals(load_config(f"version: 1\nevals:\n{text}{RULES}", "<base>:x.yml").evals)


async def gate(server, session, item: str, base: BaseEvals | None) -> GateOutcome:
    config = load_config(f"version: 1\nevals:\n{item}{RULES}")
    client = RoboflowClient(
        session, api_key=KEY, workspace="ws", api_url=str(server.make_url("")).rstrip("/")
    )
    return await run_gate(
        GateRequest(config=config, workspace="ws", base=base),
        client,
        FetchOptions(wait=1, poll_interval=0.05),
    )


def test_base_evals_match_by_name_else_by_id_model_or_version():
    base = base_of(
        "  - {id: e1, name: detector}\n  - {model: m7}\n  - {version: v3}\n  - {id: e9}\n"
    )
    assert base.find("detector")[0] == EvalSpec("e1", "detector")
    found, _ = base.find("m7")
    assert found is not None and (found.by, found.id) == (EvalBy.MODEL, "m7")
    assert base.find("v3")[0] is not None
    assert base.find("e9")[0] is not None
    assert base.find("e1") == (None, "no eval named e1 in the base branch's config")
    none = BaseEvals(None, "push is not a pull request, so there is no base branch")
    assert none.find("detector") == (
        None,
        "no baseline for detector: push is not a pull request, so there is no base branch",
    )


def test_baseline_base_outside_the_action_is_a_located_config_error():
    config = load_config(
        "version: 1\nevals:\n  - id: cand\n    baseline: base\n" + RULES, "eval-gate.yml"
    )
    with pytest.raises(BaseNotAvailable, match="needs the base branch's config") as e:
        plan_targets(GateRequest(config=config))
    assert isinstance(e.value, ConfigError)
    assert str(e.value).startswith("eval-gate.yml:3:")
    # The engine names no face; the command line says it in its words.
    cli = e.value.worded(CLI_WORDS)
    assert str(cli).startswith("eval-gate.yml:3:")
    assert "only works in the GitHub Action on pull requests" in str(cli)
    # The --baseline flag (the CLI's; the service's and the Action's baseline) too.
    bare = load_config("version: 1\n" + RULES)
    with pytest.raises(BaseNotAvailable) as e:
        plan_targets(GateRequest(config=bare, eval_ids=("cand",), baseline="base"))
    assert e.value.places == (("baseline", None, None),)
    assert str(e.value.worded(CLI_WORDS)).startswith("baseline: baseline: base only works")
    # The Action always passes what it knows of the base, even nothing.
    assert plan_targets(GateRequest(config=config, base=BaseEvals()))


async def test_a_base_eval_by_id_is_the_baseline(standin, server, session):
    item = "  - {id: cand, name: detector, baseline: base}\n"
    outcome = await gate(server, session, item, base_of("  - {id: shipped, name: detector}\n"))
    ev = outcome.evals[0]
    assert ev.baseline_id == "shipped"
    assert ev.provenance is not None and ev.provenance.baseline_chosen == BASE_CHOSEN


async def test_a_base_eval_by_model_is_its_newest_done_eval_other_than_the_candidate(
    standin, server, session
):
    standin.add_eval("older", model_id="m1", version_id="v2", created_at=day(2))
    standin.add_eval("failed", model_id="m1", version_id="v2", created_at=day(3), status="failed")
    # Same model in both configs: the candidate itself is never its own baseline.
    standin.add_eval("newest", model_id="m2", version_id="v2", created_at=day(11), status="running")
    item = "  - {model: m1, name: detector, baseline: base}\n"
    outcome = await gate(server, session, item, base_of("  - {model: m1, name: detector}\n"))
    assert outcome.evals[0].eval_id == "shipped"  # the candidate: m1's newest
    assert outcome.evals[0].baseline_id == "older"
    # A different model in the base: its newest done eval, measured on the same version.
    item = "  - {model: m2, baseline: base, name: detector}\n"
    standin.evals.pop("newest")
    outcome = await gate(server, session, item, base_of("  - {model: m1, name: detector}\n"))
    ev = outcome.evals[0]
    assert (ev.eval_id, ev.baseline_id) == ("cand", "shipped")
    assert ev.provenance is not None and ev.provenance.baseline_same_version is True


async def test_no_done_eval_of_the_base_model_leaves_no_baseline(standin, server, session):
    item = "  - {id: cand, name: detector, baseline: base}\n"
    outcome = await gate(server, session, item, base_of("  - {model: m9, name: detector}\n"))
    ev = outcome.evals[0]
    assert ev.baseline_id is None
    assert [c.status.value for c in ev.checks] == ["warn"]
    assert ev.checks[0].message == (
        "no done evaluation of model m9 (the base branch's config names it detector)"
    )


async def test_the_same_eval_in_the_base_is_no_baseline(standin, server, session):
    item = "  - {id: cand, name: detector, baseline: base}\n"
    outcome = await gate(server, session, item, base_of("  - {id: cand, name: detector}\n"))
    ev = outcome.evals[0]
    assert ev.baseline_id is None
    assert "the base branch's config names detector the same eval (cand)" in ev.checks[0].message
