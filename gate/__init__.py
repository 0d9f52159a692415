"""eval-gate: a CI quality gate for computer-vision models evaluated on Roboflow.

The public API, importable from `gate` itself. Names are loaded on first use (PEP 562), so
`import gate` stays as cheap as it was: the CLI, the Action and the service each import only
what they need.

    from gate import load_config, evaluate, EvalInput, parse_map_results, render_report
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gate._lazy import lazy_exports

__version__ = "0.1.0"

# public name -> the module that owns it
_EXPORTS: dict[str, str] = {
    # the core: values in, values out
    "ConfigError": "gate.core.errors",
    "ExitCode": "gate.core.errors",
    "GateError": "gate.core.errors",
    "ResultsUnavailable": "gate.core.errors",
    "UsageError": "gate.core.errors",
    "EvalSpec": "gate.core.model",
    "GateConfig": "gate.core.model",
    "IfMissing": "gate.core.model",
    "Rule": "gate.core.model",
    "Severity": "gate.core.model",
    "Threshold": "gate.core.model",
    "EvalResults": "gate.core.results",
    "Malformed": "gate.core.results",
    "Missing": "gate.core.results",
    "parse_map_results": "gate.core.results",
    "EvalInput": "gate.core.evaluate",
    "evaluate": "gate.core.evaluate",
    "Check": "gate.core.outcome",
    "EvalOutcome": "gate.core.outcome",
    "GateOutcome": "gate.core.outcome",
    "Status": "gate.core.outcome",
    "Verdict": "gate.core.outcome",
    # the config
    "config_from_data": "gate.config.loader",
    "load_config": "gate.config.loader",
    "schema_json": "gate.config.schema",
    # the report
    "render_report": "gate.report.render",
    "to_json": "gate.report.formats",
    "to_junit": "gate.report.formats",
    # the use case: plan, gather what it needs, decide (run_gate: the last two)
    "GateInputs": "gate.engine",
    "GateRequest": "gate.engine",
    "decide_gate": "gate.engine",
    "exit_code_for": "gate.engine",
    "gather_inputs": "gate.engine",
    # the decision of a verdict under fail-on
    "Decision": "gate.core.decision",
    "decide": "gate.core.decision",
    "run_gate": "gate.engine",
}

__all__ = [
    "Check",
    "ConfigError",
    "Decision",
    "EvalInput",
    "EvalOutcome",
    "EvalResults",
    "EvalSpec",
    "ExitCode",
    "GateConfig",
    "GateError",
    "GateInputs",
    "GateOutcome",
    "GateRequest",
    "IfMissing",
    "Malformed",
    "Missing",
    "ResultsUnavailable",
    "Rule",
    "Severity",
    "Status",
    "Threshold",
    "UsageError",
    "Verdict",
    "__version__",
    "config_from_data",
    "decide",
    "decide_gate",
    "evaluate",
    "exit_code_for",
    "gather_inputs",
    "load_config",
    "parse_map_results",
    "render_report",
    "run_gate",
    "schema_json",
    "to_json",
    "to_junit",
]

if TYPE_CHECKING:
    from gate.config.loader import config_from_data, load_config
    from gate.config.schema import schema_json
    from gate.core.decision import Decision, decide
    from gate.core.errors import ConfigError, ExitCode, GateError, ResultsUnavailable, UsageError
    from gate.core.evaluate import EvalInput, evaluate
    from gate.core.model import EvalSpec, GateConfig, IfMissing, Rule, Severity, Threshold
    from gate.core.outcome import Check, EvalOutcome, GateOutcome, Status, Verdict
    from gate.core.results import EvalResults, Malformed, Missing, parse_map_results
    from gate.engine import (
        GateInputs,
        GateRequest,
        decide_gate,
        exit_code_for,
        gather_inputs,
        run_gate,
    )
    from gate.report.formats import to_json, to_junit
    from gate.report.render import render_report


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
