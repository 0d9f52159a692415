"""How two configs' rules differ: which rules one adds, removes or changes against the other.

Pure: two `GateConfig`s in, a `RuleChanges` out. A rule is compared by what it says, never by
where it is written (`Rule.location` takes no part in equality), so moving a rule or
reformatting the file changes nothing. Rules the two configs share word for word are paired
first; of the rest, a rule of `head` that checks the same metric over the same scope (splits,
classes, object size, evals) as a rule of `base` is a change of that rule (its thresholds,
severity or `if_missing`); the others are added (only in `head`) or removed (only in `base`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gate.core.model import GateConfig, Rule

__all__ = ["RuleChange", "RuleChanges", "rule_changes"]


@dataclass(frozen=True, slots=True)
class RuleChange:
    """One rule `head` changes: `before` is `base`'s, `after` is `head`'s (None: removed or
    added)."""

    before: Rule | None
    after: Rule | None

    @property
    def kind(self) -> str:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed"


@dataclass(frozen=True, slots=True)
class RuleChanges:
    """Every rule `head` adds, removes or changes against `base`, in `head`'s order (removed
    rules last, in `base`'s order)."""

    changes: tuple[RuleChange, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def of_kind(self, kind: str) -> tuple[RuleChange, ...]:
        return tuple(c for c in self.changes if c.kind == kind)


def _scope(rule: Rule) -> tuple[object, ...]:
    return (rule.metric, rule.splits, rule.classes, rule.object_size, rule.evals)


def _take(pool: list[Rule | None], wanted: object, key: Callable[[Rule], object]) -> Rule | None:
    """The first rule of `pool` whose key (`key(rule)`) is `wanted`, removed from the pool."""
    for index, rule in enumerate(pool):
        if rule is not None and key(rule) == wanted:
            pool[index] = None
            return rule
    return None


def rule_changes(
    base: GateConfig | Sequence[Rule], head: GateConfig | Sequence[Rule]
) -> RuleChanges:
    """The rules `head` adds, removes or changes against `base` (empty: the same rules)."""
    base_rules = base.rules if isinstance(base, GateConfig) else tuple(base)
    head_rules = head.rules if isinstance(head, GateConfig) else tuple(head)
    pool: list[Rule | None] = list(base_rules)
    unmatched: list[Rule] = []
    for rule in head_rules:  # word for word first
        if _take(pool, rule, lambda r: r) is None:
            unmatched.append(rule)
    changes: list[RuleChange] = []
    for rule in unmatched:
        before = _take(pool, _scope(rule), _scope)
        changes.append(RuleChange(before=before, after=rule))
    changes.extend(RuleChange(before=rule, after=None) for rule in pool if rule is not None)
    return RuleChanges(tuple(changes))
