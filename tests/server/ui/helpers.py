"""Builders for the history pages' tests: gates written through the store's own API (insert,
claim, a fenced update as a worker would), and a browser-like login."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gate.store import NewGate, Store

TOKEN = "ui-SECRET-token-abcdefghijklmnop"
OTHER_TOKEN = "ui-OTHER-token-qrstuvwxyz012345"
HOUR = 3_600_000
DAY = 24 * HOUR
T0 = 1_800_000_000_000  # 2027-01-15 08:00 UTC
CSRF = re.compile(r'name="csrf" value="([^"]+)"')

REPORT = """\
## ❌ eval-gate: **FAIL**

| check | value | threshold |
|:--|--:|--:|
| map50 | 0.712 | ≥ 0.75 |
| ~~recall~~ | 0.6 | — |

<details><summary>3 passing checks</summary>

- precision 0.81
</details>

<sub>legend</sub>
"""


@dataclass
class Clock:
    """Milliseconds since the epoch, moved by the test (the store's and the pages' clock)."""

    now: int = T0

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> int:
        self.now += ms
        return self.now


async def add_gate(
    store: Store,
    clock: Clock,
    *,
    repository: str | None = "octo-org/detector",
    pull_number: int | None = 7,
    sha: str | None = "6dcb09b5b57875f334f61aebed695e2e4193db5e",
    gate_name: str | None = "detector",
    status: str = "done",
    verdict: str | None = "pass",
    value: float | None = 0.8,
    baseline: float | None = 0.79,
    metric: str = "map50",
    report: str | None = REPORT,
    check_run_id: int | None = 4242,
    evals: list[Any] | None = None,
    result: Any = None,
    waited_ms: int = 5 * 60_000,
    error: str | None = None,
    step_ms: int = HOUR,
) -> str:
    """A gate created now (then the clock moves on by `step_ms`), brought to `status` by a
    worker's fenced update; its id."""
    request = {"evals": evals if evals is not None else ["eval-1"], "config": {"version": 1}}
    async with store.transaction() as tx:
        inserted = await tx.insert_gate(
            NewGate(
                request=request,
                max_wait_ms=DAY,
                repository=repository,
                pull_number=pull_number,
                sha=sha,
                gate_name=gate_name,
            )
        )
        gate = inserted.gate
        now = clock()
        (claimed,) = await tx.claim_gates("test-worker", now, 60_000, 1)
        assert claimed.id == gate.id
        headline = None
        if value is not None:
            headline = {"metric": metric, "value": value, "baseline": baseline}
            headline["delta"] = None if baseline is None else value - baseline
        changes: dict[str, Any] = {"status": status, "next_run_at": None}
        if status not in ("queued", "waiting"):
            changes.update(
                verdict=verdict,
                headline=headline,
                report=report,
                result=result,
                finished_at=gate.created_at + waited_ms,
                error=error,
            )
        changes["check_run_id"] = check_run_id
        assert await tx.update_gate(gate.id, "test-worker", now, release=True, **changes)
    clock.advance(step_ms)
    return gate.id
