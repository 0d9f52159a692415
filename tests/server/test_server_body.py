"""The request body is validated against `GateRequest` in schema/openapi.yaml (shipped in the
package), with only what the schema cannot say checked in code."""

from __future__ import annotations

import subprocess
import sys
from importlib.resources import files

import pytest
import yaml

from gate.core.gate_id import GATE_ID_PATTERN
from gate.core.model import COMMENT_MODES, FAIL_ON
from gate.server.body import GITHUB_FIELDS, REQUEST_FIELDS, parse_call
from gate.server.request import ApiError
from gate.server.request_schema import request_validator
from tests.paths import REPO

CONFIG = "version: 1\nworkspace: ws\nrules: ['map50 >= 0.5']\n"
SECRET = "ghp_not-a-real-token-0123456789"


def gate_request() -> dict:
    document = yaml.safe_load((REPO / "schema" / "openapi.yaml").read_text(encoding="utf-8"))
    return document["components"]["schemas"]


def problems(data: dict) -> list[dict]:
    with pytest.raises(ApiError) as caught:
        parse_call(data, max_wait=20.0)
    assert caught.value.extra is not None
    return caught.value.extra["problems"]


def test_the_package_ships_the_openapi_document_of_the_checkout():
    shipped = files("gate").joinpath("schema", "openapi.yaml")
    assert shipped.read_text(encoding="utf-8") == (REPO / "schema" / "openapi.yaml").read_text(
        encoding="utf-8"
    )
    assert (REPO / "gate" / "schema").is_symlink()
    assert (REPO / "gate" / "templates").is_symlink()


def test_the_schema_and_the_code_name_the_same_fields_and_values():
    schemas = gate_request()
    request, github = schemas["GateRequest"], schemas["GitHubTarget"]
    assert tuple(request["properties"]) == REQUEST_FIELDS
    assert tuple(github["properties"]) == GITHUB_FIELDS
    assert [v for v in request["properties"]["fail_on"]["enum"] if v] == list(FAIL_ON)
    assert [v for v in github["properties"]["comment"]["enum"] if v] == list(COMMENT_MODES)
    assert github["properties"]["gate_id"]["pattern"].removesuffix("$") == (
        GATE_ID_PATTERN.pattern.removesuffix("\\Z")
    )


def test_the_validator_is_made_once():
    assert request_validator() is request_validator()


@pytest.mark.parametrize("field", ["repository", "sha", "gate_id", "target_url"])
def test_a_trailing_newline_does_not_pass_a_pattern(field):
    github = {
        "repository": "o/r",
        "token": "t",
        "pull_number": 1,
        "sha": "a" * 40,
        "gate_id": "g",
        "target_url": "https://ci.example/1",
    }
    github[field] += "\n"
    found = problems({"config": CONFIG, "evals": ["e1"], "github": github})
    assert [p["field"] for p in found] == [f"github.{field}"]


@pytest.mark.parametrize("token", [12345, ["x"], {"a": SECRET}, "   "])
def test_a_bad_token_is_never_echoed(token):
    found = problems(
        {"config": CONFIG, "evals": ["e1"], "github": {"repository": "o/r", "token": token}}
    )
    assert found[0]["field"] == "github.token"
    assert SECRET not in str(found)
    assert "12345" not in str(found)


def test_schema_problems_are_located_by_path_and_say_what_was_expected():
    found = problems(
        {
            "config": CONFIG,
            "evals": ["e1", 7, ""],
            "fail_on": "sometimes",
            "max_chars": 10,
            "github": {"repository": "o/r", "token": "t", "pull_number": 0, "comment": "loud"},
        }
    )
    shown = {p["field"]: p["message"] for p in found if p["field"] != "evals"}
    assert shown == {
        "evals[1]": "evals[1]: must be a string or an object, got a number",
        "evals[2]": "evals[2]: must be 1 to 200 characters long",
        "fail_on": "fail_on: must be one of error, warning, never, got 'sometimes'",
        "max_chars": "max_chars: must be between 1,000 and 1,000,000, got 10",
        "github.pull_number": "github.pull_number: must be between 1 and 2,147,483,647, got 0",
        "github.comment": (
            "github.comment: must be one of update, new, on-failure, off, got 'loud'"
        ),
    }


def test_a_long_list_is_refused_without_checking_every_item():
    found = problems({"config": CONFIG, "evals": ["e"] * 200_000})
    assert found[0] == {
        "field": "evals",
        "message": "evals: lists 200,000 items; at most 100 a request",
    }


def test_evals_entries_may_be_objects_like_the_configs_items():
    call = parse_call(
        {
            "config": CONFIG,
            "evals": ["e1", {"model": "m1", "name": "detector"}, {"version": "v3"}],
            "baseline": "auto",
        },
        max_wait=1.0,
    )
    assert [(t.by.value, t.id, t.name, t.baseline) for t in call.targets] == [
        ("model", "m1", "detector", "auto"),
        ("version", "v3", None, "auto"),
        ("id", "e1", None, "auto"),
    ]
    found = problems({"config": CONFIG, "evals": [{"id": "e", "model": "m"}, {"name": "x"}]})
    assert [p["message"] for p in found] == [
        "evals[0]: must have exactly one of id, model and version",
        "evals[1]: must have exactly one of id, model and version",
    ]
    found = problems({"config": CONFIG, "evals": [{"model": "m", "colour": "red"}]})
    assert [p["field"] for p in found] == ["evals[0].colour"]


def test_the_cross_field_rules_stay_in_code():
    base = {"repository": "o/r", "token": "t"}
    found = problems({"config": CONFIG, "evals": ["e1"], "github": {**base, "commit_status": True}})
    fields = [p["field"] for p in found]
    assert fields == ["github.commit_status", "github.pull_number"]
    call = parse_call(
        {"config": CONFIG, "evals": ["e1"], "github": {**base, "sha": "A" * 40}}, max_wait=1.0
    )
    assert call.github is not None
    assert call.github.commit_status is True
    assert call.github.sha == "a" * 40


def test_the_offline_check_does_not_import_jsonschema(tmp_path):
    (tmp_path / "eval-gate.yml").write_text("version: 1\nrules: ['map50 >= 0.5']\n")
    (tmp_path / "cand.json").write_text("{}")
    code = (
        "import sys; from gate.cli.main import main; main(['check', '-q', '--results', "
        "'cand.json']); print(sorted(m for m in sys.modules if m.startswith('jsonschema')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr
