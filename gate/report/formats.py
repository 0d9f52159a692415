"""The gate's outcome as machine-readable documents: JSON, and JUnit XML for CI test views."""

from __future__ import annotations

import functools
import json
import math
import re
from typing import Any

from gate.core.decision import Decision
from gate.core.model import DIFFERENT_VERSION, Provenance, ThresholdKind
from gate.core.outcome import Check, EvalOutcome, GateOutcome, Status
from gate.core.trend import Trend
from gate.report.markdown import public_url

JSON_SCHEMA_VERSION = 1
JUNIT_SUITES_NAME = "eval-gate"


def _finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity: such a value is written as null (it never passed anyway)."""
    if value is None or not math.isfinite(value):
        return None
    return value


def _check_json(check: Check) -> dict[str, Any]:
    return {
        "eval": check.eval_id,
        "eval_label": check.eval_label,
        "split": check.split,
        "class": check.class_name,
        "object_size": check.object_size,
        "metric": check.metric,
        "kind": check.kind.value,
        "threshold": _finite(check.threshold),
        "limit": _finite(check.limit),
        "actual": _finite(check.actual),
        "baseline": _finite(check.baseline),
        "delta": _finite(check.delta),
        "status": check.status.value,
        "severity": check.severity.value,
        "message": check.message,
        "rule": check.rule,
        "rule_index": check.rule_index,
        "support": check.support,
        "interval": _interval_json(check),
    }


def _interval_json(check: Check) -> dict[str, Any] | None:
    found = check.interval
    if found is None:
        return None
    return {
        "confidence": found.confidence,
        "difference": _finite(found.point),
        "low": _finite(found.low),
        "high": _finite(found.high),
        "paired_images": found.images,
        "resamples": found.resamples,
        "judgement": found.judgement,
    }


def _delta_note(ev: EvalOutcome, check: Check) -> dict[str, Any]:
    """Next to a delta against a baseline measured on another dataset version, the warning."""
    if check.delta is None or ev.provenance is None or not ev.provenance.different_version:
        return {}
    return {"delta_note": DIFFERENT_VERSION}


def _eval_json(ev: EvalOutcome) -> dict[str, Any]:
    return {
        "id": ev.eval_id,
        "label": ev.label,
        "task_type": ev.task_type.value,
        "baseline_id": ev.baseline_id,
        "url": public_url(ev.url),
        "verdict": ev.verdict.value,
        **_provenance_json(ev),
        "trend": _trend_json(ev.trend),
    }


def _trend_json(trend: Trend | None) -> dict[str, Any] | None:
    """The headline metric on test over the candidate's dataset version (null: no trend)."""
    if trend is None:
        return None
    return {
        "metric": trend.metric,
        "split": "test",
        "dataset_version": trend.version_id,
        "points": [
            {
                "eval": p.eval_id,
                "model": p.model_id,
                "created_at": p.created_at,
                "value": p.value,
                "role": p.role.value,
            }
            for p in trend.points
        ],
        "left_out": list(trend.left_out),
    }


def _provenance_json(ev: EvalOutcome) -> dict[str, Any]:
    """The candidate (id, model, dataset version, created) and the baseline (id, how it was
    chosen, whether on the same dataset version; null when unknown)."""
    p = ev.provenance or Provenance(baseline_id=ev.baseline_id)
    return {
        "candidate": {
            "id": ev.eval_id,
            "model": p.model_id,
            "dataset_version": p.version_id,
            "created_at": p.created_at,
        },
        "baseline": None
        if ev.baseline_id is None
        else {
            "id": ev.baseline_id,
            "chosen": p.baseline_chosen,
            "same_dataset_version": p.baseline_same_version,
            "warning": DIFFERENT_VERSION if p.different_version else None,
        },
    }


def _decision_json(decision: Decision) -> dict[str, Any]:
    """What the verdict means under fail-on, as every other output says it."""
    return {
        "fail_on": decision.fail_on.value,
        "passed": decision.passed,
        "exit_code": int(decision.exit_code),
        "commit_status": decision.status.value,
        "check_run": decision.conclusion.value,
    }


def json_document(outcome: GateOutcome, decision: Decision | None = None) -> dict[str, Any]:
    """The outcome as the `--json` document (schema version 1), as a dict ready to serialise;
    with `decision` (the verdict under the run's fail-on), its `decision` object too."""
    checks = list(outcome.checks)
    counts = {"total": len(checks)} | {s.value: 0 for s in Status}
    for check in checks:
        counts[check.status.value] += 1
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "verdict": outcome.verdict.value,
        **({"decision": _decision_json(decision)} if decision is not None else {}),
        "counts": {k: counts[k] for k in ("total", "pass", "fail", "warn", "skip", "error")},
        "evals": [_eval_json(ev) for ev in outcome.evals],
        "checks": [_check_json(c) | _delta_note(ev, c) for ev in outcome.evals for c in ev.checks],
    }


def to_json(outcome: GateOutcome, decision: Decision | None = None) -> str:
    """The outcome as a JSON document (schema version 1), ending with a newline."""
    document = json_document(outcome, decision)
    checks = document.pop("checks")
    # One check per line: readable, diffable, and without `indent`, whose pure-Python encoder
    # is about 3x slower on a 2,000-class report.
    head = json.dumps(document, allow_nan=False)  # a JSON object: ends with "}"
    rows = ",\n".join(json.dumps(c, allow_nan=False) for c in checks)
    return head[:-1] + ', "checks": [' + (f"\n{rows}\n" if rows else "") + "]}\n"


# Characters XML 1.0 cannot hold at all, even escaped (and lone surrogates, which UTF-8 cannot).
_XML_ILLEGAL = "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"


@functools.cache
def _xml_illegal() -> re.Pattern[str]:
    return re.compile(_XML_ILLEGAL)  # compiled on first use: only --junit pays for it


def _xml(text: str) -> str:
    return _xml_illegal().sub("", text)


def _num(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"


def _case_name(check: Check) -> str:
    name = f"{check.metric}[{check.split}]"
    if check.class_name is not None:
        name += f"[{check.class_name}]"
    if check.object_size is not None:
        name += f"[{check.object_size}]"
    threshold = f"{check.threshold:g}" + ("%" if check.kind is ThresholdKind.MAX_DROP_PCT else "")
    return f"{name} {check.kind.value} {threshold}"


def _details(check: Check) -> str:
    lines = [
        check.message,
        f"actual: {_num(check.actual)}",
        f"limit: {_num(check.limit)}",
    ]
    if check.baseline is not None:
        lines.append(f"baseline: {_num(check.baseline)}")
    if check.support is not None:
        lines.append(f"support: {check.support}")
    lines.append(f"rule: {check.rule}")
    return "\n".join(lines)


def to_junit(outcome: GateOutcome) -> str:
    """The outcome as JUnit XML: a test suite per evaluation, a test case per check.

    A failed check is a `<failure>`, malformed data an `<error>`, missing data `<skipped>`; a
    warning passes, with the warning in `<system-out>`.
    """
    import xml.etree.ElementTree as ET  # noqa: PLC0415 - deferred: only this output needs it

    def counts(checks: tuple[Check, ...] | list[Check]) -> dict[str, str]:
        return {
            "tests": str(len(checks)),
            "failures": str(sum(1 for c in checks if c.status is Status.FAIL)),
            "errors": str(sum(1 for c in checks if c.status is Status.ERROR)),
        }

    def skipped(checks: tuple[Check, ...]) -> dict[str, str]:
        return {"skipped": str(sum(1 for c in checks if c.status is Status.SKIP))}

    # The widely used JUnit schema (Jenkins xunit's junit-10.xsd) allows `skipped` on a
    # <testsuite> but not on <testsuites>: the root carries tests, failures and errors only.
    root = ET.Element("testsuites", {"name": JUNIT_SUITES_NAME, **counts(list(outcome.checks))})
    for ev in outcome.evals:
        label = _xml(ev.label)
        suite = ET.SubElement(
            root, "testsuite", {"name": label, **counts(ev.checks), **skipped(ev.checks)}
        )
        for check in ev.checks:
            case = ET.SubElement(
                suite,
                "testcase",
                {"classname": f"{JUNIT_SUITES_NAME}.{label}", "name": _xml(_case_name(check))},
            )
            message = _xml(check.message)
            if check.status is Status.FAIL:
                failure = ET.SubElement(case, "failure", {"message": message, "type": "threshold"})
                failure.text = _xml(_details(check))
            elif check.status is Status.ERROR:
                error = ET.SubElement(case, "error", {"message": message, "type": "malformed-data"})
                error.text = _xml(_details(check))
            elif check.status is Status.SKIP:
                ET.SubElement(case, "skipped", {"message": message})
            elif check.status is Status.WARN:
                ET.SubElement(case, "system-out").text = f"WARNING: {message}"
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
