"""Which checks the report shows first, and how far a check misses its bound.

Failing (and malformed) checks come before warnings, warnings before skipped checks, skipped
before passing ones; then split-level checks before per-class ones, checks with no value
before those with one, and the checks that miss by the most first.
"""

from __future__ import annotations

import math

from gate.core.model import ThresholdKind
from gate.core.outcome import Check, Status

__all__ = ["RANK", "gap", "numeric", "per_class", "worst_first"]

# What fails the gate first, then warnings, then skipped checks.
RANK: dict[Status, int] = {
    Status.FAIL: 0,
    Status.ERROR: 0,
    Status.WARN: 1,
    Status.SKIP: 2,
    Status.PASS: 3,
}


def numeric(check: Check) -> bool:
    """Whether the row's numbers tell the whole story (there is a value and a bound)."""
    return check.actual is not None and check.limit is not None


def gap(check: Check) -> float | None:
    """How far the value is past its bound: the shortfall, the excess, or the excess drop."""
    if check.actual is None or check.limit is None:
        return None
    if check.kind is ThresholdKind.MAX:
        return check.actual - check.limit
    return check.limit - check.actual


def per_class(check: Check) -> bool:
    return check.class_name is not None and check.class_name != "*"


def worst_first(check: Check) -> tuple[int, bool, bool, bool, float, str, str]:
    """Failing before warning before skipped; split-level first; no value first; then the
    checks that miss by the most."""
    missed = gap(check)
    return (
        RANK[check.status],
        per_class(check),
        missed is not None,
        check.status is not Status.ERROR,
        -missed if missed is not None and math.isfinite(missed) else 0.0,
        (check.class_name or "").casefold(),
        check.split,
    )
