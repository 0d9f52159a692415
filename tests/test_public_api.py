"""The package's public API: every name in `gate.__all__` is importable from `gate`, is the
object its owning module defines, and `import gate` alone imports none of them."""

from __future__ import annotations

import subprocess
import sys

import pytest

import gate


def test_all_lists_exactly_the_exported_names_sorted():
    names = [n for n in gate.__all__ if n != "__version__"]
    assert names == sorted(set(names)) == sorted(gate._EXPORTS)


@pytest.mark.parametrize("name", [n for n in gate.__all__ if n != "__version__"])
def test_every_public_name_resolves_to_its_owner(name):
    value = getattr(gate, name)
    owner = sys.modules[gate._EXPORTS[name]]
    assert getattr(owner, name) is value
    assert name in getattr(owner, "__all__", [name]) or not name.startswith("_")


def test_star_import_gives_exactly_all():
    namespace: dict[str, object] = {}
    exec("from gate import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == sorted(gate.__all__)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = gate.nope


def test_import_gate_alone_loads_nothing_heavy():
    code = (
        "import sys, gate; "
        "heavy = [m for m in ('aiohttp', 'jinja2', 'yaml', 'structlog', 'gate.engine', "
        "'gate.report.render') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_api_runs_a_gate_end_to_end_without_io():
    config = gate.load_config("version: 1\nrules:\n  - 'map50 >= 0.5'\n", "inline.yml")
    results = gate.parse_map_results(
        {"taskType": "object-detection-like", "splits": {"test": {"map50": 0.7}}}, "e1"
    )
    spec = gate.EvalSpec(id="e1")
    outcome = gate.evaluate(config, [gate.EvalInput(spec=spec, results=results)])
    assert outcome.verdict is gate.Verdict.PASS
    assert "Passed" in gate.render_report(outcome)
